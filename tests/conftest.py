"""Shared fixtures: an app on a real database per test, a client, a site.

Every test runs on a fresh SQLite file in ``tmp_path``.  When
``CAUSERIE_TEST_DATABASE_URL`` names a PostgreSQL server, every database
test runs a second time there, in a schema of its own that is dropped after.

The suite never reads the developer's own ``CAUSERIE_*`` settings: they are
removed when the run starts (only the variables that steer the test run
itself are kept), and a test that needs a variable sets it with
``monkeypatch``.
"""

from __future__ import annotations

import os
import shutil
import uuid
from contextlib import contextmanager

import jinja2
import pytest
import sqlalchemy as sa
from werkzeug.routing import Rule

from service import create_app
from service.extensions import db
from service.models import Site

# The variables that steer the test run itself, not the service under test.
TEST_RUN_VARIABLES = ("CAUSERIE_TEST_", "CAUSERIE_REQUIRE_SERVICES", "CAUSERIE_CHROMIUM")
TEST_SECRET_KEY = "test-secret"


def pytest_configure(config):
    """Run on the suite's settings only, whatever the developer's shell exports."""
    for name in list(os.environ):
        if name.startswith("CAUSERIE_") and not name.startswith(TEST_RUN_VARIABLES):
            del os.environ[name]
    # Every app of the run signs with the test key, so none writes a generated
    # key file into the checkout's instance folder.
    os.environ["CAUSERIE_SECRET_KEY"] = TEST_SECRET_KEY


def _share_url_builders() -> None:
    """Every app made for a test compiles the same URL rules: compile each
    rule's URL builder once per test process rather than once per app.

    Werkzeug turns every rule into Python code (an AST, then compile()),
    twice, for each app: two thirds of create_app's time, ~14 ms a test.  The
    builder is a plain function of the rule's text and parsed parts, bound to
    each rule afterwards, so one compiled for an equal rule is the same code.
    Rules with defaults (which werkzeug folds in with the rule's own
    converters) are compiled as before.  Should werkzeug drop this private
    method, nothing is shared and each app compiles its own again.
    """
    compile_builder = getattr(Rule, "_compile_builder", None)
    if compile_builder is None or getattr(compile_builder, "shared", False):
        return
    compiled: dict[tuple, object] = {}

    def shared(self, append_unknown=True):
        if self.defaults:
            return compile_builder(self, append_unknown)
        key = (self.rule, tuple(self._trace), append_unknown)
        if key not in compiled:
            compiled[key] = compile_builder(self, append_unknown)
        return compiled[key]

    shared.shared = True
    Rule._compile_builder = shared  # noqa: SLF001 - see above


_share_url_builders()

ORIGIN = "https://blog.example"
PG_URL = os.environ.get("CAUSERIE_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("CAUSERIE_TEST_REDIS_URL")

BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])
# Moderation fixtures (signed-in moderators, sites, comments) for any test module.
pytest_plugins = ["tests.moderation_helpers"]


def _pg_schema_url(schema: str) -> str:
    # Commits in the tests need not wait for the server's disk: synchronous_commit
    # only decides what survives a crash of PostgreSQL itself, never what another
    # connection sees, and each commit waiting for fsync cost ~15 ms.  search_path
    # stays last: test_scaleout reads the schema from the end of the options.
    options = f"-csynchronous_commit=off -csearch_path={schema}"
    url = sa.engine.make_url(PG_URL).update_query_dict({"options": options})
    return url.render_as_string(hide_password=False)


@contextmanager
def _pg_schema():
    """A PostgreSQL schema of one's own, dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield schema
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session")
def pg_tables():
    """One schema per test process with the tables created once; each test
    empties it (far faster than creating the tables for every test)."""
    with _pg_schema() as schema:
        url = _pg_schema_url(schema)
        engine = sa.create_engine(url)
        db.metadata.create_all(engine)
        yield url, engine, _emptying_script(engine)
        engine.dispose()


def _emptying_script(engine) -> str:
    """The statements that bring the schema back to just created: every row
    deleted, children before parents, and every sequence back at 1.

    DELETE rather than TRUNCATE: on tables holding a handful of rows, TRUNCATE
    (new files for each table and its indexes) cost ~60 ms a test, DELETE ~2 ms.
    The result is the same: empty tables, ids starting again from 1.
    """
    with engine.connect() as conn:
        sequences = conn.scalars(sa.text(
            "SELECT sequence_name FROM information_schema.sequences WHERE sequence_schema = current_schema()")).all()
    deletes = [str(table.delete().compile(engine)) for table in reversed(db.metadata.sorted_tables)]
    quote = engine.dialect.identifier_preparer.quote
    restarts = [f"ALTER SEQUENCE {quote(name)} RESTART" for name in sequences]
    return "; ".join(deletes + restarts)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    """A SQLite file with the tables created, made once per test process:
    each test gets a copy (create_all for every test cost ~12 ms)."""
    path = tmp_path_factory.mktemp("template") / "causerie.db"
    engine = sa.create_engine(f"sqlite:///{path}")
    db.metadata.create_all(engine)
    with engine.connect() as connection:
        # Everything into the file itself (the service opens SQLite in WAL mode):
        # only the file is copied.
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path):
    """A database of one's own with the tables created: a fresh SQLite file,
    or the process's PostgreSQL schema emptied for this test."""
    if request.param == "sqlite":
        path = tmp_path / "causerie.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url, engine, emptying = request.getfixturevalue("pg_tables")
    with engine.begin() as conn:
        conn.exec_driver_sql(emptying)
    return url


@pytest.fixture(params=BACKENDS)
def empty_database_url(request, tmp_path):
    """A database with nothing in it, not even tables: for migration tests."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    with _pg_schema() as schema:
        yield _pg_schema_url(schema)


class _CompiledTemplates(jinja2.BytecodeCache):
    """Templates compiled once per test process and shared by every app made
    for a test (compiling the moderation pages cost each test tens of ms).

    Jinja checks each entry against its template's source, so an edited or
    different template is compiled afresh; every app has the same Jinja setup
    (create_app's), so the code compiled for one is the code of another.
    """

    def __init__(self):
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket):
        if bucket.key in self._code:
            bucket.bytecode_from_string(self._code[bucket.key])

    def dump_bytecode(self, bucket):
        self._code[bucket.key] = bucket.bytecode_to_string()


_COMPILED_TEMPLATES = _CompiledTemplates()


def make_app(database_url, tmp_path, *, create_tables=True, **overrides):
    """An app with test-friendly settings; rate limits high unless a test lowers them.
    ``create_tables=False`` leaves the database as it is (for one migrated by ``causerie init``)."""
    settings = {
        "TESTING": True,
        "SECRET_KEY": TEST_SECRET_KEY,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"timeout": 15}} if database_url.startswith("sqlite") else {},
        "RATELIMIT_STORAGE_URI": "memory://",
        "CAUSERIE_RATELIMIT_POST": "1000/minute",
        "CAUSERIE_RATELIMIT_SITE_POST": "1000/minute",
        "CAUSERIE_RATELIMIT_EDIT": "1000/minute",
        "CAUSERIE_RATELIMIT_REPORT": "1000/minute",
        "CAUSERIE_RATELIMIT_READ": "10000/minute",
        "CAUSERIE_RATELIMIT_LOGIN": "1000/minute",
        "CAUSERIE_MIN_SUBMIT_SECONDS": 0,
        "WTF_CSRF_ENABLED": True,
    }
    settings.update(overrides)
    app = create_app(settings)
    app.instance_path = str(tmp_path / "instance")
    app.jinja_env.bytecode_cache = _COMPILED_TEMPLATES
    if create_tables:
        with app.app_context():
            db.create_all()
    return app


@pytest.fixture
def app_settings():
    """Override in a test module to change settings for every test in it."""
    return {}


@pytest.fixture
def app(database_url, tmp_path, app_settings):
    """The application, with its schema created on a fresh database."""
    app = make_app(database_url, tmp_path, **app_settings)
    yield app
    with app.app_context():
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()


@pytest.fixture
def client(app):
    """A test client for the app."""
    return app.test_client()


@pytest.fixture
def ctx(app):
    """An application context, for tests that call plain functions."""
    with app.app_context():
        yield


@pytest.fixture
def site(app):
    """A published-immediately site whose pages live on ORIGIN."""
    return add_site(app, "blog", mode="post")


def add_site(app, key, origins=(ORIGIN,), **fields):
    """Create a site and return its key."""
    with app.app_context():
        db.session.add(Site(key=key, name=key.title(), origins=list(origins), **fields))
        db.session.commit()
    return key


class Reader:
    """A reader's browser talking to the API from the site's pages."""

    def __init__(self, client, site_key, origin=ORIGIN, ip="203.0.113.7"):
        self.client = client
        self.site = site_key
        self.origin = origin
        self.ip = ip
        # The commenter key this browser got with its first comment, sent with the next ones.
        self.commenter = None

    def _headers(self, token=None, **extra):
        headers = {"Origin": self.origin, **extra}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return headers

    def read(self, url=f"{ORIGIN}/post", **params):
        """GET the thread of ``url``."""
        return self.client.get("/api/threads", query_string={"site": self.site, "url": url, **params},
                               headers=self._headers(), environ_base={"REMOTE_ADDR": self.ip})

    def ticket(self):
        """A load-time ticket, as the widget gets it with the site's thread."""
        return self.read().headers["Causerie-Ticket"]

    def post(self, text="Bonjour à tous !", url=f"{ORIGIN}/post", **fields):
        """POST a comment with a valid ticket; fields override the defaults."""
        body = {"site": self.site, "url": url, "author": "Camille", "text": text, "ticket": self.ticket(),
                "commenter": self.commenter}
        body.update(fields)
        body = {k: v for k, v in body.items() if v is not None}
        response = self.client.post("/api/comments", json=body, headers=self._headers(),
                                    environ_base={"REMOTE_ADDR": self.ip})
        if response.status_code == 201:
            self.commenter = response.get_json()["commenter"]
        return response

    def patch(self, comment_id, token, **body):
        """PATCH own comment."""
        return self.client.patch(f"/api/comments/{comment_id}", json=body, headers=self._headers(token),
                                 environ_base={"REMOTE_ADDR": self.ip})

    def delete(self, comment_id, token):
        """DELETE own comment."""
        return self.client.delete(f"/api/comments/{comment_id}", headers=self._headers(token),
                                  environ_base={"REMOTE_ADDR": self.ip})

    def report(self, comment_id, reason="Insulting"):
        """Report a comment."""
        return self.client.post(f"/api/comments/{comment_id}/report", json={"reason": reason},
                                headers=self._headers(), environ_base={"REMOTE_ADDR": self.ip})


@pytest.fixture
def reader(client, site):
    """A reader of the ``blog`` site."""
    return Reader(client, site)
