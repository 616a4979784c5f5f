"""Sites and threads: finding them, and the read path.

Reading a thread is the hot path of the whole service.  It needs the site
and the thread's version: one small query (run as a :class:`~service.reads.Read`),
whose answer each process keeps for as long as it hears of every change
(see freshness), so that most reads make no query at all.  The serialized
body is cached per process for that version of the thread, and so are the
counts of listing pages (see cache).  Because every change a reader could see advances
the version in the same transaction (see models), a cache entry can never
outlive the data it was built from, in this process or any other.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

import sqlalchemy as sa

from . import freshness, hashing, mailer, urls
from .cache import VersionCache, app_cache
from .choices import Status
from .errors import APIError, unknown_site
from .extensions import db
from .models import Comment, Site, Thread
from .origins import check_page_origin
from .reads import Read, json_text
from .validation import valid_site_key

# Part of every ETag, so a deploy that changes the response shape cannot be
# answered with a 304 for a body built by the old code.
FORMAT_VERSION = "1"
# Per worker: serialized threads up to this many bytes, counts of this many threads.
BODY_CACHE_BYTES = 16 * 1024 * 1024
COUNT_CACHE_THREADS = 4096
MAX_COUNT_URLS = 100


@dataclass
class ThreadRef:
    """What one query tells about a site and (maybe) its thread."""

    site_id: int
    site_key: str
    origins: list[str]
    url: str | None  # None: asked by key alone, for a page with no thread yet
    key: str | None
    thread_id: int | None
    version: int
    locked: bool = False
    # Whether this service sends email, so the widget offers reply emails.
    mail: bool = False

    @property
    def etag(self) -> str:
        """Strong validator (unquoted) for the thread's public body, which
        also says whether reply emails can be offered."""
        return f"{self.thread_id or 0}-{self.version}-{FORMAT_VERSION}" + ("-m" if self.mail else "")


def normalized_url(url: str) -> str:
    """Normalise a page URL, or the contract's 400."""
    try:
        return urls.normalize(url)
    except urls.InvalidURL as exc:
        raise APIError(400, "invalid", str(exc), {"url": str(exc)}) from exc


def site_key(value: str | None) -> str:
    """A site key from a query string, checked before it reaches the database."""
    if not value:
        raise APIError(400, "invalid", "The site key is required.", {"site": "This field is required."})
    if not valid_site_key(value):
        raise unknown_site()
    return value


def _lookup_statement(by_key: bool) -> Read:
    # This is every thread read: built once from the tables, run as a Read.
    site, thread = Site.__table__.c, Thread.__table__.c
    return Read(
        sa.select(site.id, site.key, json_text(site.origins), thread.id, thread.version, thread.url, thread.key)
        .select_from(Site.__table__)
        .outerjoin(Thread.__table__, sa.and_(thread.site_id == site.id, _thread_match(thread, by_key)))
        .where(site.key == sa.bindparam("site"))
    )


def _thread_match(thread: sa.ColumnCollection[str, Any], by_key: bool) -> sa.ColumnElement[bool]:
    # A page naming its thread finds it by key, else by its URL: a thread
    # keeps the key it was created with, and a page whose URL already has a
    # thread (with another key, or none) keeps reading and writing it.
    by_url = thread.url == sa.bindparam("url", type_=thread.url.type)
    return sa.or_(thread.key == sa.bindparam("key", type_=thread.key.type), by_url) if by_key else by_url


_BY_URL = _lookup_statement(by_key=False)
_BY_KEY = _lookup_statement(by_key=True)


def lookup(site: str | None, url: str | None, key: str | None = None) -> ThreadRef:
    """Find the site and its thread (by page key or normalised URL) in one query."""
    site = site_key(site)
    if not url and not key:
        raise APIError(400, "invalid", "The page URL is required.", {"url": "This field is required."})
    if key is not None and (len(key) > 200 or any(ord(c) < 32 for c in key)):
        raise APIError(400, "invalid", "The thread key is not valid.", {"thread": "Not a valid thread key."})
    normalized = normalized_url(url) if url else None
    statement, params = (_BY_KEY, {"site": site, "key": key, "url": normalized}) if key \
        else (_BY_URL, {"site": site, "url": normalized})
    rows = freshness.rows(statement, (statement, site, key, normalized), 3, 4, **params)
    if not rows:
        raise unknown_site()
    # Two rows: the key belongs to another page's thread than this URL's;
    # the key's thread is the one a page that moved still means.
    row = next((row for row in rows if row[-1] == key), rows[0]) if len(rows) > 1 else rows[0]
    site_id, key_, origins, thread_id, version, stored_url, _ = row
    origins = origins or []
    if normalized:
        check_page_origin(origins, normalized)
    return ThreadRef(site_id, key_, origins, stored_url or normalized, key, thread_id, version or 0,
                     mail=mailer.configured())


def _write_statement(by_key: bool) -> sa.Select[Any]:
    # All of the site's columns (the rules read its settings) beside what the
    # write path needs of the thread, as one plain row: no ORM instances.
    thread = Thread.__table__.c
    return (
        sa.select(Site.__table__, thread.id.label("thread_id"), thread.version.label("thread_version"),
                  thread.url.label("thread_url"), thread.locked.label("thread_locked"),
                  thread.title.label("thread_title"))
        .outerjoin(Thread.__table__, sa.and_(thread.site_id == Site.__table__.c.id, _thread_match(thread, by_key)))
        .where(Site.__table__.c.key == sa.bindparam("site"))
    )


@lru_cache(maxsize=8)
def _write_read(by_key: bool, extra: tuple[sa.ColumnElement[Any], ...]) -> Read:
    return Read(_write_statement(by_key).add_columns(*extra))


def load_for_write(site: str | None, url: str | None, key: str | None = None, *,
                   extra: tuple[sa.ColumnElement[Any], ...] = (), **params: Any) -> tuple[Any, ThreadRef]:
    """Like :func:`lookup`, with every column of the site (a read-only row
    with the attributes of a :class:`Site`), in one query run as a
    :class:`~service.reads.Read` (autocommit, outside the session's
    transaction: the write that follows starts its own).

    ``extra``: more columns for that query (subqueries about the site, whose
    ``site.id`` they name), with their ``params``; the caller asks its own
    questions in the same round trip.  Built once per kind and columns.

    A key held by another page's thread while this URL has its own thread is
    a conflict (409): nothing is written, and both threads stay as they are.
    """
    site = site_key(site)
    if not url:
        raise APIError(400, "invalid", "The page URL is required.", {"url": "This field is required."})
    normalized = normalized_url(url)
    rows = _write_read(bool(key), extra).named_rows(**params, site=site, key=key, url=normalized)
    if not rows:
        raise unknown_site()
    row = rows[0]
    origins = row.origins or []
    check_page_origin(origins, normalized)
    if len(rows) > 1:
        raise _conflict()
    ref = ThreadRef(row.id, row.key, origins, row.thread_url or normalized, key, row.thread_id,
                    row.thread_version or 0, bool(row.thread_locked))
    return row, ref


def _conflict() -> APIError:
    return APIError(409, "thread_conflict", "This thread key belongs to another page than this one; "
                    "nothing was changed.", {"thread": "This key already names another page's thread."})


def _bodies() -> VersionCache:
    return app_cache("causerie.thread_cache", BODY_CACHE_BYTES, len)


def iso(value: datetime | None) -> str | None:
    """Naive UTC datetime as ISO 8601 with a Z."""
    return value.isoformat(timespec="seconds") + "Z" if value else None


def public_comment(comment: Comment, site_key: str) -> dict[str, Any]:
    """The public shape of a comment of the site ``site_key``: never an email or an IP hash."""
    if comment.status == Status.DELETED:
        return {
            "id": comment.id, "parent_id": comment.parent_id, "author": "", "website": None,
            "avatar": "", "html": "", "created_at": iso(comment.created_at), "edited_at": None,
            "staff": False, "pinned": False, "deleted": True,
        }
    return {
        "id": comment.id,
        "parent_id": comment.parent_id,
        "author": comment.author,
        "website": comment.website,
        "avatar": hashing.avatar(site_key, comment.commenter_hash, comment.email_hash, comment.author),
        "html": comment.html,
        "created_at": iso(comment.created_at),
        "edited_at": iso(comment.edited_at),
        "staff": comment.staff,
        "pinned": comment.pinned,
        "deleted": False,
    }


def display_order(comments: Sequence[Any]) -> list[Any]:
    """Approved comments as a depth-first tree walk; deleted ones only as
    placeholders that still have visible replies.  Pinned roots come first."""
    children: dict[int | None, list[Comment]] = {}
    ids = {c.id for c in comments}
    for comment in comments:
        parent = comment.parent_id if comment.parent_id in ids else None
        children.setdefault(parent, []).append(comment)
    for siblings in children.values():
        siblings.sort(key=lambda c: (c.created_at, c.id))
    children.get(None, []).sort(key=lambda c: not c.pinned)  # stable: keeps date order

    # Which comments show: approved ones, and placeholders with something
    # visible below them.  Computed leaves-first without recursion, so a
    # reply chain of any depth cannot exhaust the stack.
    visible: dict[int, bool] = {}
    walk = [(c, False) for c in children.get(None, [])]
    while walk:
        comment, expanded = walk.pop()
        kids = children.get(comment.id, [])
        if expanded:
            visible[comment.id] = comment.status == Status.APPROVED or any(visible[k.id] for k in kids)
        else:
            walk.append((comment, True))
            walk.extend((kid, False) for kid in kids)

    ordered: list[Comment] = []
    stack = list(reversed(children.get(None, [])))
    while stack:
        comment = stack.pop()
        if not visible[comment.id]:
            continue
        ordered.append(comment)
        stack.extend(reversed(children.get(comment.id, [])))
    return ordered


def thread_body(ref: ThreadRef) -> bytes:
    """The serialized public thread, from the cache when its version matches."""
    if ref.thread_id is not None:
        cached = _bodies().get(ref.thread_id, (ref.version, ref.mail))
        if cached is not None:
            found: bytes = cached
            return found
    body = json.dumps(_build(ref), ensure_ascii=False, separators=(",", ":")).encode()
    if ref.thread_id is not None:
        _bodies().put(ref.thread_id, (ref.version, ref.mail), body)
    return body


# The columns public_comment and display_order read, as plain rows: a
# popular thread's thousands of comments need no ORM instances, which cost
# time and leave a worker's memory fragmented long after the body is built.
_PUBLIC_COMMENTS = sa.select(
    Comment.id, Comment.parent_id, Comment.status, Comment.author, Comment.website, Comment.email_hash,
    Comment.commenter_hash, Comment.html, Comment.created_at, Comment.edited_at, Comment.staff, Comment.pinned,
).where(Comment.thread_id == sa.bindparam("thread"), Comment.status.in_((Status.APPROVED, Status.DELETED)))


def _build(ref: ThreadRef) -> dict[str, Any]:
    if ref.thread_id is None:
        return {"thread": {"id": None, "key": ref.key, "url": ref.url, "title": None, "locked": False, "count": 0,
                           "notify": ref.mail},
                "comments": []}
    thread = db.session.get_one(Thread, ref.thread_id)
    rows = db.session.execute(_PUBLIC_COMMENTS, {"thread": ref.thread_id}).all()
    ordered = display_order(rows)
    return {
        "thread": {
            "id": thread.id, "key": thread.key, "url": thread.url, "title": thread.title,
            "locked": thread.locked, "count": sum(1 for c in ordered if c.status == Status.APPROVED),
            "notify": ref.mail,
        },
        "comments": [public_comment(c, ref.site_key) for c in ordered],
    }


@lru_cache(maxsize=MAX_COUNT_URLS + 1)
def _counts_read(size: int) -> Read:
    # One statement per number of URLs, each URL its own bound value ("u0",
    # "u1", ...), so that every size is compiled once and then reused.
    site, thread = Site.__table__.c, Thread.__table__.c
    pages = [sa.bindparam(f"u{number}", type_=thread.url.type) for number in range(size)]
    # With no URL at all the query still finds the site (to tell 404 from {}).
    listed = thread.url.in_(pages) if pages else sa.false()
    return Read(
        sa.select(json_text(site.origins), thread.url, thread.id, thread.version)
        .select_from(Site.__table__)
        .outerjoin(Thread.__table__, sa.and_(thread.site_id == site.id, listed))
        .where(site.key == sa.bindparam("site"))
    )


_APPROVED_COUNTS = (
    sa.select(Comment.thread_id, sa.func.count())
    .where(Comment.thread_id.in_(sa.bindparam("ids", expanding=True)), Comment.status == Status.APPROVED)
    .group_by(Comment.thread_id)
)


def counts(site: str | None, page_urls: list[str]) -> tuple[list[str], dict[str, int]]:
    """The site's origins, and approved comment counts for many pages; keyed
    by the URLs as given.

    One query finds the threads and their versions (or what this process
    knows of its answer, see freshness); a count is kept per
    (thread, version) like a thread's body, so only a thread that changed
    since it was last counted is counted again (in one more query).
    """
    site = site_key(site)
    if len(page_urls) > MAX_COUNT_URLS:
        raise APIError(400, "invalid", f"At most {MAX_COUNT_URLS} URLs at once.", {"url": "Too many URLs."})
    normalized = {url: normalized_url(url) for url in page_urls}
    pages = sorted(set(normalized.values()))
    rows = freshness.rows(_counts_read(len(pages)), ("counts", site, *pages), 2, 3,
                          site=site, **{f"u{number}": url for number, url in enumerate(pages)})
    if not rows:
        raise unknown_site()
    cache = app_cache("causerie.count_cache", COUNT_CACHE_THREADS)
    found, missing = {}, {}
    for _, url, thread_id, version in rows:
        if url is None:
            continue
        count = cache.get(thread_id, version)
        if count is None:
            missing[thread_id] = (url, version)
        else:
            found[url] = count
    if missing:
        counted = dict(db.session.execute(_APPROVED_COUNTS, {"ids": list(missing)}).all())
        for thread_id, (url, version) in missing.items():
            found[url] = counted.get(thread_id, 0)
            cache.put(thread_id, version, found[url])
    return rows[0][0] or [], {url: found.get(norm, 0) for url, norm in normalized.items()}


def create(ref: ThreadRef, title: str | None) -> Thread:
    """The thread of a page's first comment, under the page's key if it gives one.

    An existing thread is never given a key here: a thread keeps the key it
    was created with (see :func:`load_for_write`).
    """
    thread = Thread(site_id=ref.site_id, url=ref.url, key=ref.key, title=title)
    try:
        with db.session.begin_nested():
            db.session.add(thread)
            db.session.flush()
    except sa.exc.IntegrityError:
        # Another request created it between our read and our write.
        match = sa.or_(Thread.url == ref.url, Thread.key == ref.key) if ref.key else Thread.url == ref.url
        found = db.session.scalars(sa.select(Thread).where(Thread.site_id == ref.site_id, match)).all()
        if len(found) != 1:
            raise _conflict() from None
        thread = found[0]
        if thread.locked:
            raise APIError(403, "thread_locked", "This discussion is closed to new comments.",
                           origins=ref.origins) from None
    return thread
