"""The Flask extensions, created unbound so every module can import them
(but the rate limiter, which each app builds for itself: see init_limiter)."""

import ipaddress
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache, wraps
from typing import Any, cast

import sqlalchemy as sa
from flask import Flask, current_app, request
from flask_limiter import Limiter, RouteLimit
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


# A pooled connection that served less than this many seconds ago is used
# without a ping: a busy worker's writes save a round trip each.
PING_AFTER_IDLE = 1.0


def ping_when_idle(engine: sa.Engine) -> None:
    """Ping a connection taken from ``engine``'s pool only when it sat idle.

    SQLAlchemy's ``pool_pre_ping`` pings at every checkout: on PostgreSQL a
    round trip of a post's eight.  A connection that served a moment ago is
    almost surely alive; one that sat idle (an idle timeout, a restarted
    server) is pinged, and replaced when the ping fails.  If the server drops
    connections within the second after they served, the next write on one
    fails with a 503 (nothing stored) and the pool starts afresh.
    """

    @event.listens_for(engine, "connect")
    @event.listens_for(engine, "checkin")
    def _served(_dbapi_connection, record):
        record.info["served_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection, record, _proxy):
        if time.monotonic() - record.info.get("served_at", 0.0) < PING_AFTER_IDLE:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            if engine.dialect.is_disconnect(exc, dbapi_connection, None):
                raise sa.exc.DisconnectionError() from exc  # the pool connects afresh
            raise


def generic_plans(engine: sa.Engine) -> None:
    """Have PostgreSQL plan each of ``engine``'s prepared statements once.

    psycopg prepares a statement on the server after its fifth run.  For
    each run after that, PostgreSQL weighs a plan made for the values given
    (a custom plan) against one made for any value (the generic plan), and
    keeps making custom plans while they look cheaper, which they do for a
    statement with many subqueries: the post's one question (site, thread,
    rules, spam filter) was planned again at every post, five times the
    cost of running it, a third of PostgreSQL's work per post.  The read
    path's statements look rows up by key, where a plan made for any value
    is the plan made for each.  Set when the connection opens, and committed
    (a SET rolled back would be undone), so that it holds for the
    connection's life.
    """

    @event.listens_for(engine, "connect")
    def _force_generic_plans(dbapi_connection, _record):
        dbapi_connection.execute("SET plan_cache_mode = force_generic_plan")
        if not dbapi_connection.autocommit:
            dbapi_connection.commit()


def read_engine() -> sa.Engine:
    """The engine of the public read path.

    An in-memory SQLite database exists once per engine: there the reads go
    through the session's engine, which holds the data.
    """
    engine = db.engines[READS]
    return db.engine if engine.url.database in (None, "", ":memory:") else engine


def rowcount(result: sa.Result[Any]) -> int:
    """How many rows an UPDATE or DELETE run by the session changed (its
    result is typed as any statement's, but is a cursor's for these)."""
    return cast("sa.CursorResult[Any]", result).rowcount


def init_migrations(app) -> None:
    """Bind Flask-Migrate to ``app`` (idempotent).

    Only the command line needs Alembic; web workers never load it, which
    keeps each of them a dozen megabytes smaller.
    """
    if "migrate" not in app.extensions:
        from flask_migrate import Migrate  # noqa: PLC0415 - deliberately lazy, see above

        Migrate(app, db, directory=str(MIGRATIONS), render_as_batch=True)


# The same few thousand addresses come back request after request: parsing
# one costs as much as the rest of a read's rate limiting.
@lru_cache(maxsize=8192)
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


class Limit:
    """One flask-limiter limit of a view: the arguments of ``Limiter.limit``.

    Views are declared when their module is imported, before any app (and so
    any app's limiter) exists; :func:`rate_limited` keeps their limits until
    :func:`init_limiter` binds them to an app's own limiter.
    """

    def __init__(self, value: str | Callable[[], str], **options: Any) -> None:
        self.value = value
        self.options = options

    def bound(self, limiter: Limiter) -> RouteLimit:
        """This limit, counted by ``limiter``."""
        return limiter.limit(self.value, **self.options)


@dataclass
class _AppLimits:
    """An app's limiter, and each rate-limited view as that limiter checks it."""

    limiter: Limiter
    checked: dict[Callable[..., Any], Callable[..., Any]]


_EXTENSION = "causerie.limiter"

# Every view decorated with rate_limited: its route (what the app calls), and
# the view itself with its limits, to be bound to each app's limiter.
_LIMITED: dict[Callable[..., Any], tuple[Callable[..., Any], tuple[Limit, ...]]] = {}

# flask-limiter's own per-request hooks (not the limits themselves).
_HOOKS = ("before_request_funcs", "after_request_funcs", "teardown_request_funcs")


def init_limiter(app) -> None:
    """Give ``app`` a flask-limiter of its own, bound to the limits of every
    :func:`rate_limited` view, and skipped by the views marked with
    :func:`limiter_skipped`.

    One limiter per app: flask-limiter keeps state on its Limiter (whether
    the storage is down, and the first app's settings), which a second app
    of the same process (the tests build one per test) must not inherit.

    flask-limiter looks at every request of the app (its before, after and
    teardown hooks) even when the view has no limit of its own; on a read
    that look alone costs about as much as the rest of the request.  Its
    hooks are wrapped so that the views counted elsewhere (the reads, see
    read_limits) skip them.  The views of :func:`rate_limited` skip its
    before-request look too: that look only counts default limits, which
    this limiter has none of, and their decorator counts their own limits.
    """
    limiter = Limiter(key_func=client_address)
    before = {name: list(getattr(app, name).get(None, ())) for name in _HOOKS}
    limiter.init_app(app)
    for name in _HOOKS:
        hooks = getattr(app, name).get(None)
        if hooks:
            hooks[:] = [hook if hook in before[name]
                        else _unless_skipped(hook, app.view_functions, limited_too=name == "before_request_funcs")
                        for hook in hooks]
    checked = {}
    for route, (view, limits) in _LIMITED.items():
        limited = view
        for limit in reversed(limits):
            limited = limit.bound(limiter)(limited)
        checked[route] = limited
    app.extensions[_EXTENSION] = _AppLimits(limiter, checked)


def app_limiter(app: Flask | None = None) -> Limiter:
    """The flask-limiter of ``app``, by default of the current app."""
    limits: _AppLimits = (app or current_app).extensions[_EXTENSION]
    return limits.limiter


def limiter_skipped(view):
    """Mark a view whose rate limiting is done without flask-limiter."""
    view.limiter_skipped = True
    return view


def _unless_skipped(hook, views: dict, *, limited_too: bool = False):
    def hooked(*args):
        view = views.get(request.endpoint)
        if getattr(view, "limiter_skipped", False) or (limited_too and view in _LIMITED):
            return args[0] if args else None  # the response (after_request), or nothing
        return hook(*args)

    return hooked


def rate_limited(*limits: Limit):
    """Decorate a view with flask-limiter limits (outermost first), counted
    by the limiter of the app that serves it, and that cost nothing while
    rate limiting is switched off.

    With ``CAUSERIE_RATELIMIT_ENABLED=false`` (say, because the proxy in front
    limits) flask-limiter still evaluates an empty set of limits on every
    request; on the thread read that is a sixth of the work.
    """

    def decorate(view):
        @wraps(view)
        def route(*args, **kwargs):
            if current_app.config["RATELIMIT_ENABLED"]:
                app_limits: _AppLimits = current_app.extensions[_EXTENSION]
                return app_limits.checked[route](*args, **kwargs)
            return view(*args, **kwargs)

        _LIMITED[route] = (view, limits)
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
