"""Atom feeds of approved comments: per site and per thread.

``GET /feeds/KEY.atom`` lists a site's latest approved comments,
``GET /feeds/KEY/thread.atom?url=URL`` one page's.  Each entry links to the
comment's permalink (``PAGE#comment-ID``) and carries its author, dates and
the HTML that was sanitized when the comment was stored.

Feeds are polled, so they are cheap to revalidate: the ETag is built from
thread versions (which move with every change a reader could see, see
models), checked with one small query before anything else is read.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

import sqlalchemy as sa
from flask import Blueprint, Response, current_app, request

from . import urls
from .choices import Status
from .errors import APIError, unknown_site
from .extensions import Limit, db, rate_limited
from .models import Comment, Site, Thread
from .validation import valid_site_key

bp = Blueprint("feeds", __name__, url_prefix="/feeds")

ATOM = "http://www.w3.org/2005/Atom"
FEED_SIZE = 50
MAX_AGE = 300
# Part of every ETag: a change of the feed's shape must not be answered with a 304.
FORMAT_VERSION = "1"
# Characters XML 1.0 cannot carry at all, even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _read_limit() -> str:
    return current_app.config["CAUSERIE_RATELIMIT_READ"]


@dataclass
class Entry:
    """One comment as a feed shows it."""

    id: int
    author: str
    website: str | None
    html: str
    created_at: datetime
    edited_at: datetime | None
    page_url: str
    page_title: str | None

    @property
    def permalink(self) -> str:
        """The comment's place on its page, where the widget scrolls to it."""
        return f"{self.page_url}#comment-{self.id}"

    @property
    def updated(self) -> datetime:
        """When the entry last changed."""
        return self.edited_at or self.created_at


@dataclass
class Feed:
    """What an Atom document is made of."""

    id: str
    self_url: str
    page_url: str
    title: str
    created_at: datetime
    entries: list[Entry]

    @property
    def updated(self) -> datetime:
        """The latest change among the entries (or the feed's birth)."""
        return max((e.updated for e in self.entries), default=self.created_at)


def _site(key: str) -> Site:
    site = db.session.scalar(sa.select(Site).where(Site.key == key)) if valid_site_key(key) else None
    if site is None:
        raise unknown_site()
    return site


def _entries(*conditions) -> list[Entry]:
    rows = db.session.execute(
        sa.select(Comment.id, Comment.author, Comment.website, Comment.html, Comment.created_at,
                  Comment.edited_at, Thread.url, Thread.title)
        .join(Thread, Thread.id == Comment.thread_id)
        .where(Comment.status == Status.APPROVED, *conditions)
        .order_by(Comment.created_at.desc(), Comment.id.desc())
        .limit(FEED_SIZE)
    ).all()
    return [Entry(*row) for row in rows]


def _public(path: str, **query) -> str:
    base = current_app.config["CAUSERIE_PUBLIC_URL"]
    return f"{base}{path}{'?' + urlencode(query) if query else ''}"


def site_etag(site_id: int) -> str:
    """Changes whenever any thread of the site changes in a way readers see."""
    count, total, newest = db.session.execute(
        sa.select(sa.func.count(Thread.id), sa.func.coalesce(sa.func.sum(Thread.version), 0),
                  sa.func.coalesce(sa.func.max(Thread.id), 0))
        .where(Thread.site_id == site_id)
    ).one()
    return f"s{site_id}-{count}-{total}-{newest}-{FORMAT_VERSION}"


def site_feed(site: Site) -> Feed:
    """The site's latest approved comments, newest first."""
    path = f"/feeds/{site.key}.atom"
    origins = site.origins or []
    return Feed(
        id=_public(path), self_url=_public(path), page_url=origins[0] if origins else _public("/"),
        title=f"Comments on {site.name or site.key}", created_at=site.created_at,
        entries=_entries(Comment.site_id == site.id),
    )


def thread_feed(site: Site, thread: Thread) -> Feed:
    """One page's latest approved comments, newest first."""
    url = _public(f"/feeds/{site.key}/thread.atom", url=thread.url)
    return Feed(
        id=url, self_url=url, page_url=thread.url,
        title=f"Comments on {thread.title or thread.url}", created_at=thread.created_at,
        entries=_entries(Comment.thread_id == thread.id),
    )


def _text(value: str | None) -> str:
    return _NOT_XML.sub("", value or "")


def _date(value: datetime) -> str:
    return value.isoformat(timespec="seconds") + "Z"


def atom(feed: Feed, site_title: bool) -> bytes:
    """Serialize a feed as an Atom 1.0 document (RFC 4287)."""
    root = ET.Element("feed", {"xmlns": ATOM})
    ET.SubElement(root, "id").text = _text(feed.id)
    ET.SubElement(root, "title").text = _text(feed.title)
    ET.SubElement(root, "updated").text = _date(feed.updated)
    ET.SubElement(root, "link", {"rel": "self", "type": "application/atom+xml", "href": _text(feed.self_url)})
    ET.SubElement(root, "link", {"rel": "alternate", "type": "text/html", "href": _text(feed.page_url)})
    ET.SubElement(root, "generator").text = "Causerie"
    for entry in feed.entries:
        item = ET.SubElement(root, "entry")
        name = _text(entry.author) or "Anonymous"
        ET.SubElement(item, "id").text = _text(entry.permalink)
        page = entry.page_title or entry.page_url
        ET.SubElement(item, "title").text = _text(f"{name} on {page}" if site_title else name)
        ET.SubElement(item, "link", {"rel": "alternate", "type": "text/html", "href": _text(entry.permalink)})
        ET.SubElement(item, "published").text = _date(entry.created_at)
        ET.SubElement(item, "updated").text = _date(entry.updated)
        author = ET.SubElement(item, "author")
        ET.SubElement(author, "name").text = name
        if entry.website:
            ET.SubElement(author, "uri").text = _text(entry.website)
        ET.SubElement(item, "content", {"type": "html"}).text = _text(entry.html)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _answer(etag: str, build) -> Response:
    """304 when the client's copy is current; the feed otherwise, cacheable."""
    if request.if_none_match.contains(etag):
        response = Response(status=304)
    else:
        feed, site_title = build()
        response = Response(atom(feed, site_title), mimetype="application/atom+xml")
        response.last_modified = feed.updated
    response.set_etag(etag)
    response.headers["Cache-Control"] = f"public, max-age={MAX_AGE}"
    return response


@bp.get("/<key>.atom")
@rate_limited(Limit(_read_limit))
def site_atom(key: str):
    """The site's feed."""
    site = _site(key)
    return _answer(site_etag(site.id), lambda: (site_feed(site), True))


@bp.get("/<key>/thread.atom")
@rate_limited(Limit(_read_limit))
def thread_atom(key: str):
    """One thread's feed, by the page's URL."""
    site = _site(key)
    raw = request.args.get("url")
    if not raw:
        raise APIError(400, "invalid", "The page URL is required.", {"url": "This field is required."})
    try:
        url = urls.normalize(raw)
    except urls.InvalidURL as exc:
        raise APIError(400, "invalid", str(exc), {"url": str(exc)}) from exc
    thread = db.session.scalar(sa.select(Thread).where(Thread.site_id == site.id, Thread.url == url))
    if thread is None:
        raise APIError(404, "unknown_thread", "This page has no comments.")
    return _answer(f"t{thread.id}-{thread.version}-{FORMAT_VERSION}", lambda: (thread_feed(site, thread), False))
