"""Migrations build, from an empty database, exactly the schema the models describe."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from service import create_app
from service.extensions import db, init_migrations


@pytest.fixture
def empty_app(empty_database_url, tmp_path):
    app = create_app({"SQLALCHEMY_DATABASE_URI": empty_database_url, "SQLALCHEMY_ENGINE_OPTIONS": {},
                      "SECRET_KEY": "test", "TESTING": True})
    app.instance_path = str(tmp_path)
    init_migrations(app)
    yield app
    with app.app_context():
        for engine in db.engines.values():
            engine.dispose()


def schema_differences(app):
    with app.app_context(), db.engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn, opts={"render_as_batch": True}), db.metadata)


def test_upgrade_from_empty_matches_the_models(empty_app):
    with empty_app.app_context():
        upgrade()
    assert schema_differences(empty_app) == []


def test_upgrade_is_idempotent(empty_app):
    with empty_app.app_context():
        upgrade()
        upgrade()
    assert schema_differences(empty_app) == []


def test_downgrade_to_base_removes_every_table(empty_app):
    with empty_app.app_context():
        upgrade()
        downgrade(revision="base")
        names = set(db.inspect(db.engine).get_table_names()) - {"alembic_version"}
    assert names == set()


def test_subscriptions_made_before_confirmation_existed_stay_on(empty_app):
    rows = ("INSERT INTO site (id, key, name, origins, mode, banned_words, suspect_words, max_links, "
            "report_threshold, notify_emails, digest, created_at) VALUES (1, 'blog', 'Blog', '[]', 'post', '[]', "
            "'[]', 2, 3, '[]', 'instant', '2026-01-01 00:00:00')",
            "INSERT INTO thread (id, site_id, url, locked, version, created_at) "
            "VALUES (1, 1, 'https://blog.example/post', false, 1, '2026-01-01 00:00:00')",
            "INSERT INTO comment (id, site_id, thread_id, author, email, text, html, status, reasons, created_at, "
            "edited_by_staff, staff, pinned, notify) VALUES "
            "(1, 1, 1, 'A', 'a@example.org', 'x', 'x', 'approved', '[]', '2026-02-03 04:05:06', "
            "false, false, false, true), "
            "(2, 1, 1, 'B', 'b@example.org', 'y', 'y', 'approved', '[]', '2026-02-03 04:05:07', "
            "false, false, false, false)")
    with empty_app.app_context():
        upgrade(revision="921f40b24982")
        with db.engine.begin() as conn:
            for row in rows:
                conn.exec_driver_sql(row)
        upgrade()
        with db.engine.connect() as conn:
            confirmed = conn.exec_driver_sql("SELECT id, notify_confirmed_at FROM comment ORDER BY id").all()
    assert [(id_, str(at)[:19] if at else None) for id_, at in confirmed] == [(1, "2026-02-03 04:05:06"), (2, None)]


def test_spam_filter_migration_keeps_comments_and_existing_sites_modes(empty_app):
    rows = ("INSERT INTO site (id, key, name, origins, mode, banned_words, suspect_words, max_links, "
            "report_threshold, notify_emails, digest, language, created_at) VALUES (1, 'blog', 'Blog', '[]', "
            "'first-time', '[]', '[]', 2, 3, '[]', 'instant', 'en', '2026-01-01 00:00:00')",
            "INSERT INTO thread (id, site_id, url, locked, version, created_at) "
            "VALUES (1, 1, 'https://blog.example/post', false, 1, '2026-01-01 00:00:00')",
            "INSERT INTO comment (id, site_id, thread_id, author, text, html, status, reasons, created_at, "
            "edited_by_staff, staff, pinned, notify) VALUES (1, 1, 1, 'A', 'x', 'x', 'approved', '[]', "
            "'2026-02-03 04:05:06', false, false, false, false)")
    with empty_app.app_context():
        upgrade(revision="afd608200c73")
        with db.engine.begin() as conn:
            for row in rows:
                conn.exec_driver_sql(row)
        upgrade()
        with db.engine.connect() as conn:
            site = conn.exec_driver_sql("SELECT mode, spam_trust_first_time FROM site").one()
            comments = conn.exec_driver_sql("SELECT id, spam_score FROM comment").all()
    assert (site[0], bool(site[1])) == ("first-time", False)
    assert [tuple(row) for row in comments] == [(1, None)]
