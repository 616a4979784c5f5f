"""Importing WordPress WXR exports: `causerie import wordpress FILE --site KEY`."""

from __future__ import annotations

from datetime import datetime

import pytest

from .cli_support import assert_refused
from .porting_support import DATA, HOSTILE, cli, comments, counts, threads

SAMPLE = DATA / "wordpress.xml"
HELLO = "https://blog.example/2020/01/hello-world"
CLOSED = "https://blog.example/2020/02/closed"
MOVED = ("--rewrite-host", "old.example=https://blog.example")


@pytest.fixture
def imported(app, site):
    result = cli(app, "import", "wordpress", SAMPLE, "--site", site, *MOVED)
    assert result.exit_code == 0, result.output
    return result


def test_posts_with_comments_become_threads_with_their_titles(app, imported):
    found = threads(app)
    assert set(found) == {HELLO, CLOSED}
    assert found[HELLO].title == "Hello world!"
    assert found[HELLO].created_at == datetime(2020, 1, 1, 10, 0)


def test_html_entities_in_titles_and_names_are_decoded(app, imported):
    assert threads(app)[CLOSED].title == "Comments closed here – sorry"
    assert comments(app)["wordpress:11"].author == "Maud & Co"


def test_post_without_comments_creates_no_thread(app, imported):
    assert "https://blog.example/2020/03/quiet" not in threads(app)


def test_post_with_closed_comments_becomes_a_locked_thread(app, imported):
    assert threads(app)[CLOSED].locked is True
    assert threads(app)[HELLO].locked is False


def test_comment_approved_values_map_to_statuses(app, imported):
    found = comments(app)
    assert found["wordpress:11"].status == "approved"
    assert found["wordpress:13"].status == "pending"
    assert found["wordpress:14"].status == "spam"
    assert found["wordpress:15"].status == "deleted"


def test_reply_listed_before_its_parent_keeps_its_parent(app, imported):
    found = comments(app)
    assert found["wordpress:12"].parent_id == found["wordpress:11"].id
    assert found["wordpress:15"].parent_id == found["wordpress:11"].id
    assert found["wordpress:11"].parent_id is None


def test_bare_newlines_become_paragraphs_and_line_breaks(app, imported):
    jules = comments(app)["wordpress:12"]
    assert jules.html == "<p>I agree with <em>Maud</em>.<br>\nSecond line.</p><p>New paragraph.</p>"
    assert jules.text == "I agree with *Maud*.\nSecond line.\n\nNew paragraph."


def test_event_handlers_in_comment_html_are_removed(app, imported):
    maud = comments(app)["wordpress:11"]
    assert "onclick" not in maud.html
    assert maud.html == '<p>First! <a href="http://maud.example/post" rel="nofollow ugc noopener">My take</a></p>'


def test_author_fields_and_gmt_dates_are_kept(app, imported):
    jules = comments(app)["wordpress:12"]
    assert (jules.author, jules.email, jules.website) == ("Jules", "jules@mail.example", "http://jules.example")
    assert jules.created_at == datetime(2020, 1, 2, 12, 0)


def test_missing_gmt_date_falls_back_to_the_local_date(app, imported):
    assert comments(app)["wordpress:11"].created_at == datetime(2020, 1, 2, 11, 0)


def test_website_without_a_scheme_gets_http(app, imported):
    assert comments(app)["wordpress:11"].website == "http://maud.example"


def test_pingbacks_and_attachment_comments_are_skipped_with_reasons(app, imported):
    assert "pingback" not in {c.author for c in comments(app).values()}
    assert "skipped 1: pingback (not a comment)" in imported.stdout
    assert "skipped 1: comment on a WordPress attachment" in imported.stdout


def test_summary_counts_what_was_created(app, imported):
    assert "threads: 2 created, 0 already there" in imported.stdout
    assert "comments: 6 created (3 approved, 1 deleted, 1 pending, 1 spam), 2 skipped" in imported.stdout


def test_importing_the_same_file_twice_adds_nothing(app, site, imported):
    before = counts(app)
    again = cli(app, "import", "wordpress", SAMPLE, "--site", site, *MOVED)
    assert again.exit_code == 0
    assert counts(app) == before
    assert "skipped 6: already imported" in again.stdout


def test_dry_run_writes_nothing(app, site):
    result = cli(app, "import", "wordpress", SAMPLE, "--site", site, "--dry-run", *MOVED)
    assert result.exit_code == 0
    assert "comments: 6 would be created" in result.stdout
    assert counts(app) == (0, 0)


def test_without_rewrite_the_old_host_is_kept_and_warned_about(app, site):
    result = cli(app, "import", "wordpress", SAMPLE, "--site", site)
    assert result.exit_code == 0
    assert "http://old.example/2020/01/hello-world" in threads(app)
    assert "outside the site's origins: http://old.example (6)" in result.stdout


def test_wxr_1_0_namespace_is_read_too(app, site, tmp_path):
    older = tmp_path / "wxr10.xml"
    older.write_text(SAMPLE.read_text().replace("export/1.2/", "export/1.0/"))
    result = cli(app, "import", "wordpress", older, "--site", site, *MOVED)
    assert result.exit_code == 0
    assert counts(app) == (2, 6)


@pytest.mark.parametrize(("name", "message"), [
    ("billion_laughs.xml", "declares XML entities"),
    ("xxe.xml", "external entity"),
    ("parameter_entity.xml", "external entity"),
    ("empty.xml", "empty"),
    ("rss_feed.xml", "not a WordPress export: it has no wp: elements"),
])
def test_hostile_or_malformed_file_is_refused_and_writes_nothing(app, site, name, message):
    result = cli(app, "import", "wordpress", HOSTILE / name, "--site", site)
    assert_refused(result, message, "Nothing was imported.")
    assert counts(app) == (0, 0)


def test_truncated_wordpress_file_is_refused_and_writes_nothing(app, site, tmp_path):
    cut = tmp_path / "cut.xml"
    cut.write_bytes(SAMPLE.read_bytes()[:6000])
    result = cli(app, "import", "wordpress", cut, "--site", site)
    assert_refused(result, "looks truncated")
    assert counts(app) == (0, 0)


def test_wordpress_file_with_broken_utf8_is_refused_and_writes_nothing(app, site, tmp_path):
    broken = tmp_path / "broken.xml"
    broken.write_bytes(SAMPLE.read_bytes().replace(b"Awaiting moderation", b"Awaiting \xc3\x28 moderation"))
    result = cli(app, "import", "wordpress", broken, "--site", site)
    assert_refused(result, "not encoded in UTF-8")
    assert counts(app) == (0, 0)


def test_disqus_file_is_refused_as_not_wordpress(app, site):
    result = cli(app, "import", "wordpress", DATA / "disqus.xml", "--site", site)
    assert_refused(result, "This is not a WordPress export: its root element is <disqus>")


def test_wordpress_file_with_more_rows_than_allowed_is_refused(app, site, monkeypatch):
    from service.porting import source

    monkeypatch.setattr(source, "MAX_ROWS", 4)
    result = cli(app, "import", "wordpress", SAMPLE, "--site", site, *MOVED)
    assert_refused(result, "more than 4 threads, comments and bans")
    assert counts(app) == (0, 0)
