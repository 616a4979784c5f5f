"""The write path's statements on a raw connection: committed together, or not at all."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from service import writes
from service.extensions import db
from service.models import Site, utcnow

from .conftest import PG_URL

_SITES = Site.__table__
_NEW_SITE = writes.insert(_SITES, ("key", "name", "origins", "mode", "banned_words", "suspect_words", "max_links",
                                   "report_threshold", "spam_trust_first_time", "notify_emails", "digest",
                                   "language", "created_at"))


def _site(key: str) -> dict:
    return {"key": key, "name": key, "origins": [], "mode": "post", "banned_words": [], "suspect_words": [],
            "max_links": 3, "report_threshold": 3, "spam_trust_first_time": False, "notify_emails": [],
            "digest": "instant", "language": "en", "created_at": utcnow()}


def _keys(app) -> list[str]:
    with app.app_context():
        keys = list(db.session.scalars(sa.select(Site.key).order_by(Site.key)))
        db.session.rollback()
    return keys


def test_a_blocks_statements_are_committed_together(app):
    with app.app_context(), writes.transaction() as writer:
        writer.run(_NEW_SITE, **_site("one"))
        writer.run(_NEW_SITE, **_site("two"))
    assert _keys(app) == ["one", "two"]


def test_a_block_that_fails_stores_nothing(app):
    with app.app_context(), pytest.raises(RuntimeError), writes.transaction() as writer:
        writer.run(_NEW_SITE, **_site("one"))
        raise RuntimeError("the caller changed its mind")
    assert _keys(app) == []


def test_a_driver_error_comes_out_as_sqlalchemys_and_stores_nothing(app):
    with app.app_context(), pytest.raises(sa.exc.IntegrityError), writes.transaction() as writer:
        writer.run(_NEW_SITE, **_site("one"))
        writer.run(_NEW_SITE, **_site("one"))  # the key is unique
    assert _keys(app) == []


def test_json_values_are_written_as_the_column_type_says(app):
    with app.app_context(), writes.transaction() as writer:
        writer.run(_NEW_SITE, **{**_site("one"), "origins": ["https://blog.example", "https://«ici».example"]})
    with app.app_context():
        assert db.session.scalars(sa.select(Site.origins)).one() == ["https://blog.example",
                                                                    "https://«ici».example"]


@pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL (CI provides it)")
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_on_postgresql_a_single_statement_runs_outside_any_transaction(app):
    import psycopg

    with app.app_context():
        with writes.transaction(autocommit=True) as writer:
            writer.run(_NEW_SITE, **_site("one"))
            # Committed already: no BEGIN before it, no COMMIT to wait for.
            assert writer.connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        with db.engine.connect() as connection:
            # The pool has it back as the session expects it: in transactions.
            assert connection.connection.dbapi_connection.autocommit is False
    assert _keys(app) == ["one"]


def test_statements_joined_to_the_session_roll_back_with_it(app):
    with app.app_context():
        with writes.joined() as writer:
            writer.run(_NEW_SITE, **_site("one"))
        db.session.rollback()
    assert _keys(app) == []


def test_statements_joined_to_the_session_commit_with_its_own_rows(app):
    with app.app_context():
        db.session.add(Site(key="two", name="two", origins=[]))
        db.session.flush()
        with writes.joined() as writer:
            writer.run(_NEW_SITE, **_site("one"))
        db.session.commit()
    assert _keys(app) == ["one", "two"]
