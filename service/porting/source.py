"""What a file holds, read but not yet judged: threads and comments as records.

Format modules build a :class:`Source`; they check the file's shape and give
a :class:`ImportFileError` with a sentence a site owner can act on when the
file is not what it claims to be.  Field clean-up shared by every format
(names, emails, websites, dates) lives here too, so each importer treats
untrusted values the same way.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import IO, Any

from .. import urls
from ..limits import MAX_EMAIL, MAX_WEBSITE
from ..validation import email_address

# Threads, comments and bans one file may hold: about twenty times the
# biggest blog we know of, and a bound on the memory a hostile file can take.
MAX_ROWS = 1_000_000

# Body formats a comment can arrive in; the importer renders each its own way.
MARKDOWN = "markdown"  # Isso, Causerie: rendered like a new comment
HTML = "html"  # Disqus: HTML paragraphs, cleaned with the allowlist
WP_HTML = "wp-html"  # WordPress: HTML fragments with bare newlines as paragraphs


class ImportFileError(ValueError):
    """The file cannot be imported at all; nothing has been written."""


@dataclass
class SourceThread:
    """A page of the source, with the URL the source knew it by."""

    ref: str
    url: str
    title: str | None = None
    key: str | None = None
    locked: bool = False
    created_at: datetime | None = None


@dataclass
class SourceComment:
    """One comment as the source has it; ``ref`` becomes ``Comment.import_ref``."""

    ref: str
    thread_ref: str
    parent_ref: str | None
    author: str
    email: str | None
    website: str | None
    body: str
    body_format: str
    status: str
    created_at: datetime | None
    edited_at: datetime | None = None
    moderated_at: datetime | None = None
    ip_address: str | None = None  # raw, from the source: hashed or dropped
    ip_hash: str | None = None  # already hashed (Causerie's own export)
    html: str | None = None  # Causerie's export carries both text and html
    reasons: list[str] = field(default_factory=list)
    staff: bool = False
    pinned: bool = False
    notify: bool = False
    # When the address confirmed reply notifications.  A source without
    # confirmation (Isso) leaves it unset: its subscriptions count as
    # confirmed when the comment was made, unless notify_pending says the
    # address was asked and has not answered yet (Causerie's own backups).
    notify_confirmed_at: datetime | None = None
    notify_pending: bool = False
    # Whether the author follows the page's new comments (confirmed like
    # notify), and up to when they were told (Causerie's own backups).
    follow: bool = False
    followed_until: datetime | None = None
    edited_by_staff: bool = False
    language: str | None = None  # the author's, for the emails they get


@dataclass
class Source:
    """Everything read from one file."""

    format: str
    threads: dict[str, SourceThread] = field(default_factory=dict)
    comments: list[SourceComment] = field(default_factory=list)
    # Entries the reader left out on purpose (pingbacks, attachments ...).
    skipped: Counter[str] = field(default_factory=Counter)
    # Causerie's own export also carries the site's settings and bans.
    site: dict[str, Any] | None = None
    bans: list[dict[str, Any]] = field(default_factory=list)

    def add_thread(self, key: str, thread: SourceThread) -> None:
        """Keep a thread under ``key``, refusing a file that holds more than :data:`MAX_ROWS` records."""
        self._count()
        self.threads[key] = thread

    def add_comment(self, comment: SourceComment) -> None:
        """Keep a comment, refusing a file that holds more than :data:`MAX_ROWS` records."""
        self._count()
        self.comments.append(comment)

    def add_ban(self, ban: dict[str, Any]) -> None:
        """Keep a ban (Causerie's own backups), counted like threads and comments."""
        self._count()
        self.bans.append(ban)

    def _count(self) -> None:
        if len(self.threads) + len(self.comments) + len(self.bans) >= MAX_ROWS:
            raise ImportFileError(f"The file holds more than {MAX_ROWS:,} threads, comments and bans; "
                                  "split it, or import it in parts.")


Progress = Callable[[int], None]


class CountingReader:
    """Wraps a binary file and reports how many bytes were read, for a progress bar."""

    def __init__(self, raw: IO[bytes], progress: Progress | None):
        self.raw = raw
        self.progress = progress

    def read(self, size: int = -1) -> bytes:
        """Read like the wrapped file, telling the progress callback."""
        chunk = self.raw.read(size)
        if self.progress and chunk:
            self.progress(len(chunk))
        return chunk


def clean_line(value: str | None, limit: int | None, *, fold: bool = True) -> str:
    """A one-line field: control characters out, spaces folded, cut to the column size.

    ``fold=False`` keeps the spacing as it is, for Causerie's own backups,
    whose names passed the API's checks once already and must come back exact.
    """
    if not value:
        return ""
    if not fold:
        return "".join(ch for ch in value if unicodedata.category(ch) not in ("Cc", "Cs"))[:limit]
    value = "".join(" " if unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp") else ch for ch in value)
    return " ".join(value.split())[:limit]


def clean_text(value: str | None) -> str:
    """A multi-line text: line ends and tabs kept, other control characters out
    (what the API accepts from a reader)."""
    if not value:
        return ""
    value = value.replace("\r\n", "\n")
    return "".join(
        ch for ch in value
        if ch in "\t\n\r" or unicodedata.category(ch) not in ("Cc", "Cs")
    )


@lru_cache(maxsize=65536)
def clean_email(value: str | None) -> str | None:
    """A syntactically valid address, or None (sources hold junk and placeholders)."""
    value = clean_line(value, 1000)
    if not value or len(value) > MAX_EMAIL or "@" not in value:
        return None
    return email_address(value)


def clean_website(value: str | None) -> str | None:
    """An http(s) URL only: anything else (``javascript:``, junk) is dropped."""
    value = clean_line(value, 10_000)
    if not value or len(value) > MAX_WEBSITE:
        return None
    if "://" not in value and "." in value and " " not in value:
        value = "http://" + value  # WordPress keeps what people typed: "example.org"
    try:
        urls.origin_of(value)
    except urls.InvalidURL:
        return None
    return value


def naive_utc(value: datetime) -> datetime:
    """Aware datetimes to naive UTC, the way every column stores them."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def parse_iso(value: str | None) -> datetime | None:
    """An ISO 8601 timestamp (``Z`` or an offset, or none meaning UTC), or None."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        return naive_utc(datetime.fromisoformat(value.replace("z", "Z")))
    except ValueError:
        return None


def from_timestamp(value: Any) -> datetime | None:
    """Seconds since the epoch (Isso stores floats), or None."""
    try:
        return datetime.fromtimestamp(float(value), UTC).replace(tzinfo=None)
    except (TypeError, ValueError, OverflowError, OSError):
        return None
