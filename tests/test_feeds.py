"""Atom feeds: GET /feeds/KEY.atom and /feeds/KEY/thread.atom?url=URL, read with feedparser."""

from __future__ import annotations

from datetime import datetime

import feedparser
import pytest
import sqlalchemy as sa

from service import feeds
from service.extensions import db
from service.models import Comment, Site, Thread

from .conftest import ORIGIN, Reader

POST = f"{ORIGIN}/post"
OTHER = f"{ORIGIN}/other"


@pytest.fixture
def discussion(app, client, site):
    """Two pages; approved comments plus one of every other status."""
    reader = Reader(client, site)
    reader.post("First on *post*", website="https://camille.example")
    reader.post("Second on post", author="Dom")
    reader.post("On the other page", url=OTHER, author="Eli")
    with app.app_context():
        thread = db.session.scalar(sa.select(Thread).where(Thread.url == POST))
        for status in ("pending", "spam", "rejected", "deleted"):
            db.session.add(Comment(site_id=thread.site_id, thread=thread, author=f"Hidden {status}",
                                   text=status, html=f"<p>secret {status}</p>", status=status))
        db.session.commit()
    return site


def parse(response):
    assert response.status_code == 200
    assert response.mimetype == "application/atom+xml"
    feed = feedparser.parse(response.data)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    return feed


def test_site_feed_is_valid_atom_with_approved_comments_newest_first(client, discussion):
    feed = parse(client.get("/feeds/blog.atom"))
    assert [e.author for e in feed.entries] == ["Eli", "Dom", "Camille"]
    assert feed.feed.title == "Comments on Blog"


def test_feed_never_shows_pending_spam_rejected_or_deleted_comments(client, discussion):
    body = client.get("/feeds/blog.atom").data.decode()
    assert "Hidden" not in body and "secret" not in body


def test_entry_has_permalink_author_dates_and_sanitized_html(app, client, discussion):
    entry = parse(client.get("/feeds/blog.atom")).entries[-1]
    with app.app_context():
        comment = db.session.scalar(sa.select(Comment).where(Comment.author == "Camille"))
    assert entry.link == f"{POST}#comment-{comment.id}"
    assert entry.id == f"{POST}#comment-{comment.id}"
    assert entry.author_detail.name == "Camille"
    assert entry.author_detail.href == "https://camille.example"
    assert entry.published == comment.created_at.isoformat(timespec="seconds") + "Z"
    assert entry.content[0].type == "text/html"
    assert entry.content[0].value == "<p>First on <em>post</em></p>"


def test_thread_feed_lists_only_that_page(client, discussion):
    feed = parse(client.get("/feeds/blog/thread.atom", query_string={"url": OTHER}))
    assert [e.author for e in feed.entries] == ["Eli"]
    assert feed.feed.link == OTHER


def test_thread_feed_finds_the_page_by_its_unnormalised_url(client, discussion):
    url = "HTTPS://Blog.Example:443/post/?utm_source=rss#comments"
    feed = parse(client.get("/feeds/blog/thread.atom", query_string={"url": url}))
    assert len(feed.entries) == 2


def test_unknown_site_is_404(client, site):
    assert client.get("/feeds/nope.atom").status_code == 404
    assert client.get("/feeds/nope/thread.atom", query_string={"url": POST}).status_code == 404


def test_site_key_with_a_nul_character_is_404(client, site):
    assert client.get("/feeds/blog%00.atom").status_code == 404
    assert client.get("/feeds/%00/thread.atom", query_string={"url": POST}).status_code == 404


def test_unknown_thread_is_404(client, discussion):
    response = client.get("/feeds/blog/thread.atom", query_string={"url": f"{ORIGIN}/never"})
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "unknown_thread"


def test_missing_or_invalid_thread_url_is_400(client, discussion):
    assert client.get("/feeds/blog/thread.atom").status_code == 400
    assert client.get("/feeds/blog/thread.atom", query_string={"url": "javascript:alert(1)"}).status_code == 400


def test_site_without_comments_has_a_valid_empty_feed(client, site):
    feed = parse(client.get("/feeds/blog.atom"))
    assert feed.entries == []
    assert feed.feed.updated


def test_feed_is_cacheable_and_answers_304_to_its_etag(client, discussion):
    first = client.get("/feeds/blog.atom")
    assert first.headers["Cache-Control"] == f"public, max-age={feeds.MAX_AGE}"
    assert first.headers["Last-Modified"]
    again = client.get("/feeds/blog.atom", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert again.data == b""


def test_thread_feed_answers_304_to_its_etag(client, discussion):
    first = client.get("/feeds/blog/thread.atom", query_string={"url": POST})
    again = client.get("/feeds/blog/thread.atom", query_string={"url": POST},
                       headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


def test_a_new_comment_changes_the_etag(client, discussion):
    before = client.get("/feeds/blog.atom").headers["ETag"]
    Reader(client, discussion).post("Newest", author="Fay")
    after = client.get("/feeds/blog.atom", headers={"If-None-Match": before})
    assert after.status_code == 200
    assert parse(after).entries[0].author == "Fay"


def test_control_characters_stored_by_an_import_do_not_break_the_xml(app, client, site):
    with app.app_context():
        site_id = db.session.scalar(sa.select(Site.id))
        thread = Thread(site_id=site_id, url=POST, title="Bad\x01title")
        db.session.add(thread)
        db.session.add(Comment(site_id=site_id, thread=thread, author="Bell\x07", text="x", html="<p>a\x0bb</p>",
                               status="approved", created_at=datetime(2020, 1, 1)))
        db.session.commit()
    feed = parse(client.get("/feeds/blog.atom"))
    assert feed.entries[0].author == "Bell"
    assert feed.entries[0].title == "Bell on Badtitle"


def test_feed_holds_at_most_the_latest_fifty_comments(app, client, site):
    with app.app_context():
        site_id = db.session.scalar(sa.select(Site.id))
        thread = Thread(site_id=site_id, url=POST)
        db.session.add(thread)
        for n in range(60):
            db.session.add(Comment(site_id=site_id, thread=thread, author=f"A{n}", text="x", html="<p>x</p>",
                                   status="approved", created_at=datetime(2020, 1, 1, 0, n)))
        db.session.commit()
    feed = parse(client.get("/feeds/blog.atom"))
    assert len(feed.entries) == feeds.FEED_SIZE
    assert feed.entries[0].author == "A59"


def test_anonymous_comment_is_shown_as_anonymous(app, client, site):
    with app.app_context():
        site_id = db.session.scalar(sa.select(Site.id))
        thread = Thread(site_id=site_id, url=POST)
        db.session.add(Comment(site_id=site_id, thread=thread, author="", text="x", html="<p>x</p>",
                               status="approved"))
        db.session.commit()
    assert parse(client.get("/feeds/blog.atom")).entries[0].author == "Anonymous"
