"""Importing Disqus XML exports: `causerie import disqus FILE --site KEY`."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from service import hashing
from service.extensions import db
from service.models import Comment, ModerationEvent, Thread, utcnow
from service.porting import disqus, importer

from .cli_support import assert_refused
from .porting_support import DATA, HOSTILE, cli, comments, counts, threads

SAMPLE = DATA / "disqus.xml"
FIRST = "https://blog.example/2019/first-post"
CLOSED = "https://blog.example/2019/closed-post"


def disqus_file(tmp_path, body: str, name="export.xml"):
    """A small Disqus export written for one test."""
    path = tmp_path / name
    path.write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<disqus xmlns="http://disqus.com" xmlns:dsq="http://disqus.com/disqus-internals">\n'
        f"{body}\n</disqus>\n", encoding="utf-8")
    return path


def thread_xml(ref, link, title="T"):
    return (f'<thread dsq:id="{ref}"><link>{link}</link><title>{title}</title>'
            "<createdAt>2019-01-01T00:00:00Z</createdAt></thread>")


def post_xml(ref, thread, parent=None, created="2019-01-02T00:00:00Z", ip=None, message="<p>Hi</p>"):
    return (f'<post dsq:id="{ref}"><message><![CDATA[{message}]]></message><createdAt>{created}</createdAt>'
            f"<isDeleted>false</isDeleted><isSpam>false</isSpam><author><name>N{ref}</name>"
            f"<email>n{ref}@mail.example</email></author>"
            + (f"<ipAddress>{ip}</ipAddress>" if ip else "")
            + f'<thread dsq:id="{thread}"/>'
            + (f'<parent dsq:id="{parent}"/>' if parent else "") + "</post>")


@pytest.fixture
def imported(app, site):
    result = cli(app, "import", "disqus", SAMPLE, "--site", site)
    assert result.exit_code == 0, result.output
    return result


def test_import_creates_threads_under_normalised_urls_with_titles(app, imported):
    found = threads(app)
    assert set(found) == {FIRST, CLOSED}
    assert found[FIRST].title == "First post"
    assert found[FIRST].created_at == datetime(2019, 3, 1, 9, 0)


def test_closed_disqus_thread_becomes_a_locked_thread(app, imported):
    assert threads(app)[CLOSED].locked is True
    assert threads(app)[FIRST].locked is False


def test_reply_listed_before_its_parent_keeps_its_parent(app, imported):
    found = comments(app)
    assert found["disqus:302"].parent_id == found["disqus:301"].id
    assert found["disqus:304"].parent_id == found["disqus:301"].id


def test_statuses_map_spam_deleted_unapproved_and_approved(app, imported):
    found = comments(app)
    assert found["disqus:301"].status == "approved"
    assert found["disqus:303"].status == "spam"
    assert found["disqus:304"].status == "deleted"
    assert found["disqus:305"].status == "pending"


def test_authors_dates_and_emails_are_kept(app, imported):
    ana = comments(app)["disqus:301"]
    assert ana.author == "Ana"
    assert ana.email == "Ana@mail.example"
    assert ana.created_at == datetime(2019, 3, 2, 10, 0)


def test_email_hash_matches_the_one_new_comments_get(app, imported):
    with app.app_context():
        assert comments(app)["disqus:301"].email_hash == hashing.email_hash("ana@mail.example")


def test_invalid_email_and_javascript_website_are_dropped(app, imported):
    found = comments(app)
    assert found["disqus:305"].email is None
    assert found["disqus:301"].website is None


def test_html_message_is_sanitized_and_kept_as_markdown_text(app, imported):
    ana = comments(app)["disqus:301"]
    assert ana.html == "<p>Great <strong>article</strong>.</p><p>Second <em>paragraph</em><br>with a break.</p>"
    assert "script" not in ana.html and "alert" not in ana.html and "img" not in ana.html
    assert ana.text == "Great **article**.\n\nSecond *paragraph*\nwith a break."
    assert ana.text_hash == hashing.text_fingerprint(ana.text)


def test_links_in_imported_html_get_the_nofollow_rel(app, imported):
    bob = comments(app)["disqus:302"]
    assert 'rel="nofollow ugc noopener"' in bob.html
    assert bob.text == "Thanks, [Ana](https://ana.example/)!"


def test_highlighted_post_is_pinned(app, imported):
    assert comments(app)["disqus:301"].pinned is True
    assert comments(app)["disqus:302"].pinned is False


def test_old_ip_addresses_are_not_kept(app, imported):
    assert all(c.ip_hash is None for c in comments(app).values())


def test_recent_ip_address_is_kept_only_as_a_hash(app, site, tmp_path):
    recent = (utcnow() - timedelta(days=2)).isoformat(timespec="seconds") + "Z"
    path = disqus_file(tmp_path, thread_xml(1, "https://blog.example/a")
                       + post_xml(2, 1, created=recent, ip="198.51.100.7"))
    assert cli(app, "import", "disqus", path, "--site", site).exit_code == 0
    with app.app_context():
        assert comments(app)["disqus:2"].ip_hash == hashing.ip_hash("198.51.100.7")


def test_summary_counts_created_and_skipped_with_reasons(app, imported):
    out = imported.stdout
    assert "threads: 2 created, 0 already there" in out
    assert "comments: 6 created (3 approved, 1 deleted, 1 pending, 1 spam), 2 skipped" in out
    assert "skipped 1: thread deleted in Disqus" in out
    assert "skipped 1: its thread is not in the file" in out
    assert "note, 1: reply to a comment that is not in the file: kept as a top-level comment" in out


def test_reply_to_a_missing_comment_is_kept_as_top_level(app, imported):
    assert comments(app)["disqus:307"].parent_id is None


def test_large_file_shows_progress_bars_on_stderr(app, site, monkeypatch):
    from service.porting import cli as porting_cli

    monkeypatch.setattr(porting_cli, "PROGRESS_FROM_BYTES", 0)
    result = cli(app, "import", "disqus", SAMPLE, "--site", site)
    assert result.exit_code == 0
    assert "Reading" in result.stderr and "Rendering comments" in result.stderr
    assert "Reading" not in result.stdout


def test_importing_the_same_file_twice_adds_nothing(app, site, imported):
    before = counts(app)
    again = cli(app, "import", "disqus", SAMPLE, "--site", site)
    assert again.exit_code == 0
    assert counts(app) == before
    assert "threads: 0 created, 2 already there" in again.stdout
    assert "comments: 0 created" in again.stdout and "skipped 6: already imported" in again.stdout


def test_dry_run_reports_and_writes_nothing(app, site):
    result = cli(app, "import", "disqus", SAMPLE, "--site", site, "--dry-run")
    assert result.exit_code == 0
    assert "Dry run: nothing was written." in result.stdout
    assert "comments: 6 would be created" in result.stdout
    assert counts(app) == (0, 0)


def test_import_writes_one_audit_event(app, imported):
    with app.app_context():
        events = db.session.scalars(sa.select(ModerationEvent)).all()
        assert [(e.action, e.actor) for e in events] == [("imported", "causerie import")]


def test_rewrite_host_moves_pages_of_a_blog_that_moved(app, site, tmp_path):
    path = disqus_file(tmp_path, thread_xml(1, "http://old.example/post/") + post_xml(2, 1))
    result = cli(app, "import", "disqus", path, "--site", site, "--rewrite-host", "old.example=https://blog.example")
    assert result.exit_code == 0, result.output
    assert set(threads(app)) == {"https://blog.example/post"}
    assert "warning" not in result.stdout


def test_pages_outside_the_site_origins_are_imported_with_a_warning(app, site, tmp_path):
    path = disqus_file(tmp_path, thread_xml(1, "http://old.example/post/") + post_xml(2, 1))
    result = cli(app, "import", "disqus", path, "--site", site)
    assert result.exit_code == 0
    assert "outside the site's origins: http://old.example (1)" in result.stdout


def test_malformed_rewrite_host_is_a_usage_error(app, site):
    result = cli(app, "import", "disqus", SAMPLE, "--site", site, "--rewrite-host", "old.example")
    assert_refused(result, "OLD_HOST=NEW_HOST", exit_code=2)


def test_comments_join_an_existing_thread_and_move_its_version(app, site, tmp_path):
    with app.app_context():
        db.session.add(Thread(site_id=1, url="https://blog.example/a", title="Existing"))
        db.session.commit()
    path = disqus_file(tmp_path, thread_xml(1, "https://blog.example/a/?utm_source=x", "Other") + post_xml(2, 1))
    result = cli(app, "import", "disqus", path, "--site", site)
    assert "threads: 0 created, 1 already there" in result.stdout
    thread = threads(app)["https://blog.example/a"]
    assert thread.version == 2 and thread.title == "Existing"
    assert comments(app)["disqus:2"].thread_id == thread.id


def test_imported_comments_show_in_the_thread_in_reply_order(app, imported, client):
    body = client.get("/api/threads", query_string={"site": "blog", "url": FIRST},
                      headers={"Origin": "https://blog.example"}).get_json()
    by_ref = comments(app)
    # The spam and the deleted reply (which has no replies of its own) are not shown.
    assert [c["id"] for c in body["comments"]] == [by_ref["disqus:301"].id, by_ref["disqus:302"].id]


def test_reply_loop_in_the_file_is_cut(app, site, tmp_path):
    path = disqus_file(tmp_path, thread_xml(1, "https://blog.example/a")
                       + post_xml(2, 1, parent=3) + post_xml(3, 1, parent=4) + post_xml(4, 1, parent=2))
    result = cli(app, "import", "disqus", path, "--site", site)
    assert result.exit_code == 0
    found = comments(app)
    assert sum(1 for c in found.values() if c.parent_id is None) == 1
    assert "replies that formed a loop" in result.stdout


def test_reply_to_a_comment_of_another_thread_is_kept_as_top_level(app, site, tmp_path):
    path = disqus_file(tmp_path, thread_xml(1, "https://blog.example/a") + thread_xml(5, "https://blog.example/b")
                       + post_xml(2, 1) + post_xml(3, 5, parent=2))
    result = cli(app, "import", "disqus", path, "--site", site)
    assert comments(app)["disqus:3"].parent_id is None
    assert "reply to a comment of another thread" in result.stdout


def test_later_file_links_replies_to_comments_of_an_earlier_import(app, site, tmp_path):
    first = disqus_file(tmp_path, thread_xml(1, "https://blog.example/a") + post_xml(2, 1), "one.xml")
    second = disqus_file(tmp_path, thread_xml(1, "https://blog.example/a") + post_xml(3, 1, parent=2), "two.xml")
    cli(app, "import", "disqus", first, "--site", site)
    cli(app, "import", "disqus", second, "--site", site)
    found = comments(app)
    assert found["disqus:3"].parent_id == found["disqus:2"].id


def test_oversized_comment_is_skipped_with_a_reason(app, site, tmp_path):
    path = disqus_file(tmp_path, thread_xml(1, "https://blog.example/a")
                       + post_xml(2, 1, message="<em>" * 30000) + post_xml(3, 1))
    result = cli(app, "import", "disqus", path, "--site", site)
    assert "skipped 1: longer than 100,000 characters" in result.stdout
    assert set(comments(app)) == {"disqus:3"}


def test_unknown_site_is_a_clear_error(app, site):
    result = cli(app, "import", "disqus", SAMPLE, "--site", "nope")
    assert_refused(result, "There is no site with the key 'nope'")


def test_a_failure_while_writing_leaves_nothing_behind(app, site, monkeypatch):
    calls = []

    def failing(body, body_format):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("disk full")
        return "t", "<p>t</p>"

    monkeypatch.setattr(importer.bodies, "render", failing)
    result = cli(app, "import", "disqus", SAMPLE, "--site", site)
    assert isinstance(result.exception, RuntimeError) and str(result.exception) == "disk full"
    assert counts(app) == (0, 0)


def test_a_comment_posted_while_the_import_renders_does_not_fail_it(app, site, client, monkeypatch):
    from service.porting import text

    from .conftest import Reader

    real_render = text.render
    posted = []

    def render_while_a_reader_posts(body, body_format):
        if not posted:
            posted.append(Reader(client, site).post("Posted meanwhile", url="https://blog.example/2019/first-post"))
        return real_render(body, body_format)

    monkeypatch.setattr(text, "render", render_while_a_reader_posts)
    result = cli(app, "import", "disqus", SAMPLE, "--site", site)
    assert posted[0].status_code == 201
    assert result.exit_code == 0, result.output
    assert counts(app) == (2, 7)


def test_rendering_in_worker_processes_gives_the_same_result(monkeypatch):
    from service.porting import text

    items = [(f"<p>Comment <b>{n}</b> https://example.org/{n}</p>", "html") for n in range(40)]
    items += [(f"*Markdown* {n}", "markdown") for n in range(40)]
    serial = text.render_many(items)
    monkeypatch.setattr(text, "PARALLEL_FROM", 10)
    assert text.render_many(items, parallel=True) == serial


def test_large_import_uses_a_bounded_number_of_queries(app, site, tmp_path):
    body = [thread_xml(t, f"https://blog.example/p{t}") for t in range(20)]
    body += [post_xml(1000 + n, n % 20, parent=(1000 + n - 20) if n >= 20 else None) for n in range(2500)]
    path = disqus_file(tmp_path, "".join(body))
    statements = []

    def count(*_args):
        statements.append(1)

    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", count)
        try:
            with open(path, "rb") as stream:
                summary = importer.run(disqus.read(stream), site)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", count)
        assert summary.comments_created == 2500
        assert db.session.scalar(sa.select(sa.func.count(Comment.parent_id))) == 2480
    assert len(statements) < 30


@pytest.mark.parametrize(("name", "message"), [
    ("billion_laughs.xml", "declares XML entities"),
    ("xxe.xml", "external entity"),
    ("parameter_entity.xml", "external entity"),
    ("truncated.xml", "looks truncated"),
    ("broken_utf8.xml", "not encoded in UTF-8"),
    ("empty.xml", "empty"),
    ("not_xml.txt", "not well-formed XML"),
    ("rss_feed.xml", "This is not a Disqus export"),
])
def test_hostile_or_malformed_file_is_refused_and_writes_nothing(app, site, name, message):
    result = cli(app, "import", "disqus", HOSTILE / name, "--site", site)
    assert_refused(result, message, "Nothing was imported.")
    assert counts(app) == (0, 0)


@pytest.mark.parametrize("other", ["wordpress.xml", "isso.db"])
def test_another_format_is_refused(app, site, other):
    result = cli(app, "import", "disqus", DATA / other, "--site", site)
    assert_refused(result, "Nothing was imported.")
    assert counts(app) == (0, 0)


def test_a_page_url_too_long_once_encoded_is_skipped_with_its_reason(app, site, tmp_path):
    path = disqus_file(tmp_path, thread_xml(1, "https://blog.example/" + "é" * 1500) + post_xml(2, 1)
                       + thread_xml(3, "https://blog.example/short") + post_xml(4, 3))
    result = cli(app, "import", "disqus", path, "--site", site)
    assert result.exit_code == 0, result.output
    assert set(threads(app)) == {"https://blog.example/short"}
    assert "not a valid http(s) URL" in result.stdout


def test_disqus_file_with_more_rows_than_allowed_is_refused(app, site, monkeypatch):
    from service.porting import source

    monkeypatch.setattr(source, "MAX_ROWS", 4)
    result = cli(app, "import", "disqus", SAMPLE, "--site", site)
    assert_refused(result, "more than 4 threads, comments and bans")
    assert counts(app) == (0, 0)
