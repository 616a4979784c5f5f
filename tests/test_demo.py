"""The demo site: seeded idempotently, served in French and English under a strict CSP."""

from __future__ import annotations

import sqlalchemy as sa

from service.demo import DEMO_POLICY, article_url, seed_demo
from service.extensions import db
from service.models import Comment, Report, Site
from tests.moderation_helpers import Session, add_moderator

# Per language: 9 approved, 2 held, 1 reported (approved), 1 spam.
DEMO_COMMENTS = 26


def test_seed_demo_creates_the_site_and_two_threaded_discussions(app, ctx):
    site = seed_demo()
    assert site.key == "demo"
    assert site.origins == ["http://127.0.0.1:8080", "http://localhost:8080"]
    comments = db.session.scalars(sa.select(Comment).where(Comment.site_id == site.id,
                                                           Comment.status == "approved")).all()
    assert len(comments) == 20
    assert sum(c.staff for c in comments) == 4
    assert sum(c.pinned for c in comments) == 2
    assert any(c.parent is not None and c.parent.parent is not None and c.parent.parent.parent is not None
               for c in comments)
    french = " ".join(c.text for c in comments if c.thread.url == article_url("fr"))
    for needle in ("«", "»", "’", "😊"):
        assert needle in french


def test_seed_demo_is_idempotent(app, ctx):
    seed_demo()
    seed_demo()
    assert db.session.scalar(sa.select(sa.func.count(Site.id))) == 1
    assert db.session.scalar(sa.select(sa.func.count(Comment.id))) == DEMO_COMMENTS
    assert db.session.scalar(sa.select(sa.func.count(Report.id))) == 2


def test_seed_demo_adds_the_public_origin_to_an_existing_demo_site(app, ctx):
    db.session.add(Site(key="demo", name="old", origins=["https://elsewhere.example"]))
    db.session.commit()
    app.config["CAUSERIE_PUBLIC_URL"] = "https://comments.example.org"
    site = seed_demo()
    assert site.origins == ["http://127.0.0.1:8080", "http://localhost:8080", "https://comments.example.org",
                            "https://elsewhere.example"]


def test_demo_cli_command_seeds_and_says_where_to_look(app):
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert "/demo" in result.output
    assert "causerie moderators add you@example.org --admin" in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Comment.id))) == DEMO_COMMENTS


def test_demo_pages_embed_the_versioned_widget_under_a_strict_policy(client, app):
    version = app.extensions["causerie_widget"].version
    for path, lang in (("/demo", "fr"), ("/demo/en", "en")):
        response = client.get(path)
        assert response.status_code == 200
        assert response.headers["Content-Security-Policy"] == DEMO_POLICY
        page = response.get_data(as_text=True)
        assert f'<html lang="{lang}">' in page
        assert f'src="/widget.js?v={version}" data-site="demo"' in page
        assert "<style" not in page and " style=" not in page and "<script>" not in page
    assert "pièges" in client.get("/demo").get_data(as_text=True)
    assert "pitfalls" in client.get("/demo/en").get_data(as_text=True)
    assert client.get("/demo/static/demo.css").status_code == 200


def test_demo_thread_is_served_by_the_api(client, app):
    with app.app_context():
        seed_demo()
        url = article_url("en")
    body = client.get("/api/threads", query_string={"site": "demo", "url": url}).get_json()
    assert body["thread"]["count"] == 10
    assert body["comments"][0]["pinned"] is True
    assert any(c["staff"] for c in body["comments"])


def test_seed_demo_leaves_work_in_the_queue_in_both_languages(app, ctx):
    seed_demo()
    for lang in ("fr", "en"):
        thread = Comment.thread.property.mapper.class_
        statuses = db.session.execute(
            sa.select(Comment.status, sa.func.count()).join(thread).where(thread.url == article_url(lang))
            .group_by(Comment.status)).all()
        assert dict(statuses) == {"approved": 10, "pending": 2, "spam": 1}
        reported = db.session.scalars(
            sa.select(Comment).join(thread).join(Report).where(thread.url == article_url(lang),
                                                             Report.resolved.is_(False))).all()
        assert len(reported) == 1 and "reported" in reported[0].reasons


def test_demo_queue_shows_pending_reported_and_spam_to_a_moderator(app, client):
    with app.app_context():
        seed_demo()
    add_moderator(app, "desk@example.org", admin=True)
    desk = Session(client).sign_in("desk@example.org")
    for view, text in (("pending", "Facebook"), ("reported", "hopeless"), ("spam", "EARN")):
        assert text in desk.get(f"/moderate/?view={view}").get_data(as_text=True)
