"""Isso databases (the SQLite file named by ``[general] dbpath``).

Isso keeps ``threads(id, uri, title)``, where ``uri`` is the page's path
(or a page-given ``data-isso-id``), and ``comments(tid, id, parent, created,
modified, mode, remote_addr, text, author, email, website, likes, dislikes,
voters, notification)``, with Markdown text and Unix timestamps.  Modes:
1 -> approved, 2 -> pending, 4 -> deleted (Isso keeps a deleted comment
that has replies, with its text already cleared).  Votes are dropped.

Because Isso knows pages by path, their URLs are built on a base URL:
the site's only origin, unless ``--base-url`` says otherwise.  The file is
opened read-only; a running Isso can keep using it.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote, urljoin

from ..choices import Status
from ..limits import MAX_STORED_AUTHOR, MAX_TITLE
from .source import (
    MARKDOWN,
    ImportFileError,
    Progress,
    Source,
    SourceComment,
    SourceThread,
    clean_email,
    clean_line,
    clean_text,
    clean_website,
    from_timestamp,
)

REF_PREFIX = "isso:"
MODES = {1: Status.APPROVED, 2: Status.PENDING, 4: Status.DELETED}
REQUIRED = {"threads": {"id", "uri"}, "comments": {"tid", "id", "parent", "created", "mode", "text"}}
OPTIONAL = ("modified", "remote_addr", "author", "email", "website", "notification")
TABLES = frozenset({"threads", "comments", "preferences"})
# Reading a real Isso database takes about 16 SQLite steps per comment: this
# budget is six times what a million comments (source.MAX_ROWS) need, and no
# file, however crafted, makes a read run longer than it or than MAX_SECONDS.
MAX_STEPS = 100_000_000
MAX_SECONDS = 300
MAX_VALUE_BYTES = 16 * 1024 * 1024  # one text, name or title; SQLite refuses bigger ones


def read(path: str | Path, base_url: str, progress: Progress | None = None) -> Source:
    """Read an Isso database into a :class:`Source`, pages placed under ``base_url``."""
    connection, columns = _open(path)
    try:
        return _read(connection, columns, base_url.rstrip("/") + "/", progress)
    except sqlite3.DatabaseError as exc:
        raise _refusal(connection, exc) from exc
    finally:
        connection.close()


class _BoundedConnection(sqlite3.Connection):
    """A read that stops once it has taken more steps or time than any real
    Isso database needs (SQLite's progress handler, every thousand steps),
    and refuses values bigger than :data:`MAX_VALUE_BYTES`."""

    EVERY = 1000

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.steps = 0
        self.deadline = time.monotonic() + MAX_SECONDS
        self.spent = False
        self.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)
        self.set_progress_handler(self._step, self.EVERY)

    def _step(self) -> int:
        self.steps += self.EVERY
        self.spent = self.steps > MAX_STEPS or time.monotonic() > self.deadline
        return int(self.spent)  # non-zero interrupts the statement


def _refusal(connection: _BoundedConnection, exc: sqlite3.DatabaseError) -> ImportFileError:
    if connection.spent:
        return ImportFileError(
            f"Reading the Isso database took more than {MAX_STEPS:,} steps or {MAX_SECONDS} seconds, far more "
            "than an Isso database needs; it was refused as hostile or damaged.")
    return ImportFileError(f"The Isso database cannot be read (damaged or truncated?): {exc}.")


def _open(path: str | Path) -> tuple[_BoundedConnection, dict[str, set[str]]]:
    """The file opened read-only and bounded, once checked to hold Isso's tables and
    nothing else; with the columns of its tables."""
    path = Path(path)
    if not path.is_file():
        raise ImportFileError(f"There is no file at {path}.")
    with open(path, "rb") as handle:
        if handle.read(16) != b"SQLite format 3\x00":
            raise ImportFileError("This is not an Isso database: the file is not an SQLite database.")
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, factory=_BoundedConnection)
    except sqlite3.Error as exc:
        raise ImportFileError(f"The Isso database cannot be opened: {exc}.") from exc
    try:
        return connection, _check_schema(connection)
    except sqlite3.DatabaseError as exc:
        connection.close()
        raise _refusal(connection, exc) from exc
    except ImportFileError:
        connection.close()
        raise


def _check_schema(connection: sqlite3.Connection) -> dict[str, set[str]]:
    """Isso's tables with their columns; anything else in the file is refused.

    A view, a virtual table or a computed column runs the file's own SQL when
    it is read: a view named ``comments`` over an endless recursive query
    would never finish, filling the disk with temporary pages meanwhile.
    Indexes and triggers act only on writes, which a read-only import never makes.
    """
    columns = {table: {row[1] for row in connection.execute(f"PRAGMA table_xinfo({table})")} for table in REQUIRED}
    for table, needed in REQUIRED.items():
        if not needed <= columns[table]:
            raise ImportFileError(
                f"This is not an Isso database: the table {table!r} is missing or lacks "
                f"{', '.join(sorted(needed - columns[table]))}."
            )
    for kind, name, table, sql in connection.execute("SELECT type, name, tbl_name, sql FROM sqlite_master"):
        # SQLite's own tables (sqlite_stat1 after an ANALYZE, sqlite_sequence) are plain data too.
        if kind == "table" and (name in TABLES or str(name).startswith("sqlite_")) and str(sql).upper().startswith(
                "CREATE TABLE"):
            continue
        if kind in ("index", "trigger") and table in TABLES:
            continue
        raise ImportFileError(
            f"This Isso database holds a {kind} named {str(name)[:100]!r}, and an Isso database has only "
            f"the tables {', '.join(sorted(TABLES))}: it was refused, since reading it would run the "
            "file's own queries.")
    for table in REQUIRED:
        if any(hidden for *_, hidden in connection.execute(f"PRAGMA table_xinfo({table})")):
            raise ImportFileError(f"This Isso database's table {table!r} has computed columns, which Isso "
                                  "never makes: it was refused, since reading it would run the file's own code.")
    return columns


def _read(connection: sqlite3.Connection, columns: dict[str, set[str]], base_url: str,
          progress: Progress | None) -> Source:
    source = Source("isso")
    title = "title" if "title" in columns["threads"] else "NULL"
    for thread_id, uri, name in connection.execute(f"SELECT id, uri, {title} FROM threads"):  # noqa: S608
        source.add_thread(str(thread_id), SourceThread(
            ref=str(thread_id), url=_page_url(base_url, _str(uri)),
            title=clean_line(_str(name), MAX_TITLE) or None))

    optional = [name if name in columns["comments"] else "NULL" for name in OPTIONAL]
    query = (f"SELECT tid, id, parent, created, mode, text, {', '.join(optional)} "  # noqa: S608
             "FROM comments ORDER BY id")
    for row in connection.execute(query):
        tid, cid, parent, created, mode, text, modified, remote_addr, author, email, website, notification = row
        # SQLite columns take any type: a damaged or hand-made file may hold bytes where text belongs.
        text, remote_addr, author, email, website = map(_str, (text, remote_addr, author, email, website))
        if progress:
            progress(1)
        status = MODES.get(mode)
        address = clean_email(email)
        source.add_comment(SourceComment(
            ref=f"{REF_PREFIX}{cid}",
            thread_ref=str(tid),
            parent_ref=f"{REF_PREFIX}{parent}" if parent not in (None, 0, "0", "") else None,
            author=clean_line(author, MAX_STORED_AUTHOR),
            email=address,
            website=clean_website(website),
            body=clean_text(text),
            body_format=MARKDOWN,
            status=status or Status.PENDING,
            reasons=[] if status else [f"unknown Isso mode {mode!r}"],
            created_at=from_timestamp(created),
            edited_at=from_timestamp(modified) if modified else None,
            ip_address=remote_addr or None,
            notify=bool(notification) and address is not None,
        ))
    return source


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


def count(path: str | Path) -> int:
    """How many comments the database holds, for a progress bar; 0 if unknown
    (a file :func:`read` will refuse, with the reason)."""
    try:
        connection, _columns = _open(path)
    except ImportFileError:
        return 0
    try:
        found: int = connection.execute("SELECT count(*) FROM comments").fetchone()[0]
        return found
    except sqlite3.Error:
        return 0
    finally:
        connection.close()


def _page_url(base_url: str, uri: str) -> str:
    """The page's absolute URL: Isso's ``uri`` is a path, rarely a full URL."""
    uri = uri.strip()
    if uri.lower().startswith(("http://", "https://")):
        return uri
    return urljoin(base_url, quote(uri.lstrip("/"), safe="/:@!$&'()*+,;=-._~%?#"))
