"""The Flask extensions, created unbound so every module can import them."""

import ipaddress
from functools import wraps

import sqlalchemy as sa
from flask import current_app, request
from flask_limiter import Limiter
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine

from .files import migrations_dir

# Stable constraint names keep Alembic migrations portable across databases.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING))
MIGRATIONS = migrations_dir()

# The engine of the public read path (thread reads, counts), beside the
# session's.  Its connections run in autocommit: a read is one statement, so
# it costs one round trip, with no BEGIN before it or ROLLBACK after it.  The
# read path keeps them between reads itself, with no pre-ping, because a read
# can simply be tried again (see reads); writes keep both the transaction and
# the pre-ping, as a write must not be retried blindly.
READS = "reads"


def bind_reads(config: dict) -> None:
    """Add the read path's engine to the app's binds, on the app's database."""
    config["SQLALCHEMY_BINDS"] = {
        **config.get("SQLALCHEMY_BINDS", {}),
        READS: {"url": config["SQLALCHEMY_DATABASE_URI"], "isolation_level": "AUTOCOMMIT"},
    }


# Redis answers in well under a millisecond; one that has not answered in a
# second is treated as down rather than left to hold every request.
REDIS_SCHEMES = ("redis://", "rediss://", "redis+unix://", "valkey://", "valkeys://", "valkey+unix://")
REDIS_TIMEOUTS = {"socket_connect_timeout": 1, "socket_timeout": 1}


def limiter_settings(config: dict) -> None:
    """How flask-limiter meets a rate-limit storage that stops answering.

    Each process then counts in its own memory, with the same limits, until
    the storage answers again (flask-limiter's in-memory fallback, which
    looks again after 1, 2, 4 ... seconds): readers keep reading and posting,
    still limited, instead of getting errors because Redis restarted.
    """
    config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    if config["RATELIMIT_STORAGE_URI"].startswith(REDIS_SCHEMES):
        config.setdefault("RATELIMIT_STORAGE_OPTIONS", dict(REDIS_TIMEOUTS))


def read_engine() -> sa.Engine:
    """The engine of the public read path.

    An in-memory SQLite database exists once per engine: there the reads go
    through the session's engine, which holds the data.
    """
    engine = db.engines[READS]
    return db.engine if engine.url.database in (None, "", ":memory:") else engine


def init_migrations(app) -> None:
    """Bind Flask-Migrate to ``app`` (idempotent).

    Only the command line needs Alembic; web workers never load it, which
    keeps each of them a dozen megabytes smaller.
    """
    if "migrate" not in app.extensions:
        from flask_migrate import Migrate  # noqa: PLC0415 - deliberately lazy, see above

        Migrate(app, db, directory=str(MIGRATIONS), render_as_batch=True)


def address_key(address: str) -> str:
    """What every per-address count, report and hash keys on: an IPv4 address
    itself, an IPv6 address its /64 network.

    One IPv6 subscriber usually gets a whole /64 and may use any address in
    it, so counting full addresses would let one person count as millions.
    Anything that is not an IP address (already a network, say) is kept as is.
    """
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 4:
        return str(ip)
    if ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ipaddress.IPv6Network((ip, 64), strict=False))


def client_address() -> str:
    """The client's address key (see :func:`address_key`), from the address
    ProxyFix has already corrected: the key of every per-address rate limit."""
    return address_key(request.remote_addr or "unknown")


limiter = Limiter(key_func=client_address)


def rate_limited(*limits):
    """Decorate a view with flask-limiter limits (``limiter.limit(...)``,
    outermost first) that cost nothing while rate limiting is switched off.

    With ``CAUSERIE_RATELIMIT_ENABLED=false`` (say, because the proxy in front
    limits) flask-limiter still evaluates an empty set of limits on every
    request; on the thread read that is a sixth of the work.
    """

    def decorate(view):
        checked = view
        for limit in reversed(limits):
            checked = limit(checked)

        @wraps(view)
        def route(*args, **kwargs):
            if current_app.config["RATELIMIT_ENABLED"]:
                return checked(*args, **kwargs)
            return view(*args, **kwargs)

        return route

    return decorate


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record):
    """WAL lets readers go on while one process writes; foreign keys on."""
    module = type(dbapi_connection).__module__
    if not module.startswith("sqlite3"):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
