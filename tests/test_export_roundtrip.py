"""`causerie export --site KEY` and restoring it with `causerie import json`."""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from service.extensions import db
from service.models import Ban, Comment, Site, Thread

from .cli_support import assert_refused
from .conftest import ORIGIN, Reader
from .porting_support import DATA, cli, comments, counts, threads


@pytest.fixture
def rich_site(app, client, site):
    """A site with every kind of data an export must carry."""
    reader = Reader(client, site)
    first = reader.post("First *comment*", email="Reader@Mail.Example", website="https://reader.example",
                        notify=True, lang="en").get_json()["comment"]["id"]
    reader.post("A reply", parent_id=first)
    reader.post("On another page", url=f"{ORIGIN}/other")
    assert cli(app, "import", "disqus", DATA / "disqus.xml", "--site", site).exit_code == 0
    with app.app_context():
        site_row = db.session.scalar(sa.select(Site).where(Site.key == site))
        site_row.banned_words = ["casino"]
        site_row.notify_emails = ["owner@blog.example"]
        site_row.edit_window = 600
        site_row.language = "fr"
        thread = db.session.scalar(sa.select(Thread).where(Thread.url == f"{ORIGIN}/post"))
        thread.title = "The post"
        db.session.add(Thread(site_id=site_row.id, url=f"{ORIGIN}/quiet", key="quiet-page", locked=True,
                              created_at=datetime(2024, 5, 6, 7, 8, 9, 123456)))
        db.session.add(Comment(site_id=site_row.id, thread=thread, parent_id=first, author="Staff", text="Staff reply",
                               html="<p>Staff reply</p>", status="approved", staff=True, pinned=True,
                               edited_at=datetime(2025, 1, 1), edited_by_staff=True,
                               moderated_at=datetime(2025, 1, 2), reasons=["suspect word: x"]))
        # Two comments at the same instant: their order must not depend on ids.
        same = datetime(2024, 1, 1, 12, 0, 0)
        for name in ("Zed", "Amy"):
            db.session.add(Comment(site_id=site_row.id, thread=thread, author=name, text=name, html=f"<p>{name}</p>",
                                   status="rejected", created_at=same))
        db.session.add(Ban(site_id=site_row.id, email_hash="ab" * 32, reason="spam",
                           created_at=datetime(2024, 2, 2), expires_at=datetime(2030, 1, 1)))
        db.session.commit()
    return site


def export(app, site, tmp_path, name="backup.json"):
    path = tmp_path / name
    result = cli(app, "export", "--site", site, "-o", path)
    assert result.exit_code == 0, result.output
    return path


def empty_database(app):
    with app.app_context():
        db.drop_all()
        db.create_all()


def test_restoring_into_an_empty_database_then_exporting_gives_the_same_document(app, rich_site, tmp_path):
    first = export(app, rich_site, tmp_path, "first.json")
    empty_database(app)
    restored = cli(app, "import", "json", first)
    assert restored.exit_code == 0, restored.output
    assert "site 'blog' created from the file's settings" in restored.stdout
    second = export(app, rich_site, tmp_path, "second.json")
    assert second.read_bytes() == first.read_bytes()


def test_restore_keeps_threading_statuses_flags_and_settings(app, rich_site, tmp_path):
    before = comments(app)
    path = export(app, rich_site, tmp_path)
    empty_database(app)
    cli(app, "import", "json", path)
    after = comments(app)
    assert len(after) == len(before)
    staff = next(c for c in after.values() if c.author == "Staff")
    assert (staff.staff, staff.pinned, staff.edited_by_staff, staff.reasons) == (True, True, True, ["suspect word: x"])
    parent = after[staff.parent_id and next(r for r, c in after.items() if c.id == staff.parent_id)]
    assert parent.text == "First *comment*" and parent.notify is True and parent.language == "en"
    assert sorted(c.status for c in after.values()) == sorted(c.status for c in before.values())
    with app.app_context():
        site = db.session.scalar(sa.select(Site))
        assert (site.banned_words, site.notify_emails, site.edit_window, site.language) == (
            ["casino"], ["owner@blog.example"], 600, "fr")
        assert db.session.scalar(sa.select(sa.func.count(Ban.id))) == 1
    assert threads(app)[f"{ORIGIN}/quiet"].key == "quiet-page"


def test_restored_email_hashes_match_the_service_secret(app, rich_site, tmp_path):
    from service import hashing

    path = export(app, rich_site, tmp_path)
    empty_database(app)
    cli(app, "import", "json", path)
    reader = next(c for c in comments(app).values() if c.email == "Reader@mail.example")
    with app.app_context():
        assert reader.email_hash == hashing.email_hash("reader@mail.example")


def test_restoring_twice_adds_nothing(app, rich_site, tmp_path):
    path = export(app, rich_site, tmp_path)
    empty_database(app)
    cli(app, "import", "json", path)
    before = counts(app)
    again = cli(app, "import", "json", path)
    assert again.exit_code == 0
    assert counts(app) == before
    assert "comments: 0 created" in again.stdout


def test_restoring_into_the_database_it_came_from_adds_nothing(app, rich_site, tmp_path):
    before = counts(app)
    result = cli(app, "import", "json", export(app, rich_site, tmp_path))
    assert result.exit_code == 0, result.output
    assert counts(app) == before


def test_restoring_into_the_source_database_adds_only_what_was_lost(app, rich_site, tmp_path):
    path = export(app, rich_site, tmp_path)
    with app.app_context():
        staff = db.session.scalar(sa.select(Comment).where(Comment.author == "Staff"))
        db.session.delete(staff)
        edited = db.session.scalar(sa.select(Comment).where(Comment.text == "A reply"))
        edited.text = "A reply, edited since the backup"
        db.session.commit()
    result = cli(app, "import", "json", path)
    assert "comments: 1 created" in result.stdout
    texts = [c.text for c in comments(app).values()]
    assert "Staff reply" in texts and "A reply, edited since the backup" in texts and "A reply" not in texts


def test_export_names_comments_without_database_ids(app, rich_site, tmp_path):
    document = json.loads(export(app, rich_site, tmp_path).read_text())
    assert document["format"] == "causerie-export" and document["version"] == 1
    refs = {c["id"] for c in document["comments"]}
    assert {"disqus:301", "disqus:302"} <= refs
    reply = next(c for c in document["comments"] if c["id"] == "disqus:302")
    assert reply["parent"] == "disqus:301"
    assert reply["thread"] == "https://blog.example/2019/first-post"


def test_export_leaves_out_credentials_and_derived_hashes(app, rich_site, tmp_path):
    text = export(app, rich_site, tmp_path).read_text()
    document = json.loads(text)
    assert "edit_token_hash" not in text and "email_hash\": \"" not in json.dumps(document["comments"])
    assert "password" not in text


def test_export_to_a_file_is_readable_by_the_owner_only(app, rich_site, tmp_path):
    path = export(app, rich_site, tmp_path)
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".backup")] == []


def test_export_without_a_file_writes_to_standard_output(app, rich_site):
    result = cli(app, "export", "--site", rich_site)
    assert result.exit_code == 0
    assert json.loads(result.stdout)["site"]["key"] == "blog"
    assert "Exported" in result.stderr


def test_export_of_an_unknown_site_is_an_error(app, site):
    result = cli(app, "export", "--site", "nope")
    assert_refused(result, "There is no site with the key 'nope'")


def test_restore_under_another_key_with_site_option(app, rich_site, tmp_path):
    path = export(app, rich_site, tmp_path)
    result = cli(app, "import", "json", path, "--site", "copy")
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.scalar(sa.select(Site.origins).where(Site.key == "copy")) == [ORIGIN]


def test_a_restored_site_in_an_unknown_language_writes_its_emails_in_english(app, tmp_path):
    document = {"format": "causerie-export", "version": 1,
                "site": {"key": "elsewhere", "origins": [ORIGIN], "language": "tlh"}, "threads": [], "comments": []}
    path = tmp_path / "klingon.json"
    path.write_text(json.dumps(document))
    assert cli(app, "import", "json", path).exit_code == 0
    with app.app_context():
        assert db.session.scalar(sa.select(Site.language).where(Site.key == "elsewhere")) == "en"


def test_restored_html_is_sanitized_again(app, site, tmp_path):
    document = {
        "format": "causerie-export", "version": 1, "site": {"key": "blog", "origins": [ORIGIN]},
        "threads": [{"url": f"{ORIGIN}/p", "created_at": "2024-01-01T00:00:00Z"}],
        "comments": [{"id": "x:1", "thread": f"{ORIGIN}/p", "author": "Mallory", "text": "hi",
                      "html": '<p onclick="steal()">hi<script>alert(1)</script></p>', "status": "approved",
                      "created_at": "2024-01-01T00:00:00Z", "website": "javascript:alert(1)"}],
    }
    path = tmp_path / "evil.json"
    path.write_text(json.dumps(document))
    assert cli(app, "import", "json", path).exit_code == 0
    mallory = comments(app)["x:1"]
    assert mallory.html == "<p>hi</p>"
    assert mallory.website is None


def test_restore_keeps_which_addresses_confirmed_reply_emails(app, site, client, tmp_path):
    reader = Reader(client, site)
    said_yes = reader.post("Said yes", email="yes@mail.example", notify=True).get_json()["comment"]["id"]
    reader.post("Never answered", email="maybe@mail.example", notify=True)
    with app.app_context():
        db.session.get(Comment, said_yes).notify_confirmed_at = datetime(2025, 3, 4, 5, 6, 7)
        db.session.commit()
    path = export(app, site, tmp_path)
    empty_database(app)
    assert cli(app, "import", "json", path).exit_code == 0
    restored = {c.text: (c.notify, c.notify_confirmed_at) for c in comments(app).values()}
    assert restored == {"Said yes": (True, datetime(2025, 3, 4, 5, 6, 7)), "Never answered": (True, None)}


def test_restore_keeps_who_follows_a_page_and_what_they_were_told(app, site, client, tmp_path):
    reader = Reader(client, site)
    follower = reader.post("Following", email="yes@mail.example", follow=True).get_json()["comment"]["id"]
    reader.post("Not following", email="no@mail.example")
    with app.app_context():
        comment = db.session.get(Comment, follower)
        comment.notify_confirmed_at = datetime(2025, 3, 4, 5, 6, 7)
        comment.followed_until = datetime(2025, 3, 5)
        db.session.commit()
    path = export(app, site, tmp_path)
    empty_database(app)
    assert cli(app, "import", "json", path).exit_code == 0
    restored = {c.text: (c.follow, c.notify_confirmed_at, c.followed_until) for c in comments(app).values()}
    assert restored == {"Following": (True, datetime(2025, 3, 4, 5, 6, 7), datetime(2025, 3, 5)),
                        "Not following": (False, None, None)}


def test_a_backup_from_before_confirmation_keeps_its_subscriptions(app, site, tmp_path):
    document = {
        "format": "causerie-export", "version": 1, "site": {"key": "blog", "origins": [ORIGIN]},
        "threads": [{"url": f"{ORIGIN}/p", "created_at": "2024-01-01T00:00:00Z"}],
        "comments": [{"id": "x:1", "thread": f"{ORIGIN}/p", "author": "Old", "text": "hi", "html": "<p>hi</p>",
                      "email": "old@mail.example", "notify": True, "status": "approved",
                      "created_at": "2024-01-01T00:00:00Z"}],
    }
    path = tmp_path / "old.json"
    path.write_text(json.dumps(document))
    result = cli(app, "import", "json", path)
    assert result.exit_code == 0, result.output
    assert comments(app)["x:1"].notify_confirmed_at == datetime(2024, 1, 1)


@pytest.mark.parametrize(("content", "message"), [
    (b'{"format": "causerie-export", "version": 1, "site": {', "looks truncated"),
    (b'{"format": "causerie-export", "version": 1, "site": {"name": "\xff\xfe"}}', "not valid UTF-8"),
    (b'{"comments": []}', "This is not a Causerie export"),
    (b'{"format": "causerie-export", "version": 7}', "version 7"),
    (b'[' * 100000 + b']' * 100000, "nested too deeply"),
    (b'{"format": "causerie-export", "version": 1, "site": {"origins": []}, "threads": [], "comments": '
     b'[{"id": "a", "thread": "t", "text": "", "html": "", "status": "published", "created_at": "2024-01-01"}]}',
     "comments[0].status"),
    (b'{"format": "causerie-export", "version": 1, "site": {"origins": []}, "threads": [{"url": "https://b.example/"'
     b', "key": "k\\u0000", "created_at": "2024-01-01"}], "comments": []}', "threads[0].key: contains a NUL"),
])
def test_malformed_export_is_refused_with_its_place_and_writes_nothing(app, site, tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    result = cli(app, "import", "json", path, "--site", site)
    assert_refused(result, message, "Nothing was imported.")
    assert counts(app) == (0, 0)


def test_restore_keeps_microseconds_and_edit_dates(app, rich_site, tmp_path):
    path = export(app, rich_site, tmp_path)
    empty_database(app)
    cli(app, "import", "json", path)
    assert threads(app)[f"{ORIGIN}/quiet"].created_at == datetime(2024, 5, 6, 7, 8, 9, 123456)
    staff = next(c for c in comments(app).values() if c.author == "Staff")
    assert staff.edited_at == datetime(2025, 1, 1) and staff.moderated_at - staff.edited_at == timedelta(days=1)


def test_backup_with_more_rows_than_allowed_is_refused(app, rich_site, tmp_path, monkeypatch):
    from service.porting import source

    path = export(app, rich_site, tmp_path)
    monkeypatch.setattr(source, "MAX_ROWS", 4)
    result = cli(app, "import", "json", path, "--site", "restored")
    assert_refused(result, "more than 4 threads, comments and bans")
