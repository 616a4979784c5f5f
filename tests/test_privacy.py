"""Privacy tools: `causerie gdpr export|erase EMAIL` and `causerie purge`."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from service import hashing
from service.extensions import db
from service.models import Ban, Comment, ModerationEvent, Report, Site, utcnow

from .cli_support import assert_refused
from .conftest import ORIGIN, Reader, add_site
from .porting_support import cli, comments

EMAIL = "Camille@Mail.Example"


@pytest.fixture
def people(app, client, site):
    """Camille (a comment and a reply to it by Dom) on two sites, plus Dom elsewhere."""
    add_site(app, "other", origins=("https://other.example", ORIGIN), mode="post")
    camille = Reader(client, site, ip="203.0.113.9")
    first = camille.post("Camille's words", email=EMAIL, website="https://camille.example",
                         notify=True, lang="fr").get_json()["comment"]["id"]
    with app.app_context():
        db.session.get(Comment, first).notify_confirmed_at = datetime(2026, 1, 2, 3, 4, 5)
        db.session.commit()
    Reader(client, site, ip="198.51.100.2").post("Dom replies", author="Dom", email="dom@mail.example",
                                                  parent_id=first)
    Reader(client, "other", origin="https://other.example").post(
        "Elsewhere", url="https://other.example/p", email="camille@mail.example")
    Reader(client, site).report(first, "rude")
    with app.app_context():
        site_id = db.session.scalar(sa.select(Site.id).where(Site.key == site))
        db.session.add(Ban(site_id=site_id, email_hash=hashing.email_hash(EMAIL), reason="shouting"))
        db.session.commit()
    return first


def by_author(app, name):
    return [c for c in comments(app).values() if c.author == name]


def test_gdpr_export_lists_every_comment_of_the_address_on_every_site(app, people):
    result = cli(app, "gdpr", "export", "camille@mail.example")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert sorted(c["site"] for c in document["comments"]) == ["blog", "other"]
    assert all(c["email"].lower() == "camille@mail.example" for c in document["comments"])
    assert "Dom replies" not in result.stdout


def test_gdpr_export_includes_ip_hash_reports_moderation_and_bans(app, people):
    document = json.loads(cli(app, "gdpr", "export", EMAIL, "--site", "blog").stdout)
    [comment] = document["comments"]
    with app.app_context():
        assert comment["ip_hash"] == hashing.ip_hash("203.0.113.9")
    assert comment["website"] == "https://camille.example"
    assert comment["notify_on_replies"] is True and comment["email_language"] == "fr"
    assert comment["notify_confirmed_at"].startswith("2026-01-02T03:04:05")
    assert [r["reason"] for r in comment["reports"]] == ["rude"]
    assert comment["moderation"][0]["action"] == "created"
    assert [b["reason"] for b in document["bans"]] == ["shouting"]
    assert "ip_addresses" in document["about"]


def test_gdpr_export_for_an_unknown_site_is_an_error(app, people):
    result = cli(app, "gdpr", "export", EMAIL, "--site", "nope")
    assert_refused(result, "There is no site with the key 'nope'.")


def test_erase_requires_choosing_keep_text_or_delete(app, people):
    result = cli(app, "gdpr", "erase", EMAIL, "--yes")
    assert_refused(result, "--keep-text or --delete", exit_code=2)
    assert len(by_author(app, "Camille")) == 2


def test_erase_asks_for_confirmation(app, people):
    result = cli(app, "gdpr", "erase", EMAIL, "--delete", input="n\n")
    assert "Delete 2 comments of Camille@Mail.Example? This cannot be undone" in result.stdout
    assert_refused(result, "Aborted!")
    assert len(by_author(app, "Camille")) == 2


def test_erase_keep_text_removes_personal_data_and_keeps_the_text(app, people):
    result = cli(app, "gdpr", "erase", EMAIL, "--keep-text", "--yes")
    assert result.exit_code == 0, result.output
    assert "2 comments anonymised" in result.stdout
    erased = [c for c in comments(app).values() if c.text in ("Camille's words", "Elsewhere")]
    assert len(erased) == 2
    for comment in erased:
        assert (comment.author, comment.email, comment.email_hash, comment.website, comment.ip_hash) == \
            ("", None, None, None, None)
        assert comment.status == "approved" and comment.notify is False and comment.edit_token_hash is None
        assert comment.notify_confirmed_at is None and comment.commenter_hash is None


def test_erase_delete_leaves_placeholders_that_keep_replies_in_place(app, client, people):
    assert cli(app, "gdpr", "erase", EMAIL, "--delete", "--yes").exit_code == 0
    camille = comments(app)[f"causerie:{people}"]
    assert (camille.status, camille.text, camille.html, camille.author, camille.email) == ("deleted", "", "", "", None)
    body = Reader(client, "blog").read().get_json()
    assert [c["deleted"] for c in body["comments"]] == [True, False]
    assert body["comments"][1]["parent_id"] == people
    assert "Camille" not in json.dumps(body)


def test_erase_does_not_touch_other_people(app, people):
    cli(app, "gdpr", "erase", EMAIL, "--delete", "--yes")
    [dom] = by_author(app, "Dom")
    assert dom.email == "dom@mail.example" and dom.status == "approved"


def test_erase_limited_to_one_site(app, people):
    cli(app, "gdpr", "erase", EMAIL, "--delete", "--yes", "--site", "other")
    assert [c.text for c in by_author(app, "Camille")] == ["Camille's words"]


def test_erase_writes_an_audit_event_per_comment(app, people):
    cli(app, "gdpr", "erase", EMAIL, "--delete", "--yes")
    with app.app_context():
        events = db.session.scalars(sa.select(ModerationEvent).where(ModerationEvent.action == "erased")).all()
        assert len(events) == 2
        erased = ("approved", "deleted", "causerie gdpr erase")
        assert {(e.from_status, e.to_status, e.actor) for e in events} == {erased}


def test_erase_keeps_bans_unless_asked_to_lift_them(app, people):
    kept = cli(app, "gdpr", "erase", EMAIL, "--keep-text", "--yes")
    assert "1 bans on this address kept" in kept.stdout
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Ban.id))) == 1
    lifted = cli(app, "gdpr", "erase", EMAIL, "--keep-text", "--yes", "--lift-bans")
    assert "1 bans on this address lifted" in lifted.stdout
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Ban.id))) == 0


def test_erase_moves_the_thread_version_so_caches_refresh(app, client, people):
    before = Reader(client, "blog").read().headers["ETag"]
    cli(app, "gdpr", "erase", EMAIL, "--delete", "--yes")
    assert Reader(client, "blog").read().headers["ETag"] != before


def test_erase_of_an_unknown_address_says_so(app, people):
    result = cli(app, "gdpr", "erase", "nobody@mail.example", "--delete", "--yes")
    assert result.exit_code == 0
    assert "No comments are held for nobody@mail.example" in result.stdout


def age(app, days):
    """Make every comment and report ``days`` old."""
    with app.app_context():
        when = utcnow() - timedelta(days=days)
        db.session.execute(sa.update(Comment).values(created_at=when))
        db.session.execute(sa.update(Report).values(created_at=when))
        db.session.commit()


def ip_hashes(app):
    with app.app_context():
        return (db.session.scalar(sa.select(sa.func.count(Comment.ip_hash))),
                db.session.scalar(sa.select(sa.func.count(Report.ip_hash))))


def test_purge_erases_ip_hashes_older_than_the_retention(app, people):
    age(app, 31)
    result = cli(app, "purge")
    assert result.exit_code == 0
    assert "3 on comments, 1 on reports" in result.stdout
    assert ip_hashes(app) == (0, 0)


def test_purge_keeps_recent_ip_hashes(app, people):
    age(app, 29)
    cli(app, "purge")
    assert ip_hashes(app) == (3, 1)


def test_purge_dry_run_changes_nothing(app, people):
    age(app, 40)
    result = cli(app, "purge", "--dry-run")
    assert "would be erased: 3 on comments, 1 on reports" in result.stdout
    assert ip_hashes(app) == (3, 1)


def test_purge_days_option_overrides_the_setting(app, people):
    age(app, 10)
    cli(app, "purge", "--days", "7")
    assert ip_hashes(app) == (0, 0)


@pytest.mark.parametrize("app_settings", [{"CAUSERIE_IP_RETENTION_DAYS": 5}])
def test_purge_follows_the_retention_setting(app, people):
    age(app, 6)
    cli(app, "purge")
    assert ip_hashes(app) == (0, 0)


def test_purge_leaves_bans_in_force_alone(app, people):
    with app.app_context():
        db.session.add(Ban(site_id=1, ip_hash="cd" * 32, created_at=utcnow() - timedelta(days=400)))
        db.session.add(Ban(site_id=1, ip_hash="ef" * 32, created_at=utcnow() - timedelta(days=400),
                           expires_at=utcnow() + timedelta(days=1)))
        db.session.commit()
    cli(app, "purge", "--days", "0")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Ban.ip_hash))) == 2


def test_purge_removes_bans_that_ended_before_the_retention(app, people):
    with app.app_context():
        db.session.add(Ban(site_id=1, ip_hash="cd" * 32, expires_at=utcnow() - timedelta(days=31)))
        db.session.add(Ban(site_id=1, ip_hash="ef" * 32, expires_at=utcnow() - timedelta(days=29)))
        db.session.commit()
    result = cli(app, "purge")
    assert "Bans that ended before then removed: 1." in result.stdout
    with app.app_context():
        assert db.session.scalars(sa.select(Ban.ip_hash).where(Ban.ip_hash.is_not(None))).all() == ["ef" * 32]
