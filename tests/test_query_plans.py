"""The write path's queries find their rows through indexes, whatever the size.

SQLite keeps no statistics unless ANALYZE ran, so between two indexes that
match as many equality terms it may pick the one that reads every published
comment of a site.  These tests read the databases' own query plans for the
statements a post makes, on a fresh database as a new site has it.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from service import reads
from service.choices import Mode
from service.extensions import db
from service.models import Site, SpamCount
from service.spam import filter as spam_filter
from tests.conftest import Reader, add_site, make_app

# Plan lines that read rows in proportion to the site, not to the answer.
SITE_WIDE = ("SCAN comment", "ix_comment_site_status_created (site_id=? AND status=?)")


@pytest.fixture
def sqlite_app(tmp_path):
    """The app on a fresh SQLite file (the plans are SQLite's)."""
    app = make_app(f"sqlite:///{tmp_path / 'plans.db'}", tmp_path)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _statements_of_a_post(app, mode: Mode, monkeypatch) -> list[tuple[str, tuple]]:
    """The SELECTs a new commenter's post makes on a site in ``mode``, with their parameters."""
    key = add_site(app, "blog", mode=mode)
    reader = Reader(app.test_client(), key)
    assert reader.post(text="An earlier comment, published.").status_code == 201
    seen: list[tuple[str, tuple]] = []

    def capture(_conn, _cursor, statement, parameters, _context, _many):
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, tuple(parameters)))

    # The write path's query of the site runs as a Read, straight on the driver.
    def run(compiled, engine, params):
        capture(None, None, compiled.sql, compiled.values(params), None, False)
        return run_read(compiled, engine, params)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", capture)
    run_read = reads.Compiled.run
    monkeypatch.setattr(reads.Compiled, "run", run)
    try:
        # Another browser: no commenter key, so both "is this a known commenter?" lookups run.
        assert Reader(app.test_client(), key, ip="198.51.100.4").post(text="A newcomer says hello.").status_code == 201
    finally:
        event.remove(engine, "before_cursor_execute", capture)
        monkeypatch.undo()
    return seen


def _plan(app, statement: str, parameters: tuple) -> list[str]:
    with app.app_context():
        rows = db.session.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
        db.session.rollback()
    return [row[-1] for row in rows]


@pytest.mark.parametrize("mode", [Mode.AUTO, Mode.FIRST_TIME])
def test_a_new_commenters_post_reads_no_site_wide_range_of_comments(sqlite_app, mode, monkeypatch):
    statements = _statements_of_a_post(sqlite_app, mode, monkeypatch)
    assert any("comment.commenter_hash = ?" in statement for statement, _ in statements)
    for statement, parameters in statements:
        plan = _plan(sqlite_app, statement, parameters)
        assert not [line for line in plan if any(bad in line for bad in SITE_WIDE)], (statement, plan)


def test_the_known_commenter_lookup_uses_the_commenter_index(sqlite_app, monkeypatch):
    statements = _statements_of_a_post(sqlite_app, Mode.FIRST_TIME, monkeypatch)
    lookups = [(s, p) for s, p in statements if "comment.commenter_hash = ?" in s]
    assert len(lookups) == 2  # the rule of first-time mode and the spam filter
    for statement, parameters in lookups:
        plan = _plan(sqlite_app, statement, parameters)
        assert any("ix_comment_site_commenter_status" in line for line in plan), (statement, plan)


def _driver_plan(connection, statement, **values) -> list[str]:
    """The database's plan of a Core ``statement`` with these bound values."""
    compiled = statement.compile(connection)
    params = compiled.construct_params(values)
    if connection.dialect.name == "postgresql":
        return [row[0] for row in connection.exec_driver_sql("EXPLAIN " + str(compiled), params).all()]
    positional = tuple(params[name] for name in compiled.positiontup or ())
    return [row[-1] for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + str(compiled), positional).all()]


def test_a_threads_latest_comments_are_read_newest_first_without_a_sort(app):
    """The spam filter's page context: the last few published comments, not all of them sorted."""
    with app.app_context():
        connection = db.session.connection()
        if connection.dialect.name == "postgresql":
            # A table of a few rows is read whole whatever its indexes: ask
            # for the plan the indexes allow.
            connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        plan = _driver_plan(connection, spam_filter.LOOKUP, site=1, thread=1, exclude=0, features="[]",
                            commenter_hash="")
        db.session.rollback()
    assert plan
    assert not [line for line in plan if "Sort" in line or "TEMP B-TREE" in line], plan


def test_the_spam_filter_finds_the_counts_it_asks_for_by_feature(app):
    """A trained site has tens of thousands of counts: the lookup must not read them all."""
    site_id = add_site_with_counts(app, 3000)
    with app.app_context():
        connection = db.session.connection()
        connection.exec_driver_sql("ANALYZE")  # the plan a trained site gets, with its statistics
        plan = _driver_plan(connection, spam_filter.LOOKUP, site=site_id, thread=1, exclude=0,
                            features='["w:1", "w:2", "w:absent"]', commenter_hash="")
        db.session.rollback()
    counts = [line for line in plan if "spam_count" in line]
    assert counts, plan
    if "SEARCH" in counts[0]:  # SQLite
        assert all("feature=?" in line for line in counts), plan
    else:
        index_conditions = [line for line in plan if "Index Cond" in line and "feature" in line]
        assert index_conditions, "\n".join(plan)


def add_site_with_counts(app, how_many: int) -> int:
    """A site whose filter learnt ``how_many`` features; its id."""
    add_site(app, "trained")
    with app.app_context():
        site_id = db.session.scalars(sa.select(Site.id).where(Site.key == "trained")).one()
        db.session.execute(sa.insert(SpamCount), [{"site_id": site_id, "feature": f"w:{number}", "spam": 1, "ham": 1}
                                                  for number in range(how_many)])
        db.session.commit()
    return site_id
