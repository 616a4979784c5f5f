"""The limits on the API's writes (posting, editing, deleting, reporting):
every limit of a request counted in the shared storage at once.

flask-limiter counts each limit of a view on its own, a round trip to Redis
apiece (a post has three: two per address, one per site), and its
evaluation costs as much again in the worker; together they were a fifth of
a post's cost on PostgreSQL + Redis.  Here one Lua script counts all of a
request's limits in one round trip, on flask-limiter's own storage
(``CAUSERIE_RATELIMIT_STORAGE_URI``), with the keys and fixed windows its
strategy uses, so counts carry over from one to the other.  Limits are
counted in the order the view declares them, stopping at the first one
used up: a client refused per address spends nothing of its site's limit.
The script is sent as the request starts (:func:`start`) and its answer
read when the view needs it (:func:`check`), before anything is written: a
post reads it once parsed and hashed, so the round trip overlaps that work.

Storages other than Redis (``memory://``, and those the ``limits`` library
offers) are counted limit by limit through that library.  When the storage
stops answering, each process counts in its own memory and asks the storage
again after 1, 2, 4 ... seconds (at most a minute), as flask-limiter's
in-memory fallback does; what was counted meanwhile is not carried over.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache, wraps
from typing import Any, cast

from flask import Flask, current_app, g, request
from limits import RateLimitItem, parse_many
from limits.errors import StorageError
from limits.storage import MemoryStorage, RedisClusterStorage, RedisStorage, Storage

from .errors import too_many_requests
from .extensions import app_limiter, client_address, limiter_skipped

# KEYS: a counter per limit, in the order they are checked.  ARGV: for each,
# its window in seconds, then how many requests it allows.  A counter's
# window starts at its first request (it expires then), as in the limits
# library's fixed windows.  Returns the index of the first limit used up
# (0 for none), with that limit's count and seconds left, or the first's.
_SCRIPT = b"""
local first
for i, key in ipairs(KEYS) do
  local count = redis.call("incr", key)
  if count == 1 then
    redis.call("expire", key, ARGV[2 * i - 1])
  end
  if count > tonumber(ARGV[2 * i]) then
    return {i, count, redis.call("ttl", key)}
  end
  if i == 1 then
    first = {0, count, redis.call("ttl", key)}
  end
end
return first
"""

_EXTENSION = "causerie.write_limits"
_LONGEST_WAIT = 60.0


@dataclass(frozen=True)
class WriteLimit:
    """One limit of a write view: the setting ``CAUSERIE_RATELIMIT_<setting>``
    (one or more limits, ``5/minute;60/day``), counted per ``key`` (by
    default the client's address)."""

    setting: str
    key: Callable[[], str] = client_address


@dataclass(frozen=True)
class Counted:
    """What counting a request told: the limit it reports on (the first one
    used up, else the first one), its count with this request, and when its
    window ends (a Unix time)."""

    item: RateLimitItem
    count: int
    reset_at: float

    @property
    def refused(self) -> bool:
        """Whether this request was one too many."""
        return self.count > self.item.amount

    def headers(self) -> dict[str, str]:
        """The ``X-RateLimit-*`` headers that tell a client where it stands."""
        return {"X-RateLimit-Limit": str(self.item.amount),
                "X-RateLimit-Remaining": str(max(0, self.item.amount - self.count)),
                "X-RateLimit-Reset": str(math.ceil(self.reset_at))}


@lru_cache(maxsize=64)
def _items(limits: str) -> tuple[RateLimitItem, ...]:
    return tuple(parse_many(limits))


class Counting:
    """One request's counting: sent to the storage, its answer read when needed."""

    def __init__(self, counter: SharedCounter | None = None, counters: list[tuple[RateLimitItem, str]] | None = None,
                 connection: Any = None, counted: Counted | None = None):
        self.counter = counter
        self.counters = counters or []
        self.connection = connection
        self.counted = counted
        self.started = time.time()

    def result(self) -> Counted:
        """What was counted (waiting for the storage's answer the first time)."""
        if self.counted is None:
            assert self.counter is not None
            self.counted = self.counter.receive(self)
        return self.counted


class SharedCounter:
    """An app's way to its rate-limit storage, and to its memory when the
    storage does not answer."""

    def __init__(self, app: Flask, storage: Storage):
        self.app = app
        self.storage = storage
        # A cluster keeps keys on different nodes: one script cannot count them all.
        self.script = (storage.get_connection().register_script(_SCRIPT)
                       if isinstance(storage, RedisStorage) and not isinstance(storage, RedisClusterStorage) else None)
        self.script_forgotten: tuple[type[BaseException], ...] = ()
        if self.script is not None:
            # Imported only here: a service without Redis (SQLite's default,
            # memory://) never loads redis-py, about 5 MB of each worker.
            from redis.exceptions import NoScriptError  # noqa: PLC0415

            self.script_forgotten = (NoScriptError,)
        self.errors: tuple[type[BaseException], ...] = (StorageError, *_as_tuple(storage.base_exceptions))
        self.memory: MemoryStorage | None = None
        self.failures = 0
        self.retry_at = 0.0

    def start(self, counters: list[tuple[RateLimitItem, str]]) -> Counting:
        """Count one request against every counter: in Redis, sent without
        waiting for the answer; in any other storage, at once."""
        now = time.time()
        if now >= self.retry_at:
            try:
                if self.script is None:
                    counted = count_one_by_one(self.storage, counters)
                    self._answered()
                    return Counting(counted=counted)
                return Counting(self, counters, self._send(counters))
            except self.errors as exc:
                self._failed(now, exc)
        return Counting(counted=self._in_memory(counters))

    def receive(self, counting: Counting) -> Counted:
        """Redis's answer to a counting :meth:`start` sent."""
        counters, connection = counting.counters, counting.connection
        pool = self._client().connection_pool
        try:
            try:
                index, count, ttl = connection.read_response()
            except self.script_forgotten:
                # Redis restarted and forgot the script: the counts were not made.
                index, count, ttl = self.script(*self._arguments(counters))  # type: ignore[misc]  # set with send
        except self.errors as exc:
            connection.disconnect()  # whatever it was in the middle of
            self._failed(counting.started, exc)
            return self._in_memory(counters)
        finally:
            pool.release(connection)
        self._answered()
        item = counters[max(index, 1) - 1][0]
        return Counted(item, int(count), counting.started + (ttl if ttl > 0 else item.get_expiry()))

    def _client(self) -> Any:
        return cast("RedisStorage", self.storage).get_connection()  # only Redis has a script

    def _arguments(self, counters: list[tuple[RateLimitItem, str]]) -> tuple[list[str], list[int]]:
        keys = [cast("RedisStorage", self.storage).prefixed_key(key) for _, key in counters]
        return keys, [value for item, _ in counters for value in (item.get_expiry(), item.amount)]

    def _send(self, counters: list[tuple[RateLimitItem, str]]) -> Any:
        assert self.script is not None
        keys, windows = self._arguments(counters)
        pool = self._client().connection_pool
        connection = pool.get_connection()
        try:
            connection.send_command("EVALSHA", self.script.sha, len(keys), *keys, *windows)
        except BaseException:
            connection.disconnect()
            pool.release(connection)
            raise
        return connection

    def _in_memory(self, counters: list[tuple[RateLimitItem, str]]) -> Counted:
        if self.memory is None:
            self.memory = MemoryStorage()
        return count_one_by_one(self.memory, counters)

    def _failed(self, now: float, exc: BaseException) -> None:
        self.failures += 1
        self.retry_at = now + min(2.0 ** (self.failures - 1), _LONGEST_WAIT)
        self.app.logger.warning("Rate-limit storage unreachable (%s): counting in this process", exc)

    def _answered(self) -> None:
        if self.failures:
            self.app.logger.info("Rate-limit storage answers again")
            self.failures = 0


def _as_tuple(exceptions) -> tuple[type[BaseException], ...]:
    return exceptions if isinstance(exceptions, tuple) else (exceptions,)


def count_one_by_one(storage: Storage, counters: list[tuple[RateLimitItem, str]]) -> Counted:
    """Count limit by limit (any storage of the limits library), stopping at the first used up."""
    reported = None
    for item, key in counters:
        count = storage.incr(key, item.get_expiry())
        if count > item.amount or reported is None:
            reported = (item, key, count)
        if count > item.amount:
            break
    assert reported is not None
    item, key, count = reported
    return Counted(item, count, storage.get_expiry(key))


def counter_of(app: Flask) -> SharedCounter:
    """The counter of ``app``'s write limits, made on first use."""
    counter = app.extensions.get(_EXTENSION)
    if counter is None:
        counter = app.extensions[_EXTENSION] = SharedCounter(app, app_limiter(app).storage)
    return counter


def start(limits: tuple[WriteLimit, ...]) -> Counting:
    """Count this request against ``limits`` (in Redis, without waiting for
    the answer: :func:`check` waits for it)."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]  # a proxy at run time
    config = app.config
    prefix, scope = config.get("RATELIMIT_KEY_PREFIX"), request.endpoint or ""
    # The keys flask-limiter gives a view's own limits.
    counters = [(item, item.key_for(*((prefix,) if prefix else ()), limit.key(), scope))
                for limit in limits for item in _items(config[f"CAUSERIE_RATELIMIT_{limit.setting}"])]
    counting = g.causerie_write_limits = counter_of(app).start(counters)
    return counting


def check() -> Counted | None:
    """This request's counts (see :func:`limited`); 429 (with ``Retry-After``)
    past one of its limits.  None when nothing was counted (rate limiting off)."""
    counting: Counting | None = g.get("causerie_write_limits")
    if counting is None:
        return None
    counted = counting.result()
    if counted.refused:
        config = current_app.config
        wait = min(counted.item.get_expiry(), max(1, math.ceil(counted.reset_at - time.time())))
        raise too_many_requests(wait, counted.headers() if config["RATELIMIT_HEADERS_ENABLED"] else None)
    return counted


def limited(*limits: WriteLimit, checked_by_view: bool = False):
    """Decorate a write view with its limits, counted here (and nothing of flask-limiter's).

    ``checked_by_view``: the view calls :func:`check` itself before it
    writes anything, so that Redis answers while the view works (a post is
    checked once parsed and hashed, before the database is asked anything);
    otherwise the limits are checked before the view runs.
    """

    def decorate(view):
        @wraps(view)
        def route(*args, **kwargs):
            if not current_app.config["RATELIMIT_ENABLED"]:
                return view(*args, **kwargs)
            counting = start(limits)
            try:
                if not checked_by_view:
                    check()
                result = view(*args, **kwargs)
            except BaseException:
                counting.result()  # the answer is read off the connection; the view's own error stands
                raise
            counted = check()
            if counted is None or not current_app.config["RATELIMIT_HEADERS_ENABLED"]:
                return result
            response = current_app.make_response(result)
            response.headers.update(counted.headers())
            return response

        return limiter_skipped(route)

    return decorate
