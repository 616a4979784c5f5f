"""Causerie's own JSON export, and reading it back for a restore.

One document per site::

    {"format": "causerie-export", "version": 1,
     "site": {"key", "name", "origins", "mode", ... settings ..., "created_at"},
     "threads": [{"url", "key", "title", "locked", "created_at"}, ...],
     "comments": [{"id", "thread", "parent", "author", "email", "website", "text", "html",
                   "status", "reasons", "created_at", "edited_at", "edited_by_staff",
                   "moderated_at", "ip_hash", "staff", "pinned", "notify", "notify_confirmed_at", "language",
                   "follow", "followed_until"}, ...],
     "bans": [{"email_hash", "ip_hash", "reason", "created_at", "expires_at"}, ...]}

Nothing in it depends on database ids: a thread is named by its URL, a
comment by its ``import_ref`` or, for comments born here, ``causerie:ID``,
and a reply by its parent's name.  The order is fixed (threads by URL,
comments by date then name) and there is no export timestamp, so restoring
into an empty database and exporting again gives the same bytes.

Left out on purpose: edit-token hashes (credentials), moderator links and
accounts (password hashes belong to people, not to a site), the outbox, the
audit log and reports.  Email hashes are recomputed from the emails on
restore; IP hashes are only meaningful under the same secret key.
"""

from __future__ import annotations

import builtins
import json
import re
from collections.abc import Iterator
from datetime import datetime
from typing import IO, NoReturn

import sqlalchemy as sa

from .. import site_settings
from ..choices import Status, values_of
from ..extensions import db
from ..i18n import LANGUAGES
from ..limits import (
    MAX_ID,
    MAX_IMPORT_REF,
    MAX_LANGUAGE_CODE,
    MAX_SITE_KEY,
    MAX_STORED_AUTHOR,
    MAX_THREAD_KEY,
    MAX_TITLE,
    MAX_URL,
)
from ..models import Ban, Comment, Site, Thread
from .source import (
    MARKDOWN,
    ImportFileError,
    Source,
    SourceComment,
    SourceThread,
    clean_email,
    clean_line,
    clean_text,
    clean_website,
    parse_iso,
)

FORMAT = "causerie-export"
VERSION = 1
_HEX = re.compile(r"[0-9a-f]{1,64}")


def _dt(value: datetime | None) -> str | None:
    return value.isoformat() + "Z" if value else None


def comment_ref(comment_id: int, import_ref: str | None) -> str:
    """The stable name of a comment in an export."""
    return import_ref or f"causerie:{comment_id}"


def write(site_key: str, out: IO[str]) -> int:
    """Write the site's export to ``out``; returns the number of comments written."""
    site = db.session.scalar(sa.select(Site).where(Site.key == site_key))
    if site is None:
        raise LookupError(site_key)
    settings = {"key": site.key, **site_settings.export(site), "created_at": _dt(site.created_at)}
    out.write(f'{{"format": "{FORMAT}", "version": {VERSION},\n"site": {_json(settings)},\n"threads": [')

    threads = db.session.execute(
        sa.select(Thread.id, Thread.url, Thread.key, Thread.title, Thread.locked, Thread.created_at)
        .where(Thread.site_id == site.id)).all()
    url_of = {row.id: row.url for row in threads}
    for n, row in enumerate(sorted(threads, key=lambda r: r.url)):
        record = {"url": row.url, "key": row.key, "title": row.title, "locked": row.locked,
                  "created_at": _dt(row.created_at)}
        out.write(("," if n else "") + "\n" + _json(record))
    out.write('],\n"comments": [')

    written = 0
    for comment in _comments_in_order(site.id):
        record = {
            "id": comment_ref(comment.id, comment.import_ref),
            "thread": url_of[comment.thread_id],
            "parent": comment.parent_ref,
            "author": comment.author, "email": comment.email, "website": comment.website,
            "text": comment.text, "html": comment.html, "status": comment.status,
            "reasons": list(comment.reasons or []),
            "created_at": _dt(comment.created_at), "edited_at": _dt(comment.edited_at),
            "edited_by_staff": comment.edited_by_staff, "moderated_at": _dt(comment.moderated_at),
            "ip_hash": comment.ip_hash, "staff": comment.staff, "pinned": comment.pinned,
            "notify": comment.notify, "notify_confirmed_at": _dt(comment.notify_confirmed_at),
            "language": comment.language,
            "follow": comment.follow, "followed_until": _dt(comment.followed_until),
        }
        out.write(("," if written else "") + "\n" + _json(record))
        written += 1
    out.write('],\n"bans": [')

    bans = db.session.execute(
        sa.select(Ban.email_hash, Ban.ip_hash, Ban.reason, Ban.created_at, Ban.expires_at)
        .where(Ban.site_id == site.id)).all()
    records = sorted(({"email_hash": b.email_hash, "ip_hash": b.ip_hash, "reason": b.reason,
                       "created_at": _dt(b.created_at), "expires_at": _dt(b.expires_at)} for b in bans),
                     key=lambda r: (r["created_at"] or "", r["email_hash"] or "", r["ip_hash"] or "", r["reason"]))
    out.write(",".join("\n" + _json(record) for record in records))
    out.write("]}\n")
    return written


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def _comments_in_order(site_id: int) -> Iterator:
    """Comments by date, ties by name, streamed: sorting by name is done here,
    not in SQL, so every database orders them the same way."""
    parent = sa.orm.aliased(Comment)
    query = (
        sa.select(Comment.id, Comment.import_ref, Comment.thread_id, Comment.author, Comment.email,
                  Comment.website, Comment.text, Comment.html, Comment.status, Comment.reasons,
                  Comment.created_at, Comment.edited_at, Comment.edited_by_staff, Comment.moderated_at,
                  Comment.ip_hash, Comment.staff, Comment.pinned, Comment.notify, Comment.notify_confirmed_at,
                  Comment.language, Comment.follow, Comment.followed_until,
                  parent.id.label("parent_id"), parent.import_ref.label("parent_import_ref"))
        .outerjoin(parent, parent.id == Comment.parent_id)
        .where(Comment.site_id == site_id)
        .order_by(Comment.created_at)
        .execution_options(yield_per=2000)
    )
    group: list = []
    for row in db.session.execute(query):
        if group and row.created_at != group[0].created_at:
            yield from _sorted_group(group)
            group = []
        group.append(row)
    yield from _sorted_group(group)


class _Row:
    __slots__ = ("row", "parent_ref")

    def __init__(self, row):
        self.row = row
        self.parent_ref = comment_ref(row.parent_id, row.parent_import_ref) if row.parent_id else None

    def __getattr__(self, name):
        return getattr(self.row, name)


def _sorted_group(rows: list) -> list:
    return sorted((_Row(row) for row in rows), key=lambda r: comment_ref(r.id, r.import_ref))


# ---- reading it back -------------------------------------------------------------------------------


def read(stream: IO[bytes]) -> Source:
    """Read and check a Causerie export; every problem is named with its place."""
    try:
        document = json.load(stream)
    except UnicodeDecodeError as exc:
        raise ImportFileError(f"The file is not valid UTF-8 (at byte {exc.start}).") from exc
    except json.JSONDecodeError as exc:
        if exc.pos >= len(exc.doc.rstrip()):
            raise ImportFileError("The file ends in the middle of the document: it looks truncated.") from exc
        raise ImportFileError(f"The file is not valid JSON: {exc.msg} at line {exc.lineno}, "
                              f"column {exc.colno}.") from exc
    except RecursionError as exc:
        raise ImportFileError("The file is nested too deeply to be a Causerie export.") from exc
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ImportFileError("This is not a Causerie export (it has no \"format\": \"causerie-export\").")
    if document.get("version") != VERSION:
        raise ImportFileError(f"This Causerie export has version {document.get('version')!r}; "
                              f"this Causerie reads version {VERSION}.")
    check = _Checker()
    source = Source("json")
    source.site = check.site(document.get("site"))
    for n, record in enumerate(check.list(document, "threads")):
        thread = check.thread(record, f"threads[{n}]")
        source.add_thread(thread.url, thread)
    for n, record in enumerate(check.list(document, "comments")):
        source.add_comment(check.comment(record, f"comments[{n}]"))
    for n, record in enumerate(check.list(document, "bans", required=False)):
        source.add_ban(check.ban(record, f"bans[{n}]"))
    return source


class _Checker:
    """Type checks with the JSON path of the first problem in the message."""

    def _fail(self, where: str, message: str) -> NoReturn:
        raise ImportFileError(f"The export is not valid at {where}: {message}.")

    def list(self, document: dict, name: str, required=True) -> builtins.list:
        value = document.get(name, None if required else [])
        if not isinstance(value, list):
            self._fail(name, "expected a list")
        return value

    def obj(self, value, where: str) -> dict:
        if not isinstance(value, dict):
            self._fail(where, "expected an object")
        return value

    def string(self, record: dict, name: str, where: str, *, optional=False, limit: int | None = None):
        value = record.get(name)
        if value is None and optional:
            return None
        if not isinstance(value, str):
            self._fail(f"{where}.{name}", "expected a string")
        if "\x00" in value:
            self._fail(f"{where}.{name}", "contains a NUL character")
        if limit is not None and len(value) > limit:
            self._fail(f"{where}.{name}", f"longer than {limit} characters")
        return value

    def boolean(self, record: dict, name: str, where: str) -> bool:
        value = record.get(name, False)
        if not isinstance(value, bool):
            self._fail(f"{where}.{name}", "expected true or false")
        return value

    def integer(self, record: dict, name: str, where: str, *, optional=False):
        value = record.get(name)
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_ID:
            self._fail(f"{where}.{name}", "expected a whole number")
        return value

    def strings(self, record: dict, name: str, where: str) -> builtins.list[str]:
        value = record.get(name) or []
        if not isinstance(value, list) or not all(isinstance(v, str) and "\x00" not in v for v in value):
            self._fail(f"{where}.{name}", "expected a list of strings (without NUL characters)")
        return value

    def date(self, record: dict, name: str, where: str, *, optional=True) -> datetime | None:
        raw = record.get(name)
        if raw is None and optional:
            return None
        value = parse_iso(raw) if isinstance(raw, str) else None
        if value is None:
            self._fail(f"{where}.{name}", "expected an ISO 8601 date")
        return value

    def language(self, record: dict, name: str, where: str) -> str | None:
        value = self.string(record, name, where, optional=True, limit=MAX_LANGUAGE_CODE)
        return value if value in LANGUAGES else None

    def hexhash(self, record: dict, name: str, where: str) -> str | None:
        value = self.string(record, name, where, optional=True)
        if value is not None and not _HEX.fullmatch(value):
            self._fail(f"{where}.{name}", "expected a hexadecimal hash")
        return value

    def site(self, value) -> dict:
        record = self.obj(value, "site")
        raw = {setting.name: self.setting(record, setting) for setting in site_settings.SETTINGS}
        settings = {"key": self.string(record, "key", "site", optional=True, limit=MAX_SITE_KEY),
                    **site_settings.restore(raw),
                    "created_at": self.date(record, "created_at", "site")}
        return {name: value for name, value in settings.items() if value is not None or name in site_settings.BY_NAME}

    def setting(self, record: dict, setting: site_settings.Setting):
        """One site setting of the backup, type-checked (None where it is missing)."""
        if setting.kind == site_settings.LIST:
            return self.strings(record, setting.name, "site")
        if setting.kind == site_settings.NUMBER:
            return self.integer(record, setting.name, "site", optional=True)
        if setting.kind == site_settings.FLAG:
            return self.boolean(record, setting.name, "site")
        if setting.kind == site_settings.TEXT and setting.one_line:
            value = self.string(record, setting.name, "site", optional=True)
            return clean_line(value, setting.max_length) if value is not None else None
        limit = setting.max_length if setting.kind == site_settings.TEXT else None
        return self.string(record, setting.name, "site", optional=True, limit=limit)

    def thread(self, value, where: str) -> SourceThread:
        record = self.obj(value, where)
        url = self.string(record, "url", where, limit=MAX_URL)
        return SourceThread(
            ref=url, url=url,
            key=self.string(record, "key", where, optional=True, limit=MAX_THREAD_KEY),
            title=clean_line(self.string(record, "title", where, optional=True), MAX_TITLE) or None,
            locked=self.boolean(record, "locked", where),
            created_at=self.date(record, "created_at", where),
        )

    def comment(self, value, where: str) -> SourceComment:
        record = self.obj(value, where)
        status = self.string(record, "status", where)
        if status not in values_of(Status):
            self._fail(f"{where}.status", f"expected one of {', '.join(Status)}")
        email = self.string(record, "email", where, optional=True)
        return SourceComment(
            ref=self.string(record, "id", where, limit=MAX_IMPORT_REF),
            thread_ref=self.string(record, "thread", where),
            parent_ref=self.string(record, "parent", where, optional=True),
            author=clean_line(self.string(record, "author", where, optional=True), MAX_STORED_AUTHOR, fold=False),
            email=clean_email(email) if email else None,
            website=clean_website(self.string(record, "website", where, optional=True)),
            body=clean_text(self.string(record, "text", where)),
            html=self.string(record, "html", where),
            body_format=MARKDOWN,
            status=status,
            reasons=[clean_line(r, 200) for r in self.strings(record, "reasons", where)],
            created_at=self.date(record, "created_at", where, optional=False),
            edited_at=self.date(record, "edited_at", where),
            edited_by_staff=self.boolean(record, "edited_by_staff", where),
            moderated_at=self.date(record, "moderated_at", where),
            ip_hash=self.hexhash(record, "ip_hash", where),
            staff=self.boolean(record, "staff", where),
            pinned=self.boolean(record, "pinned", where),
            notify=self.boolean(record, "notify", where),
            # Backups from before confirmation existed have no such key.
            notify_confirmed_at=self.date(record, "notify_confirmed_at", where),
            notify_pending="notify_confirmed_at" in record and record["notify_confirmed_at"] is None,
            language=self.language(record, "language", where),
            follow=self.boolean(record, "follow", where),
            followed_until=self.date(record, "followed_until", where),
        )

    def ban(self, value, where: str) -> dict:
        record = self.obj(value, where)
        return {
            "email_hash": self.hexhash(record, "email_hash", where),
            "ip_hash": self.hexhash(record, "ip_hash", where),
            "reason": clean_line(self.string(record, "reason", where, optional=True), 500),
            "created_at": self.date(record, "created_at", where, optional=False),
            "expires_at": self.date(record, "expires_at", where),
        }
