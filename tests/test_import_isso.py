"""Importing Isso databases: `causerie import isso FILE --site KEY [--base-url URL]`.

``data/import/isso.db`` was made by Isso 0.14 itself (its own database code:
threads.new, comments.add, vote, update, delete), so the schema is the real one.
"""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from datetime import datetime

import pytest

from .cli_support import assert_refused
from .conftest import add_site
from .porting_support import DATA, cli, comments, counts, threads

SAMPLE = DATA / "isso.db"
POST = "https://blog.example/2021/isso-post"
SECOND = "https://blog.example/2021/second"


@pytest.fixture
def isso_db(tmp_path):
    copy = tmp_path / "comments.db"
    shutil.copy(SAMPLE, copy)
    return copy


@pytest.fixture
def imported(app, site, isso_db):
    result = cli(app, "import", "isso", isso_db, "--site", site)
    assert result.exit_code == 0, result.output
    return result


def test_isso_paths_become_threads_under_the_site_origin(app, imported):
    found = threads(app)
    assert set(found) == {POST, SECOND}
    assert found[POST].title == "An Isso post"
    assert found[SECOND].title is None


def test_thread_date_is_its_first_comment(app, imported):
    assert threads(app)[POST].created_at == datetime(2021, 1, 1, 12, 0)


def test_modes_map_to_statuses(app, imported):
    found = comments(app)
    assert found["isso:1"].status == "approved"
    assert found["isso:3"].status == "pending"
    assert found["isso:4"].status == "deleted"


def test_replies_keep_their_parents_even_under_a_deleted_comment(app, imported, client):
    found = comments(app)
    assert found["isso:2"].parent_id == found["isso:1"].id
    assert found["isso:5"].parent_id == found["isso:4"].id
    body = client.get("/api/threads", query_string={"site": "blog", "url": POST},
                      headers={"Origin": "https://blog.example"}).get_json()
    placeholder = next(c for c in body["comments"] if c["id"] == found["isso:4"].id)
    assert placeholder["deleted"] is True


def test_markdown_is_rendered_like_a_new_comment_and_html_is_escaped(app, imported):
    iris = comments(app)["isso:1"]
    assert iris.text.startswith("Hello **Isso**")
    assert iris.html == ('<p>Hello <strong>Isso</strong> with a <a href="https://isso.example" '
                         'rel="nofollow ugc noopener">link</a> and &lt;script&gt;x&lt;/script&gt;</p>')


def test_authors_emails_websites_dates_and_edits_are_kept(app, imported):
    iris = comments(app)["isso:1"]
    assert (iris.author, iris.email, iris.website) == ("Iris", "iris@mail.example", "https://iris.example")
    assert iris.created_at == datetime(2021, 1, 1, 12, 0)
    assert iris.edited_at == datetime(2021, 1, 1, 13, 0)


def test_reply_notification_wish_is_kept_as_confirmed(app, imported):
    iris, other = comments(app)["isso:1"], comments(app)["isso:2"]
    # Isso never asked for a confirmation: its subscriptions carry on.
    assert (iris.notify, iris.notify_confirmed_at) == (True, iris.created_at)
    assert (other.notify, other.notify_confirmed_at) == (False, None)


def test_anonymous_comment_has_an_empty_name(app, imported):
    assert comments(app)["isso:3"].author == ""


def test_isso_database_is_left_untouched(app, site, isso_db):
    before = hashlib.sha256(isso_db.read_bytes()).hexdigest()
    cli(app, "import", "isso", isso_db, "--site", site)
    assert hashlib.sha256(isso_db.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in isso_db.parent.iterdir() if p.name.startswith("comments")) == ["comments.db"]


def test_importing_the_same_database_twice_adds_nothing(app, site, imported, isso_db):
    before = counts(app)
    again = cli(app, "import", "isso", isso_db, "--site", site)
    assert again.exit_code == 0
    assert counts(app) == before == (2, 6)


def test_dry_run_writes_nothing(app, site, isso_db):
    result = cli(app, "import", "isso", isso_db, "--site", site, "--dry-run")
    assert "comments: 6 would be created (4 approved, 1 deleted, 1 pending)" in result.stdout
    assert counts(app) == (0, 0)


def test_base_url_places_the_pages(app, site, isso_db):
    result = cli(app, "import", "isso", isso_db, "--site", site, "--base-url", "https://blog.example/blog/")
    assert result.exit_code == 0
    assert "https://blog.example/blog/2021/isso-post" in threads(app)


def test_site_with_several_origins_needs_a_base_url(app, isso_db):
    add_site(app, "multi", origins=("https://a.example", "https://b.example"))
    result = cli(app, "import", "isso", isso_db, "--site", "multi")
    assert_refused(result, "--base-url", exit_code=2)


def test_a_file_that_is_not_sqlite_is_refused(app, site):
    result = cli(app, "import", "isso", DATA / "disqus.xml", "--site", site)
    assert_refused(result, "not an SQLite database")


def test_an_sqlite_database_that_is_not_isso_is_refused(app, site, tmp_path):
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    connection.close()
    result = cli(app, "import", "isso", other, "--site", site)
    assert_refused(result, "This is not an Isso database: the table 'threads' is missing")
    assert counts(app) == (0, 0)


def test_a_truncated_isso_database_is_refused_and_writes_nothing(app, site, tmp_path):
    cut = tmp_path / "cut.db"
    cut.write_bytes(SAMPLE.read_bytes()[:5000])
    result = cli(app, "import", "isso", cut, "--site", site)
    assert_refused(result, "Nothing was imported.")
    assert counts(app) == (0, 0)


def test_unknown_isso_mode_is_held_for_moderation_with_a_reason(app, site, isso_db):
    with sqlite3.connect(isso_db) as connection:
        connection.execute("UPDATE comments SET mode = 8 WHERE id = 6")
    connection.close()
    cli(app, "import", "isso", isso_db, "--site", site)
    lou = comments(app)["isso:6"]
    assert lou.status == "pending"
    assert lou.reasons == ["unknown Isso mode 8"]


def test_values_of_the_wrong_type_in_the_database_are_dropped(app, site, isso_db):
    with sqlite3.connect(isso_db) as connection:
        connection.execute("UPDATE comments SET author = x'00ff', email = 42, text = x'01' WHERE id = 1")
    connection.close()
    result = cli(app, "import", "isso", isso_db, "--site", site)
    assert result.exit_code == 0, result.output
    iris = comments(app)["isso:1"]
    assert (iris.author, iris.email, iris.text) == ("", None, "")


ENDLESS_VIEW = """
CREATE TABLE threads (id INTEGER PRIMARY KEY, uri VARCHAR(256) UNIQUE, title VARCHAR(256));
CREATE VIEW comments AS
  WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n)
  SELECT 1 AS tid, i AS id, NULL AS parent, 0.0 AS created, 1 AS mode, 'x' AS text FROM n ORDER BY i DESC;
"""


def hostile_isso(tmp_path, schema: str):
    path = tmp_path / "hostile.db"
    with sqlite3.connect(path) as connection:
        connection.executescript(schema)
    connection.close()
    return path


def test_isso_file_with_a_view_over_an_endless_query_is_refused_before_reading(app, site, tmp_path):
    path = hostile_isso(tmp_path, ENDLESS_VIEW)
    result = cli(app, "import", "isso", path, "--site", site)
    assert_refused(result, "holds a view named 'comments'", "Nothing was imported.")
    assert counts(app) == (0, 0)


def test_isso_file_with_an_extra_table_or_view_is_refused(app, site, isso_db):
    with sqlite3.connect(isso_db) as connection:
        connection.execute("CREATE VIEW everything AS SELECT * FROM comments")
    connection.close()
    result = cli(app, "import", "isso", isso_db, "--site", site)
    assert_refused(result, "holds a view named 'everything'")
    assert counts(app) == (0, 0)


def test_isso_file_analyzed_by_sqlite_is_still_read(app, site, isso_db):
    with sqlite3.connect(isso_db) as connection:
        connection.execute("ANALYZE")
    connection.close()
    assert cli(app, "import", "isso", isso_db, "--site", site).exit_code == 0
    assert counts(app) == (2, 6)


def test_isso_file_with_a_computed_column_is_refused(app, site, tmp_path):
    # The row goes in before the column is added: SQLite computes the column (a
    # gigabyte of text, ~8 s) when a row is inserted, not when one is added.  The
    # file is the same: its schema reads as one CREATE TABLE with the column.
    path = hostile_isso(tmp_path, """
        CREATE TABLE threads (id INTEGER PRIMARY KEY, uri VARCHAR(256), title VARCHAR(256));
        CREATE TABLE comments (tid INTEGER, id INTEGER PRIMARY KEY, parent INTEGER, created FLOAT, mode INTEGER);
        INSERT INTO threads VALUES (1, '/a', 'A');
        INSERT INTO comments (tid, id, created, mode) VALUES (1, 1, 0, 1);
        ALTER TABLE comments ADD COLUMN text AS (printf('%.*c', 1000000000, 'x'));
    """)
    result = cli(app, "import", "isso", path, "--site", site)
    assert_refused(result, "computed columns")
    assert counts(app) == (0, 0)


@pytest.fixture
def big_isso_db(isso_db):
    with sqlite3.connect(isso_db) as connection:
        connection.executemany(
            "INSERT INTO comments (tid, parent, created, mode, text, author, voters) "
            "VALUES (1, NULL, ?, 1, ?, 'A', '')",
            [(1609502400 + n, f"comment {n}") for n in range(2000)])
    connection.close()
    return isso_db


def test_isso_read_that_exceeds_its_step_budget_is_stopped_and_writes_nothing(app, site, big_isso_db, monkeypatch):
    from service.porting import isso

    monkeypatch.setattr(isso, "MAX_STEPS", 10_000)
    result = cli(app, "import", "isso", big_isso_db, "--site", site)
    assert_refused(result, "more than 10,000 steps", "Nothing was imported.")
    assert counts(app) == (0, 0)


def test_isso_read_that_exceeds_its_time_budget_is_stopped(app, site, big_isso_db, monkeypatch):
    from service.porting import isso

    monkeypatch.setattr(isso, "MAX_SECONDS", -1)
    result = cli(app, "import", "isso", big_isso_db, "--site", site)
    assert_refused(result, "refused as hostile or damaged")
    assert counts(app) == (0, 0)


def test_isso_file_with_more_rows_than_allowed_is_refused(app, site, isso_db, monkeypatch):
    from service.porting import source

    monkeypatch.setattr(source, "MAX_ROWS", 4)
    result = cli(app, "import", "isso", isso_db, "--site", site)
    assert_refused(result, "more than 4 threads, comments and bans")
    assert counts(app) == (0, 0)
