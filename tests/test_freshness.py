"""Reads that leave the database alone, and still see every change (see service.freshness)."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from service import freshness, reads
from service.extensions import db

from .conftest import ORIGIN, PG_URL, Reader, add_site, make_app
from .servers import migrate, service_env

PAGE = f"{ORIGIN}/post"
# Far more than a notification takes; only a broken promise waits this long.
PATIENCE = 30

needs_postgres = pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL (CI provides it)")
on_postgres = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


def wait_for(condition, patience: float = PATIENCE):
    """Poll ``condition`` until it holds (returning its value) or patience runs out (None)."""
    deadline = time.monotonic() + patience
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.01)


@pytest.fixture
def lookups(monkeypatch):
    """The read path's queries for a site and its threads, counted."""
    asked = []
    run = reads.Read.rows

    def counted(self, **params):
        asked.append(params)
        return run(self, **params)

    monkeypatch.setattr(reads.Read, "rows", counted)
    return asked


def _source(app):
    with app.test_request_context():
        return freshness.source()


def _listening(app):
    """Wait until the app's listener (PostgreSQL) may be trusted, and has
    heard of every change committed so far; SQLite always may."""
    source = _source(app)
    if isinstance(source, freshness._DataVersion):  # noqa: SLF001 - only SQLite's looks are spaced out
        # It looks at data_version at most every SQLITE_CHECK seconds: a commit
        # made just after its last look would otherwise be seen (and the
        # knowledge forgotten) in the middle of the test.
        source.next_look = 0.0
    assert wait_for(lambda: source.generation() is not None), "the listener never started listening"
    if isinstance(source, freshness._Notified):  # noqa: SLF001 - only the listener has notifications to wait for
        # A round trip that started after those commits: their
        # notifications have been applied (the listener's own promise).
        now = time.monotonic()
        assert wait_for(lambda: source.confirmed is not None and source.confirmed > now)
    return source


def _out_of_band(database_url, statement, **params):
    """A change made by another process: its own engine, raw SQL, no hook of this app."""
    engine = sa.create_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text(statement), params)
    finally:
        engine.dispose()


def _etag(reader, url=PAGE):
    return reader.read(url).headers["ETag"]


def test_repeated_reads_of_an_unchanged_thread_ask_the_database_once(app, reader, lookups):
    reader.post("Bonjour")
    _listening(app)
    first = reader.read()
    lookups.clear()
    for _ in range(5):
        assert reader.read().status_code == 200
        assert reader.client.get("/api/threads", query_string={"site": "blog", "url": PAGE},
                                 headers={"Origin": ORIGIN, "If-None-Match": first.headers["ETag"]}).status_code == 304
    assert len(lookups) <= 1


def test_counts_of_unchanged_threads_ask_the_database_once(app, reader, lookups):
    reader.post("Bonjour")
    _listening(app)
    lookups.clear()
    for _ in range(5):
        response = reader.client.get("/api/counts", query_string={"site": "blog", "url": PAGE},
                                     headers={"Origin": ORIGIN})
        assert response.get_json()["counts"] == {PAGE: 1}
    assert len(lookups) <= 1


def test_a_comment_posted_in_this_process_is_read_back_without_waiting_for_a_notification(
        app, reader, monkeypatch):
    # Notifications are not applied: only the process's own knowledge of its writes can help.
    monkeypatch.setattr(freshness._Notified, "notified", lambda self, payload: None)  # noqa: SLF001
    _listening(app)
    assert reader.read().get_json()["comments"] == []
    for number in range(3):
        assert reader.post(f"message {number}").status_code == 201
        assert len(reader.read().get_json()["comments"]) == number + 1


def test_a_version_advanced_by_another_process_is_seen(app, reader, database_url):
    reader.post("Bonjour")
    _listening(app)
    before = _etag(reader)
    _out_of_band(database_url, "UPDATE thread SET version = version + 1")
    assert wait_for(lambda: _etag(reader) != before)


@on_postgres
def test_a_burst_of_changes_is_applied_together_after_the_first_wakes_the_listener(
        app, reader, database_url, monkeypatch):
    reader.post("Bonjour")
    source = _listening(app)
    monkeypatch.setattr(freshness, "GATHER", 1.0)  # far longer than three commits take
    applied = []
    notified = source.notified
    monkeypatch.setattr(source, "notified", lambda payload: applied.append(time.monotonic()) or notified(payload))
    for _ in range(3):
        _out_of_band(database_url, "UPDATE thread SET version = version + 1")
    last_commit = time.monotonic()
    assert wait_for(lambda: len(applied) >= 3)
    assert min(applied) > last_commit


def test_a_comment_approved_by_another_process_is_served(app, reader, database_url):
    reader.post("Bonjour")
    assert len(reader.read().get_json()["comments"]) == 1
    _listening(app)
    _out_of_band(database_url, "UPDATE comment SET status = 'pending'")
    _out_of_band(database_url, "UPDATE thread SET version = version + 1")
    assert wait_for(lambda: reader.read().get_json()["comments"] == [])


def test_a_thread_created_by_another_process_after_its_page_was_read_is_seen(app, site, database_url, tmp_path):
    other = make_app(database_url, tmp_path / "other")
    writer = Reader(other.test_client(), site)
    reader = Reader(app.test_client(), site)
    try:
        _listening(app)
        assert reader.read().get_json()["thread"]["id"] is None
        assert writer.post("Premier !").status_code == 201
        assert wait_for(lambda: reader.read().get_json()["thread"]["id"] is not None)
        assert wait_for(lambda: len(reader.read().get_json()["comments"]) == 1)
    finally:
        with other.app_context():
            for engine in db.engines.values():
                engine.dispose()


def test_a_sites_origins_changed_by_another_process_are_seen(app, reader, database_url):
    reader.post("Bonjour")
    _listening(app)
    assert reader.read().status_code == 200
    _out_of_band(database_url, "UPDATE site SET origins = :origins", origins='["https://elsewhere.example"]')
    assert wait_for(lambda: reader.read().status_code == 403)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_new_read_connection_on_sqlite_starts_by_forgetting(app, reader, lookups, monkeypatch):
    monkeypatch.setattr(freshness, "SQLITE_CHECK", 0)  # look at data_version on every read
    reader.post("Bonjour")
    _listening(app)
    reader.read()
    with app.app_context():
        db.engines["reads"].dispose()
    lookups.clear()
    reader.read()
    assert len(lookups) == 1


on_sqlite = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@on_sqlite
def test_sqlite_is_asked_whether_anything_changed_at_most_once_per_interval(app, reader, monkeypatch):
    monkeypatch.setattr(freshness, "SQLITE_CHECK", 3600)
    looks = []
    changed = reads.data_changed
    monkeypatch.setattr(reads, "data_changed", lambda engine: looks.append(engine) or changed(engine))
    for _ in range(5):
        reader.read()
    assert len(looks) == 1


@on_sqlite
def test_on_sqlite_a_comment_posted_in_this_process_is_read_back_before_the_next_look(app, reader, monkeypatch):
    monkeypatch.setattr(freshness, "SQLITE_CHECK", 3600)
    assert reader.read().get_json()["comments"] == []
    for number in range(3):
        assert reader.post(f"message {number}").status_code == 201
        assert len(reader.read().get_json()["comments"]) == number + 1


@on_sqlite
def test_on_sqlite_a_change_by_another_process_is_seen_at_the_next_look(app, reader, database_url, monkeypatch):
    monkeypatch.setattr(freshness, "SQLITE_CHECK", 3600)
    reader.post("Bonjour")
    before = _etag(reader)  # the first read looks, and the next look is an hour away
    _out_of_band(database_url, "UPDATE thread SET version = version + 1")
    assert _etag(reader) == before  # not looked yet: what was known is served
    _source(app).next_look = 0  # the interval is over
    assert _etag(reader) != before


def test_reads_of_an_in_memory_database_always_ask(tmp_path, lookups):
    app = make_app("sqlite://", tmp_path)
    add_site(app, "blog", mode="post")
    reader = Reader(app.test_client(), "blog")
    try:
        reader.post("Bonjour")
        lookups.clear()
        reader.read()
        reader.read()
        assert len(lookups) == 2
    finally:
        with app.app_context():
            db.engine.dispose()


def test_an_answer_older_than_what_was_forgotten_is_not_kept():
    knowledge = freshness.Knowledge()
    started = knowledge.generation
    knowledge.forget()  # a notification arrived while the read was asking
    knowledge.keep(started, "key", [(1, 7)], 0, 1)
    assert knowledge.lookup("key", 0, 1) is None


def test_a_thread_version_never_goes_back_to_an_older_answer():
    knowledge = freshness.Knowledge()
    knowledge.heard(1, 8)  # notified while a read was asking, before it kept its answer
    knowledge.keep(knowledge.generation, "key", [(1, 7)], 0, 1)
    assert knowledge.lookup("key", 0, 1) == [(1, 8)]


# ------------------------------------------------------------ PostgreSQL's listener

def _terminate(app, pid):
    with app.app_context(), db.engine.connect() as admin:
        assert admin.scalar(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})


@needs_postgres
@on_postgres
def test_with_its_listener_killed_a_process_asks_the_database_then_listens_again_and_forgets(
        app, reader, database_url, lookups, monkeypatch):
    # Slow to reconnect, so that the test sees the process without a listener.
    monkeypatch.setattr(freshness, "RECONNECT", 2.0)
    reader.post("Bonjour")
    source = _listening(app)
    before = _etag(reader)
    listening_as = source.listener.backend_pid()
    _terminate(app, listening_as)
    assert wait_for(lambda: source.generation() is None, patience=10), "the killed listener went unnoticed"

    # Meanwhile every read asks the database ...
    lookups.clear()
    reader.read()
    reader.read()
    assert len(lookups) == 2
    # ... and a change made while nobody listened is never announced.
    _out_of_band(database_url, "UPDATE thread SET version = version + 1")

    assert wait_for(lambda: source.generation() is not None), "the listener did not listen again"
    assert source.listener.backend_pid() != listening_as
    # What was known before may have changed unheard: it was forgotten.
    assert _etag(reader) != before
    lookups.clear()
    reader.read()
    assert len(lookups) == 0


@needs_postgres
@on_postgres
def test_a_database_without_the_change_triggers_is_asked_on_every_read(app, reader, lookups, monkeypatch):
    monkeypatch.setattr(freshness, "RECONNECT", 0.05)
    with app.app_context(), db.engine.begin() as connection:
        connection.exec_driver_sql("DROP TRIGGER causerie_thread_changed ON thread")
    try:
        reader.post("Bonjour")
        source = _source(app)
        time.sleep(0.5)  # several attempts to listen, each refused
        assert source.generation() is None
        lookups.clear()
        reader.read()
        reader.read()
        assert len(lookups) == 2
    finally:
        with app.app_context(), db.engine.begin() as connection:
            connection.exec_driver_sql(freshness.TRIGGERS[2])


@needs_postgres
@on_postgres
def test_disposing_of_the_apps_engine_ends_its_listener(database_url, tmp_path):
    app = make_app(database_url, tmp_path)
    add_site(app, "blog", mode="post")
    Reader(app.test_client(), "blog").read()
    listener = _listening(app).listener
    with app.app_context():
        db.engine.dispose()
    listener.join(timeout=PATIENCE)
    assert not listener.is_alive()



@needs_postgres
@pytest.mark.parametrize("empty_database_url", ["postgresql"], indirect=True)
def test_causerie_init_gives_a_database_the_change_triggers(empty_database_url, tmp_path):
    migrate(service_env(empty_database_url, tmp_path / "instance"))
    engine = sa.create_engine(empty_database_url)
    try:
        with engine.connect() as connection:
            names = set(connection.scalars(sa.text(
                "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
                " AND tgrelid IN (to_regclass('thread'), to_regclass('site'))")))
    finally:
        engine.dispose()
    assert names == {"causerie_thread_changed", "causerie_thread_truncated", "causerie_site_changed",
                     "causerie_site_truncated"}


def test_a_thread_read_by_its_key_sees_a_version_advanced_by_another_process(app, reader, database_url):
    assert reader.post("Bonjour", thread="article-1").status_code == 201
    _listening(app)
    before = reader.read(thread="article-1").headers["ETag"]
    assert reader.read(thread="article-1").headers["ETag"] == before
    _out_of_band(database_url, "UPDATE thread SET version = version + 1 WHERE key = 'article-1'")
    assert wait_for(lambda: reader.read(thread="article-1").headers["ETag"] != before)
