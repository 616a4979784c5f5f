"""The read path's own machinery: its engine and connections, its count cache, and rate limiting switched off."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from service import reads, threads
from service.cache import VersionCache
from service.extensions import READS, app_limiter, db
from service.models import Comment

from .conftest import ORIGIN, PG_URL, Reader, add_site, make_app

PAGE = f"{ORIGIN}/post"


def _counts(reader):
    response = reader.client.get("/api/counts", query_string={"site": "blog", "url": PAGE},
                                 headers={"Origin": ORIGIN})
    return response.get_json()["counts"][PAGE]


def _session_statements(app):
    """Statements run through the session's engine from now on."""
    seen = []
    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", lambda *args: seen.append(args[2]))
    return seen


def test_a_count_read_before_a_change_is_counted_again_after_it(app, reader):
    reader.post("one")
    reader.post("two")
    assert _counts(reader) == 2
    with app.app_context():
        db.session.scalars(sa.select(Comment)).first().status = "pending"
        db.session.commit()
    assert _counts(reader) == 1


def test_an_unchanged_thread_is_not_counted_again(app, reader):
    reader.post("one")
    assert _counts(reader) == 1
    statements = _session_statements(app)
    assert _counts(reader) == 1
    assert not [sql for sql in statements if "count(" in sql.lower()]


def _kept_connection(app):
    """The DBAPI connection the read path keeps between reads."""
    with app.app_context():
        return reads._SOURCES[db.engines[READS]].idle[-1]  # noqa: SLF001 - the pool the read path keeps


def test_reads_use_an_autocommit_engine_of_their_own(app, reader):
    assert reader.read().status_code == 200
    with app.app_context():
        engine = db.engines[READS]
        assert engine is not db.engine
        assert engine.url == db.engine.url
    driver = _kept_connection(app)
    # sqlite3 says autocommit with isolation_level None; psycopg with autocommit.
    assert driver.isolation_level is None if engine.dialect.name == "sqlite" else driver.autocommit


def test_reads_take_a_connection_from_the_pool_once_and_keep_it(app, reader):
    reader.post("Bonjour")
    checkouts = []
    with app.app_context():
        sa.event.listen(db.engines[READS], "checkout", lambda *args: checkouts.append(args))
    for _ in range(5):
        assert reader.read().status_code == 200
        assert _counts(reader) == 1
    assert len(checkouts) <= 1


def test_disposing_of_the_read_engine_closes_the_connections_it_kept(app, reader):
    assert reader.read().status_code == 200
    kept = _kept_connection(app)
    with app.app_context():
        engine = db.engines[READS]
        engine.dispose()
    with pytest.raises(engine.dialect.loaded_dbapi.Error):
        kept.cursor().execute("SELECT 1")
    assert reader.read().status_code == 200


@pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL (CI provides it)")
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_read_outlives_the_database_dropping_its_connections(app, reader):
    reader.post("Bonjour")
    assert reader.read().status_code == 200  # the read path now keeps a connection
    cursor = _kept_connection(app).cursor()
    cursor.execute("SELECT pg_backend_pid()")
    (pid,) = cursor.fetchone()
    cursor.close()
    with app.app_context(), db.engine.connect() as admin:
        assert admin.scalar(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    response = reader.read()
    assert response.status_code == 200
    assert [c["html"] for c in response.get_json()["comments"]] == ["<p>Bonjour</p>"]


@pytest.mark.parametrize("app_settings", [{"RATELIMIT_ENABLED": False}])
def test_with_rate_limiting_off_the_api_never_consults_the_limiter(app, reader, monkeypatch):
    def consulted(*args, **kwargs):
        raise AssertionError("flask-limiter was consulted")

    monkeypatch.setattr(app_limiter(app), "identify_request", consulted)
    assert reader.post("Bonjour").status_code == 201
    assert reader.read().status_code == 200
    assert _counts(reader) == 1


def test_an_in_memory_database_is_read_through_the_sessions_engine(tmp_path):
    app = make_app("sqlite://", tmp_path)
    add_site(app, "blog", mode="post")
    reader = Reader(app.test_client(), "blog")
    try:
        assert reader.post("Bonjour").status_code == 201
        assert [c["html"] for c in reader.read().get_json()["comments"]] == ["<p>Bonjour</p>"]
        assert _counts(reader) == 1
    finally:
        with app.app_context():
            db.engine.dispose()


def test_a_newer_version_of_a_thread_replaces_the_older_in_the_cache():
    cache = VersionCache(100, len)
    cache.put(1, 1, b"old body")
    cache.put(1, 2, b"new")
    assert cache.get(1, 1) is None
    assert cache.get(1, 2) == b"new"
    assert cache.used == 3


def test_the_body_cache_keeps_within_its_byte_budget_dropping_the_least_recently_read():
    cache = VersionCache(10, len)
    cache.put(1, 1, b"aaaa")
    cache.put(2, 1, b"bbbb")
    cache.get(1, 1)  # thread 1 is read again: thread 2 is now the oldest
    cache.put(3, 1, b"cccc")
    assert (cache.get(1, 1), cache.get(2, 1), cache.get(3, 1)) == (b"aaaa", None, b"cccc")
    assert cache.used == 8


def test_a_body_larger_than_the_whole_budget_is_not_kept():
    cache = VersionCache(10, len)
    cache.put(1, 1, b"small")
    cache.put(2, 1, b"x" * 11)
    assert cache.get(2, 1) is None
    assert cache.get(1, 1) == b"small"


def test_a_sites_origins_are_decoded_once_and_shared_between_reads(app, site):
    with app.app_context():
        first = threads.lookup("blog", PAGE).origins
        second = threads.lookup("blog", PAGE).origins
        counted, _ = threads.counts("blog", [PAGE])
        counted_again, _ = threads.counts("blog", [PAGE])
    assert first == counted == [ORIGIN]
    assert second is first
    assert counted_again is counted
