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
from pathlib import Path
from urllib.parse import quote, urljoin

from .source import (MARKDOWN, MAX_AUTHOR, MAX_TITLE, ImportFileError, Progress, Source, SourceComment,
                     SourceThread, clean_email, clean_line, clean_text, clean_website, from_timestamp)

REF_PREFIX = "isso:"
MODES = {1: "approved", 2: "pending", 4: "deleted"}
REQUIRED = {"threads": {"id", "uri"}, "comments": {"tid", "id", "parent", "created", "mode", "text"}}
OPTIONAL = ("modified", "remote_addr", "author", "email", "website", "notification")


def read(path: str | Path, base_url: str, progress: Progress | None = None) -> Source:
    """Read an Isso database into a :class:`Source`, pages placed under ``base_url``."""
    path = Path(path)
    if not path.is_file():
        raise ImportFileError(f"There is no file at {path}.")
    with open(path, "rb") as handle:
        if handle.read(16) != b"SQLite format 3\x00":
            raise ImportFileError("This is not an Isso database: the file is not an SQLite database.")
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise ImportFileError(f"The Isso database cannot be opened: {exc}.") from exc
    try:
        return _read(connection, base_url.rstrip("/") + "/", progress)
    except sqlite3.DatabaseError as exc:
        raise ImportFileError(f"The Isso database cannot be read (damaged or truncated?): {exc}.") from exc
    finally:
        connection.close()


def _columns(connection: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in connection.execute(f"PRAGMA table_info({table})")}


def _read(connection: sqlite3.Connection, base_url: str, progress: Progress | None) -> Source:
    columns = {table: _columns(connection, table) for table in REQUIRED}
    for table, needed in REQUIRED.items():
        if not needed <= columns[table]:
            raise ImportFileError(
                f"This is not an Isso database: the table {table!r} is missing or lacks "
                f"{', '.join(sorted(needed - columns[table]))}."
            )
    source = Source("isso")
    title = "title" if "title" in columns["threads"] else "NULL"
    for thread_id, uri, name in connection.execute(f"SELECT id, uri, {title} FROM threads"):  # noqa: S608
        source.threads[str(thread_id)] = SourceThread(
            ref=str(thread_id), url=_page_url(base_url, _str(uri)),
            title=clean_line(_str(name), MAX_TITLE) or None)

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
        source.comments.append(SourceComment(
            ref=f"{REF_PREFIX}{cid}",
            thread_ref=str(tid),
            parent_ref=f"{REF_PREFIX}{parent}" if parent not in (None, 0, "0", "") else None,
            author=clean_line(author, MAX_AUTHOR),
            email=address,
            website=clean_website(website),
            body=clean_text(text),
            body_format=MARKDOWN,
            status=status or "pending",
            reasons=[] if status else [f"unknown Isso mode {mode!r}"],
            created_at=from_timestamp(created),
            edited_at=from_timestamp(modified) if modified else None,
            ip_address=remote_addr or None,
            notify=bool(notification) and address is not None,
        ))
    return source


def _str(value) -> str:
    return value if isinstance(value, str) else ""


def count(path: str | Path) -> int:
    """How many comments the database holds, for a progress bar; 0 if unknown."""
    try:
        connection = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)
        try:
            return connection.execute("SELECT count(*) FROM comments").fetchone()[0]
        finally:
            connection.close()
    except sqlite3.Error:
        return 0


def _page_url(base_url: str, uri: str) -> str:
    """The page's absolute URL: Isso's ``uri`` is a path, rarely a full URL."""
    uri = uri.strip()
    if uri.lower().startswith(("http://", "https://")):
        return uri
    return urljoin(base_url, quote(uri.lstrip("/"), safe="/:@!$&'()*+,;=-._~%?#"))
