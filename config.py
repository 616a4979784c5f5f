"""Causerie settings, read from ``CAUSERIE_*`` environment variables.

The package reads this file as ``service/settings.py`` (a link to it), so an
installed Causerie carries it inside the package rather than as a top-level
``config`` module; in a source tree ``import config`` works as well.

Every setting has a safe default so that a newcomer gets a working service
with no configuration at all: an SQLite database and a secret key kept in the
instance folder, and rate limits counted in memory.  Nothing secret is ever a
constant in code.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path
from typing import overload
from urllib.parse import parse_qs, urlsplit

PREFIX = "CAUSERIE_"
# A PostgreSQL server that stops answering should cost a request seconds, not
# the minutes TCP takes to give up (the request then gets the outage's 503):
# connecting gives up after 5 s, and a connection whose sent data goes
# unacknowledged for 10 s is dropped.  The same parameters in the database
# URL win.
POSTGRES_TIMEOUTS = {"connect_timeout": 5, "tcp_user_timeout": 10_000}


@overload
def _env(name: str) -> str | None: ...


@overload
def _env(name: str, default: str) -> str: ...


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(PREFIX + name)
    return default if value is None or value.strip() == "" else value.strip()


def _env_int(name: str, default: int) -> int:
    raw = _env(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise RuntimeError(f"{PREFIX}{name} must be a whole number, not {raw!r}") from exc


def _env_positive_int(name: str, default: int) -> int:
    value = _env_int(name, default)
    if value <= 0:
        raise RuntimeError(f"{PREFIX}{name} must be more than 0, not {value}")
    return value


TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")


def _env_bool(name: str, default: bool) -> bool:
    raw = _env(name)
    if raw is None:
        return default
    # A typo such as "ture" must not quietly mean false (say, for Secure cookies).
    if raw.lower() in TRUE_WORDS:
        return True
    if raw.lower() in FALSE_WORDS:
        return False
    raise RuntimeError(f"{PREFIX}{name} must be true or false (or 1/0, yes/no, on/off), not {raw!r}")


def _secret_key(instance_path: Path) -> str:
    """Return the configured secret key, or one generated once and kept on disk.

    Sessions, edit tokens and keyed hashes must survive restarts and be the
    same in every process, so a generated key is written to the instance
    folder (readable by the owner only) and reused from then on.
    """
    configured = _env("SECRET_KEY")
    if configured:
        return configured
    key_file = instance_path / "secret_key"
    # Another worker may win the race to create the file: then read its key
    # (and try again should that file vanish before it could be read).
    for _ in range(3):
        key = _read_key(key_file) or _create_key(key_file)
        if key:
            return key
    raise RuntimeError(f"{key_file} could not be created or read; set {PREFIX}SECRET_KEY")


def _read_key(key_file: Path) -> str | None:
    """The key kept in ``key_file``, None if there is no file yet; an empty file is refused."""
    try:
        key = key_file.read_text().strip()
    except FileNotFoundError:
        return None
    if not key:
        raise RuntimeError(f"{key_file} is empty: delete it so that a new key is generated, "
                           f"or set {PREFIX}SECRET_KEY")
    return key


def _create_key(key_file: Path) -> str | None:
    """Generate a key into ``key_file`` and return it, or None if another process put one there first.

    Several workers may start at once: each writes its key whole into a
    temporary file of its own, then links it into place.  A link never
    replaces an existing file, so exactly one key wins, and no process can
    ever read a half-written file.
    """
    key = secrets.token_urlsafe(48)
    fd, temporary = tempfile.mkstemp(prefix=".secret_key.", dir=key_file.parent)  # mode 0600
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(key)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(temporary, key_file)
    except FileExistsError:
        return None
    finally:
        os.unlink(temporary)
    return key


def load(instance_path: str | os.PathLike) -> dict:
    """Build the Flask configuration mapping from the environment."""
    instance = Path(instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    database_url = _env("DATABASE_URL", f"sqlite:///{instance / 'causerie.db'}")
    trusted_proxies = _env_int("TRUSTED_PROXIES", 0)
    return {
        "SECRET_KEY": _secret_key(instance),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options(database_url),
        "SQLALCHEMY_TRACK_MODIFICATIONS": False,
        # Flask refuses bodies above this before reading them whole (413).
        "MAX_CONTENT_LENGTH": _env_int("MAX_REQUEST_SIZE", 64 * 1024),
        # Only the admins' import upload may be larger than an API request.
        "CAUSERIE_MAX_IMPORT_SIZE": _env_int("MAX_IMPORT_SIZE", 100 * 1024 * 1024),
        "JSON_SORT_KEYS": False,
        "CAUSERIE_METRICS_TOKEN": metrics_token(),
        "CAUSERIE_LOG_FORMAT": log_format(),
        "RATELIMIT_STORAGE_URI": _env("RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_ENABLED": _env_bool("RATELIMIT_ENABLED", True),
        # X-RateLimit-Limit/-Remaining/-Reset on every limited answer cost a
        # storage round trip each (a Redis one when several processes serve);
        # the widget reads only a 429's Retry-After, which is always sent.
        "RATELIMIT_HEADERS_ENABLED": _env_bool("RATELIMIT_HEADERS", False),
        "RATELIMIT_KEY_PREFIX": _env("RATELIMIT_KEY_PREFIX", "causerie"),
        "CAUSERIE_RATELIMIT_POST": _env("RATELIMIT_POST", "5/minute;60/day"),
        "CAUSERIE_RATELIMIT_SITE_POST": _env("RATELIMIT_SITE_POST", "120/minute"),
        "CAUSERIE_RATELIMIT_EDIT": _env("RATELIMIT_EDIT", "20/minute"),
        "CAUSERIE_RATELIMIT_REPORT": _env("RATELIMIT_REPORT", "10/hour"),
        "CAUSERIE_RATELIMIT_READ": _env("RATELIMIT_READ", "600/minute"),
        "CAUSERIE_RATELIMIT_LOGIN": _env("RATELIMIT_LOGIN", "10/minute;50/hour"),
        "CAUSERIE_RATELIMIT_LOGIN_ACCOUNT": _env("RATELIMIT_LOGIN_ACCOUNT"),
        "CAUSERIE_TRUSTED_PROXIES": trusted_proxies,
        "CAUSERIE_EDIT_WINDOW": _env_int("EDIT_WINDOW", 900),
        "CAUSERIE_MAX_COMMENT_LENGTH": _env_int("MAX_COMMENT_LENGTH", 10_000),
        "CAUSERIE_MIN_SUBMIT_SECONDS": _env_int("MIN_SUBMIT_SECONDS", 3),
        "CAUSERIE_PUBLIC_URL": _env("PUBLIC_URL", "http://127.0.0.1:8080").rstrip("/"),
        "CAUSERIE_SMTP_URL": _env("SMTP_URL"),
        "CAUSERIE_MAIL_FROM": _env("MAIL_FROM", "causerie@localhost"),
        "CAUSERIE_IP_RETENTION_DAYS": _env_int("IP_RETENTION_DAYS", 30),
        # A moderator's session ends this many seconds after signing in (on
        # the server too, see service.moderation.auth), however often it is used.
        "PERMANENT_SESSION_LIFETIME": _env_positive_int("SESSION_LIFETIME", 12 * 3600),
        "CAUSERIE_WEBHOOK_ALLOW_PRIVATE": _env_bool("WEBHOOK_ALLOW_PRIVATE", False),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _env_bool("SECURE_COOKIES", False),
    }


def instance_path() -> str | None:
    """``CAUSERIE_INSTANCE_PATH``: the instance folder, when not Flask's default
    (``instance/`` in a source tree, ``<environment>/var/causerie-instance`` installed)."""
    value = _env("INSTANCE_PATH")
    return str(Path(value).resolve()) if value else None


def metrics_token() -> str | None:
    """``CAUSERIE_METRICS_TOKEN``: what a Prometheus scrape must send; unset, no /metrics."""
    return _env("METRICS_TOKEN")


LOG_FORMATS = ("text", "json")


def log_format() -> str:
    """``CAUSERIE_LOG_FORMAT``: ``text`` (the default) or ``json``."""
    value = (_env("LOG_FORMAT") or "text").lower()
    if value not in LOG_FORMATS:
        raise RuntimeError(f"{PREFIX}LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, not {value!r}")
    return value


def engine_options(database_url: str) -> dict:
    """SQLAlchemy engine options for this database (every engine of the app)."""
    if database_url.startswith("sqlite"):
        # A busy writer makes others wait instead of failing with
        # "database is locked"; WAL itself is switched on per connection.
        return {"connect_args": {"timeout": 15}}
    if database_url.startswith("postgresql"):
        # No pool_pre_ping: the app pings only connections that sat idle
        # (extensions.ping_when_idle), not one that served a moment ago.
        given = parse_qs(urlsplit(database_url).query)
        return {"connect_args": {name: value for name, value in POSTGRES_TIMEOUTS.items() if name not in given}}
    return {"pool_pre_ping": True}
