"""Settings come from the environment, with safe defaults."""

import os
import stat

import pytest

import config

from .conftest import make_app
from .servers import returned, silent_server


@pytest.fixture
def clean_env(monkeypatch):
    for name in list(os.environ):
        if name.startswith("CAUSERIE_"):
            monkeypatch.delenv(name)
    return monkeypatch


def test_default_database_is_sqlite_in_the_instance_folder(clean_env, tmp_path):
    assert config.load(tmp_path)["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'causerie.db'}"


def test_secret_key_is_generated_once_and_kept(clean_env, tmp_path):
    first = config.load(tmp_path)["SECRET_KEY"]
    second = config.load(tmp_path)["SECRET_KEY"]
    assert first == second and len(first) > 40
    assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600


def test_a_worker_that_loses_the_race_for_the_key_file_uses_the_winners_key(clean_env, tmp_path, monkeypatch):
    generate = config.secrets.token_urlsafe

    def rival_writes_first(size):
        # Another gunicorn worker creates the file while this one generates its own key.
        (tmp_path / "secret_key").write_text("the-winners-key")
        return generate(size)

    monkeypatch.setattr(config.secrets, "token_urlsafe", rival_writes_first)
    assert config.load(tmp_path)["SECRET_KEY"] == "the-winners-key"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["secret_key"]


def test_an_empty_key_file_is_refused_rather_than_signing_with_an_empty_key(clean_env, tmp_path):
    (tmp_path / "secret_key").write_text("\n")
    with pytest.raises(RuntimeError, match="secret_key is empty"):
        config.load(tmp_path)


def test_secret_key_from_the_environment_wins(clean_env, tmp_path):
    clean_env.setenv("CAUSERIE_SECRET_KEY", "from-env")
    assert config.load(tmp_path)["SECRET_KEY"] == "from-env"
    assert not (tmp_path / "secret_key").exists()


def test_rate_limit_storage_defaults_to_memory(clean_env, tmp_path):
    assert config.load(tmp_path)["RATELIMIT_STORAGE_URI"] == "memory://"


def test_rate_limit_headers_are_off_unless_switched_on(clean_env, tmp_path):
    assert config.load(tmp_path)["RATELIMIT_HEADERS_ENABLED"] is False
    clean_env.setenv("CAUSERIE_RATELIMIT_HEADERS", "true")
    assert config.load(tmp_path)["RATELIMIT_HEADERS_ENABLED"] is True


def test_settings_are_read_from_the_environment(clean_env, tmp_path):
    clean_env.setenv("CAUSERIE_DATABASE_URL", "postgresql+psycopg://u@h/db")
    clean_env.setenv("CAUSERIE_EDIT_WINDOW", "60")
    clean_env.setenv("CAUSERIE_TRUSTED_PROXIES", "2")
    clean_env.setenv("CAUSERIE_MAX_REQUEST_SIZE", "1000")
    settings = config.load(tmp_path)
    assert settings["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@h/db"
    assert (settings["CAUSERIE_EDIT_WINDOW"], settings["CAUSERIE_TRUSTED_PROXIES"]) == (60, 2)
    assert settings["MAX_CONTENT_LENGTH"] == 1000


def test_a_number_that_is_not_a_number_is_a_clear_error(clean_env, tmp_path):
    clean_env.setenv("CAUSERIE_EDIT_WINDOW", "ten minutes")
    with pytest.raises(RuntimeError, match="CAUSERIE_EDIT_WINDOW"):
        config.load(tmp_path)


@pytest.mark.parametrize("spelling", ["ture", "Y", "enabled"])
def test_a_yes_or_no_setting_spelt_wrong_is_a_clear_error(clean_env, tmp_path, spelling):
    clean_env.setenv("CAUSERIE_SECURE_COOKIES", spelling)
    with pytest.raises(RuntimeError, match=f"CAUSERIE_SECURE_COOKIES must be true or false .* not '{spelling}'"):
        config.load(tmp_path)


@pytest.mark.parametrize(("spelling", "value"), [("TRUE", True), ("on", True), ("0", False), ("No", False)])
def test_a_yes_or_no_setting_takes_the_usual_spellings(clean_env, tmp_path, spelling, value):
    clean_env.setenv("CAUSERIE_SECURE_COOKIES", spelling)
    assert config.load(tmp_path)["SESSION_COOKIE_SECURE"] is value


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_sqlite_runs_in_wal_mode(app):
    from service.extensions import db

    with app.app_context():
        assert db.session.execute(db.text("PRAGMA journal_mode")).scalar() == "wal"


def test_healthz_reports_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok", "rate_limits": "ok"}


def test_healthz_says_degraded_while_the_limit_storage_is_down(database_url, tmp_path):
    app = make_app(database_url, tmp_path, RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0")
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "degraded", "database": "ok", "rate_limits": "per process"}


def test_healthz_says_when_rate_limiting_is_off(database_url, tmp_path):
    app = make_app(database_url, tmp_path, RATELIMIT_ENABLED=False)
    assert app.test_client().get("/healthz").get_json()["rate_limits"] == "off"


def test_a_postgresql_server_that_never_answers_gets_503_not_a_hung_worker(monkeypatch):
    from service import create_app

    with silent_server() as port:
        monkeypatch.setenv("CAUSERIE_DATABASE_URL", f"postgresql+psycopg://causerie@127.0.0.1:{port}/causerie")
        monkeypatch.setenv("CAUSERIE_SECRET_KEY", "x")
        app = create_app({"TESTING": True})
        # Without a connect timeout it would wait as long as TCP does.
        assert returned(lambda: app.test_client().get("/healthz").status_code) == [503]


def test_a_database_given_to_create_app_gets_the_engine_options_of_its_kind(clean_env, tmp_path):
    from service import create_app

    clean_env.setenv("CAUSERIE_SECRET_KEY", "x")
    clean_env.setenv("CAUSERIE_DATABASE_URL", f"sqlite:///{tmp_path / 'env.db'}")
    other = "postgresql+psycopg://causerie@db.internal/causerie"
    app = create_app({"SQLALCHEMY_DATABASE_URI": other})
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"] == config.engine_options(other)


def test_timeouts_given_in_the_postgresql_url_are_kept():
    options = config.engine_options("postgresql+psycopg://db.internal/causerie?connect_timeout=30")
    assert options["connect_args"] == {"tcp_user_timeout": 10_000}


@pytest.fixture(scope="module")
def web_worker_modules(tmp_path_factory) -> set[str]:
    """What a web worker loads, asked once for the tests below (a fresh
    interpreter importing the service takes a second or more)."""
    return _modules_of_a_web_worker(tmp_path_factory.mktemp("worker"))


def _modules_of_a_web_worker(tmp_path) -> set[str]:
    """What ``import wsgi`` (gunicorn's import) loads, in a fresh interpreter."""
    import subprocess
    import sys

    code = "import sys, wsgi; print(' '.join(sys.modules))"
    env = {**os.environ, "CAUSERIE_DATABASE_URL": f"sqlite:///{tmp_path / 'w.db'}", "CAUSERIE_SECRET_KEY": "x"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True,
                            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return set(result.stdout.split())


def test_a_web_worker_does_not_load_alembic(web_worker_modules):
    assert {"alembic", "flask_migrate"} & web_worker_modules == set()


def test_a_web_worker_does_not_load_the_importers(web_worker_modules):
    importers = {"service.porting.importer", "service.porting.text", "service.porting.backup",
                 "service.porting.disqus", "service.porting.wordpress", "service.porting.isso", "multiprocessing"}
    assert importers & web_worker_modules == set()


def test_a_web_worker_on_the_default_limits_storage_does_not_load_redis(web_worker_modules):
    # memory:// needs no client: redis-py is about 5 MB of each worker.
    assert "redis" not in web_worker_modules


def test_api_requests_do_not_open_the_session_cookie(client, reader):
    from flask import session
    from flask.sessions import NullSession

    with client:
        reader.read()
        assert isinstance(session._get_current_object(), NullSession)
        client.get("/moderate/login")
        assert not isinstance(session._get_current_object(), NullSession)
