"""The pooled PostgreSQL connections: the session's pinged before use only after sitting
idle, the read path's planning each prepared statement once."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from service import extensions, reads
from service.extensions import db

from .conftest import PG_URL

pytestmark = [pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL (CI provides it)"),
              pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)]


@pytest.fixture
def pings(app, monkeypatch):
    """The pings of the session's engine, counted."""
    seen = []
    with app.app_context():
        dialect = db.engine.dialect
    ping = dialect.do_ping

    def counted(dbapi_connection):
        seen.append(dbapi_connection)
        return ping(dbapi_connection)

    monkeypatch.setattr(dialect, "do_ping", counted)
    return seen


def _one_pooled_connection(app) -> int:
    """Leave exactly one connection in the session's pool; its server pid."""
    with app.app_context():
        db.engine.dispose()
        with db.engine.connect() as connection:
            return connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()


def _terminate(pid: int) -> None:
    """The server ends that connection, as a restart or an idle timeout would."""
    admin = sa.create_engine(PG_URL)
    try:
        with admin.connect() as connection:
            assert connection.scalar(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        admin.dispose()


def test_posts_one_after_another_are_not_preceded_by_pings(reader, pings):
    for number in range(3):
        assert reader.post(f"message {number}").status_code == 201
    assert pings == []


def test_a_connection_that_sat_idle_is_pinged_and_replaced_when_the_server_dropped_it(
        app, reader, pings, monkeypatch):
    monkeypatch.setattr(extensions, "PING_AFTER_IDLE", 0.0)  # every connection has sat idle long enough
    dropped = _one_pooled_connection(app)
    _terminate(dropped)
    assert reader.post("Bonjour").status_code == 201
    assert pings


def test_a_post_on_a_connection_the_server_dropped_a_moment_ago_is_503_and_the_next_one_is_stored(
        app, reader, pings):
    # The thread exists: the next posts write their rows alone (see comments._insert).
    assert reader.post("Premier").status_code == 201
    ticket = reader.ticket()  # read now: the post that follows is the first to need the connection
    # Served a moment ago, so not pinged (see extensions.ping_when_idle).
    dropped = _one_pooled_connection(app)
    _terminate(dropped)
    refused = reader.post("Perdu", ticket=ticket)
    assert refused.status_code == 503
    assert refused.get_json()["error"]["code"] == "unavailable"
    assert reader.post("Encore").status_code == 201  # the pool let the dead connection go
    shown = [comment["html"] for comment in reader.read().get_json()["comments"]]
    assert shown == ["<p>Premier</p>", "<p>Encore</p>"]


def _plans_made(app) -> tuple[int, int]:
    """(custom, generic) plans PostgreSQL made for the prepared statements of
    the read path's connection (the one the posts asked on)."""
    statements = sa.table("pg_prepared_statements", sa.column("custom_plans"), sa.column("generic_plans"))
    count = reads.Read(sa.select(sa.func.coalesce(sa.func.sum(statements.c.custom_plans), 0),
                                 sa.func.coalesce(sa.func.sum(statements.c.generic_plans), 0)))
    with app.app_context():
        (custom, generic), = count.rows()
    return int(custom), int(generic)


def test_the_posts_question_is_planned_once_not_at_every_post(app, reader):
    for number in range(12):  # psycopg prepares a statement on the server at its fifth run
        assert reader.post(f"message {number}").status_code == 201
    custom, generic = _plans_made(app)
    assert (custom, generic > 0) == (0, True)


def test_the_sessions_connections_keep_postgresqls_own_plan_choice(app):
    with app.app_context(), db.engine.connect() as connection:
        assert connection.exec_driver_sql("SHOW plan_cache_mode").scalar() == "auto"
