"""``causerie doctor``: each check says OK or FAIL and what to do; the exit status says whether all passed."""

from __future__ import annotations

import threading
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from service import create_app, doctor
from service.doctor_probe import fingerprint
from tests.conftest import PG_URL, make_app
from tests.notify_servers import SMTPServer
from tests.servers import free_port

KEY = "k" * 40
needs_postgres = pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL (CI provides it)")


@pytest.fixture(autouse=True)
def configured_key(monkeypatch):
    monkeypatch.setenv("CAUSERIE_SECRET_KEY", KEY)


@pytest.fixture
def app_settings():
    return {"SECRET_KEY": KEY}


def lines(app, check) -> list[doctor.Check]:
    with app.app_context():
        return check()


def test_doctor_fails_without_a_secret_key_in_the_environment(app, monkeypatch):
    monkeypatch.delenv("CAUSERIE_SECRET_KEY")
    [line] = lines(app, doctor.secret_key)
    assert not line.ok and "Set CAUSERIE_SECRET_KEY" in str(line) and str(line).startswith("FAIL")


def test_doctor_fails_on_a_short_secret_key(app, monkeypatch):
    monkeypatch.setenv("CAUSERIE_SECRET_KEY", "short")
    assert not lines(app, doctor.secret_key)[0].ok


def test_doctor_shows_the_keys_fingerprint_to_compare_instances(app):
    [line] = lines(app, doctor.secret_key)
    assert line.ok and fingerprint(KEY) in line.message and KEY not in line.message


def test_doctor_fails_on_an_unreachable_database(tmp_path):
    url = f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/causerie"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": KEY,
                      "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"connect_timeout": 3}}})
    [line] = lines(app, doctor.database)
    assert not line.ok and "does not answer" in line.message and "CAUSERIE_DATABASE_URL" in line.message


def test_doctor_says_to_run_init_when_the_database_is_not_migrated(app):
    [line] = lines(app, doctor.database)
    assert not line.ok and "causerie init" in line.message


def test_doctor_passes_a_database_migrated_to_head(empty_database_url, tmp_path):
    app = make_app(empty_database_url, tmp_path / "app", SECRET_KEY=KEY)
    with app.app_context():
        from service.extensions import db

        db.drop_all()
    assert app.test_cli_runner().invoke(args=["init"]).exit_code == 0
    [line] = lines(app, doctor.database)
    assert line.ok, line


def _comments_unseen_by_the_planner(app, count: int) -> None:
    """``count`` comments inserted in one statement, their numbers flushed to
    PostgreSQL's statistics at once (they are otherwise sent within a second)."""
    with app.app_context():
        from service.extensions import db
        from service.models import Site, Thread

        site = Site(key="stats", name="Stats", origins=["https://example.org"])
        db.session.add(site)
        db.session.flush()
        thread = Thread(site_id=site.id, url="https://example.org/p")
        db.session.add(thread)
        db.session.flush()
        db.session.execute(sa.text(
            "INSERT INTO comment (site_id, thread_id, author, text, html, text_hash, status, reasons, created_at, "
            "edited_by_staff, staff, pinned, notify, follow)"
            " SELECT :site, :thread, 'A', 'x', '<p>x</p>', 'h', 'approved', '[]', now(), false, false, false, false,"
            " false FROM generate_series(1, :count)"), {"site": site.id, "thread": thread.id, "count": count})
        db.session.commit()
        db.session.execute(sa.text("SELECT pg_stat_force_next_flush()"))
        db.session.commit()


@needs_postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_doctor_fails_when_the_planner_has_not_seen_most_of_the_comments(app):
    _comments_unseen_by_the_planner(app, doctor.STALE_STATISTICS + 500)
    [line] = lines(app, doctor.database_statistics)
    assert not line.ok and "vacuumdb --analyze-only" in line.message


@needs_postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_doctor_passes_statistics_gathered_since_the_comments_came(app):
    _comments_unseen_by_the_planner(app, doctor.STALE_STATISTICS + 500)
    with app.app_context():
        from service.extensions import db

        with db.engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(sa.text("ANALYZE comment"))
    [line] = lines(app, doctor.database_statistics)
    assert line.ok, line


def test_doctor_has_nothing_to_say_of_sqlite_statistics(tmp_path):
    app = make_app(f"sqlite:///{tmp_path / 'c.db'}", tmp_path / "app", SECRET_KEY=KEY)
    assert lines(app, doctor.database_statistics) == []


@pytest.mark.parametrize("app_settings", [{"SECRET_KEY": KEY, "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:1/0"}])
def test_doctor_fails_when_redis_does_not_answer(app):
    [line] = lines(app, doctor.rate_limit_storage)
    assert not line.ok and "does not answer" in line.message


def test_doctor_checks_the_smtp_login(app):
    server = SMTPServer()
    server.start()
    try:
        app.config["CAUSERIE_SMTP_URL"] = server.url
        assert lines(app, doctor.smtp)[0].ok
        # The test server offers no login: a URL with a user must fail.
        app.config["CAUSERIE_SMTP_URL"] = server.url.replace("smtp://", "smtp://user:secret@")
        [line] = lines(app, doctor.smtp)
        assert not line.ok and "CAUSERIE_SMTP_URL" in line.message and "secret" not in line.message
    finally:
        server.stop()


class FakeProxy:
    """Adds one X-Forwarded-For hop, as a reverse proxy in front would."""

    def __init__(self, app, hops: int):
        self.app = app
        self.hops = hops

    def __call__(self, environ, start_response):
        if self.hops:
            environ["HTTP_X_FORWARDED_FOR"] = ", ".join(["198.51.100.7"] * self.hops)
        return self.app(environ, start_response)


@contextmanager
def serving(wsgi):
    server = make_server("127.0.0.1", 0, wsgi, threaded=True)
    # shutdown() waits for the loop's next look, every poll_interval (half a second by default).
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


def probe(database_url, tmp_path, hops: int, trusted: int, served_key: str = KEY) -> list[doctor.Check]:
    served = make_app(database_url, tmp_path / "served", SECRET_KEY=served_key, CAUSERIE_TRUSTED_PROXIES=trusted)
    with serving(FakeProxy(served, hops)) as url:
        asking = make_app(database_url, tmp_path / "asking", SECRET_KEY=KEY, CAUSERIE_PUBLIC_URL=url)
        return lines(asking, doctor.public_url)


@pytest.mark.parametrize(("hops", "trusted"), [(0, 0), (1, 1), (2, 2)])
def test_doctor_passes_trusted_proxies_matching_the_proxies_in_front(database_url, tmp_path, hops, trusted):
    answered, proxies = probe(database_url, tmp_path, hops, trusted)
    assert answered.ok and proxies.ok, proxies


def test_doctor_fails_when_a_proxy_in_front_is_not_trusted(database_url, tmp_path):
    proxies = probe(database_url, tmp_path, hops=1, trusted=0)[1]
    assert not proxies.ok and "Set CAUSERIE_TRUSTED_PROXIES=1" in proxies.message


def test_doctor_fails_when_more_proxies_are_trusted_than_are_in_front(database_url, tmp_path):
    proxies = probe(database_url, tmp_path, hops=0, trusted=1)[1]
    assert not proxies.ok and "choose its address" in proxies.message


def test_doctor_tells_when_the_public_service_has_another_secret_key(database_url, tmp_path):
    answered, keys = probe(database_url, tmp_path, hops=0, trusted=0, served_key="another-key-" * 4)
    assert answered.ok and not keys.ok and "same CAUSERIE_SECRET_KEY" in keys.message


def test_doctor_fails_when_the_public_url_does_not_answer(app):
    app.config["CAUSERIE_PUBLIC_URL"] = f"http://127.0.0.1:{free_port()}"
    [line] = lines(app, doctor.public_url)
    assert not line.ok and "CAUSERIE_PUBLIC_URL" in line.message


def test_doctor_command_exits_non_zero_and_prints_a_line_per_check(app, monkeypatch):
    monkeypatch.delenv("CAUSERIE_SECRET_KEY")
    app.config["CAUSERIE_PUBLIC_URL"] = f"http://127.0.0.1:{free_port()}"
    result = app.test_cli_runner().invoke(args=["doctor"])
    assert result.exit_code == 1
    printed = [line for line in result.output.splitlines() if line.startswith(("OK", "FAIL"))]
    # Secret key, database (and on PostgreSQL its statistics), rate limits, email, public URL.
    on_postgres = app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")
    assert len(printed) == (6 if on_postgres else 5)
    assert printed[0].startswith("FAIL  secret key")
