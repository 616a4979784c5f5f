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
