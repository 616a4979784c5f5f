"""The session's pooled PostgreSQL connections: pinged before use only after sitting idle."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from service import extensions
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


def test_posts_one_after_another_are_not_preceded_by_pings(reader, pings):
    for number in range(3):
        assert reader.post(f"message {number}").status_code == 201
    assert pings == []


def test_a_connection_that_sat_idle_is_pinged_and_replaced_when_the_server_dropped_it(
        app, reader, pings, monkeypatch):
    monkeypatch.setattr(extensions, "PING_AFTER_IDLE", 0.0)  # every connection has sat idle long enough
    dropped = _one_pooled_connection(app)
    admin = sa.create_engine(PG_URL)
    try:
        with admin.connect() as connection:
            assert connection.scalar(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": dropped})
    finally:
        admin.dispose()
    assert reader.post("Bonjour").status_code == 201
    assert pings
