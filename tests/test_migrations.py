"""Migrations build, from an empty database, exactly the schema the models describe."""

import pytest
import sqlalchemy as sa
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


BEFORE_CHECKS = "c4f1e07a9b21"
SITE_ROW = ("INSERT INTO site (id, key, name, origins, mode, banned_words, suspect_words, max_links, "
            "report_threshold, notify_emails, digest, language, created_at, spam_trust_first_time) VALUES "
            "({id}, 'blog{id}', 'Blog', '[]', '{mode}', '[]', '[]', 2, 3, '[]', '{digest}', 'en', "
            "'2026-01-01 00:00:00', false)")
THREAD_ROW = ("INSERT INTO thread (id, site_id, url, locked, version, created_at) "
              "VALUES (1, 1, 'https://blog.example/post', false, 1, '2026-01-01 00:00:00')")
COMMENT_ROW = ("INSERT INTO comment (id, site_id, thread_id, parent_id, author, text, html, status, reasons, "
               "created_at, edited_by_staff, staff, pinned, notify, follow) VALUES ({id}, 1, 1, {parent}, 'A', 'x', "
               "'x', '{status}', '[]', '2026-02-03 04:05:06', false, false, false, false, false)")
REPORT_ROW = ("INSERT INTO report (id, comment_id, reason, created_at, resolved) "
              "VALUES (1, 2, 'rude', '2026-02-03 05:00:00', false)")


def _insert(app, *rows):
    with app.app_context(), db.engine.begin() as conn:
        for row in rows:
            conn.exec_driver_sql(row)


def _refused(app, row) -> bool:
    try:
        _insert(app, row)
    except sa.exc.IntegrityError:
        return True
    return False


def test_check_constraints_keep_every_valid_row_and_what_refers_to_it(empty_app):
    with empty_app.app_context():
        upgrade(revision=BEFORE_CHECKS)
    _insert(empty_app, SITE_ROW.format(id=1, mode="first-time", digest="daily"),
            SITE_ROW.format(id=2, mode="auto", digest="off"), THREAD_ROW,
            *(COMMENT_ROW.format(id=n, parent=1 if n > 1 else "NULL", status=status)
              for n, status in enumerate(("approved", "pending", "rejected", "spam", "deleted"), 1)),
            REPORT_ROW)
    with empty_app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            sites = conn.exec_driver_sql("SELECT id, mode, digest FROM site ORDER BY id").all()
            comments = conn.exec_driver_sql("SELECT id, parent_id, status FROM comment ORDER BY id").all()
            reports = conn.exec_driver_sql("SELECT comment_id FROM report").all()
            threads = conn.exec_driver_sql("SELECT id FROM thread").all()
    assert [tuple(s) for s in sites] == [(1, "first-time", "daily"), (2, "auto", "off")]
    assert [tuple(c) for c in comments] == [(1, None, "approved"), (2, 1, "pending"), (3, 1, "rejected"),
                                            (4, 1, "spam"), (5, 1, "deleted")]
    assert [tuple(r) for r in reports] == [(2,)] and [tuple(t) for t in threads] == [(1,)]
    assert schema_differences(empty_app) == []


@pytest.mark.parametrize("row", [
    SITE_ROW.format(id=3, mode="sometimes", digest="daily"),
    SITE_ROW.format(id=3, mode="post", digest="weekly"),
    COMMENT_ROW.format(id=9, parent="NULL", status="hidden"),
])
def test_the_database_refuses_an_unknown_status_mode_or_digest_once_migrated(empty_app, row):
    with empty_app.app_context():
        upgrade()
    _insert(empty_app, SITE_ROW.format(id=1, mode="post", digest="instant"), THREAD_ROW)
    assert _refused(empty_app, row)


def test_downgrading_removes_the_check_constraints_and_upgrading_restores_them(empty_app):
    unknown = COMMENT_ROW.format(id=9, parent="NULL", status="hidden")
    with empty_app.app_context():
        upgrade()
        downgrade(revision=BEFORE_CHECKS)
    _insert(empty_app, SITE_ROW.format(id=1, mode="post", digest="instant"), THREAD_ROW)
    assert not _refused(empty_app, unknown)
    _insert(empty_app, "DELETE FROM comment")
    with empty_app.app_context():
        upgrade()
    assert _refused(empty_app, unknown)
    assert schema_differences(empty_app) == []


def test_upgrading_over_an_unknown_status_names_the_rows_and_changes_nothing(empty_app, capsys):
    with empty_app.app_context():
        upgrade(revision=BEFORE_CHECKS)
    _insert(empty_app, SITE_ROW.format(id=1, mode="post", digest="instant"), THREAD_ROW,
            COMMENT_ROW.format(id=1, parent="NULL", status="hidden"))
    with empty_app.app_context():
        with pytest.raises(SystemExit):  # Flask-Migrate logs the error and exits
            upgrade()
        with db.engine.connect() as conn:
            version = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    said = capsys.readouterr().err
    assert "comment.status holds values other than" in said and "'hidden': 1" in said
    assert version == BEFORE_CHECKS
    assert not _refused(empty_app, COMMENT_ROW.format(id=2, parent="NULL", status="hidden"))


def test_migrating_sqlite_leaves_foreign_keys_enforced(empty_app):
    with empty_app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            enforced = conn.exec_driver_sql("PRAGMA foreign_keys").scalar() if conn.dialect.name == "sqlite" else 1
    assert enforced == 1
