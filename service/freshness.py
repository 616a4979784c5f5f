"""What the read path knows of sites and threads, kept current without a query per read.

A thread read needs the site (its id and origins) and the thread (its id,
URL and version); the version names the cached body and makes the ETag.
Asking the database on every read costs a round trip that, on PostgreSQL,
is most of the time a 304 takes.  Instead each process keeps what those
queries answered (:class:`Knowledge`) and uses it only while it is sure
nothing changed unseen:

- **PostgreSQL**: triggers on ``thread`` and ``site`` (see :data:`TRIGGERS`,
  created with the tables and by migration ``b7c2e5f14a90``) send every new
  version of a thread, and word of any other change a read could see (a
  thread created, moved or deleted, a site's key or origins changed), with
  ``NOTIFY`` in the writing transaction: the notification leaves with the
  commit, whoever wrote, through the ORM, a Core statement or ``psql``.  One
  daemon thread per process (:class:`_Listener`, started by the first read
  after a fork) listens on its own connection and applies them, those that
  arrive within :data:`GATHER` of the first together.  Every quarter second
  it makes a round trip; a notification committed before a
  round trip started has arrived by its end (PostgreSQL sends pending
  notifications before it says it is ready for the next query).  So the
  knowledge is used only while the last round trip started less than
  :data:`WINDOW` ago: a change made anywhere is seen by every reader within
  a second, even when the connection dies silently.  Whenever the listener
  (re)connects it first listens, then forgets everything, as it may have
  missed notifications meanwhile; until then each read asks the database, as
  it always did.
- **SQLite** is on one machine: ``PRAGMA data_version`` on the read
  connection says whether any other connection (of this process or another)
  committed since it last looked, for the price of a trivial statement.  Any
  commit makes the process forget what it knew.  It is asked at most every
  :data:`SQLITE_CHECK` seconds (asking on every read costs a tenth of a
  304), and this process's own commits are forgotten at once, so a reader
  sees a change made by another process within that time.
- Other databases, and an in-memory SQLite database, ask on every read.

A read that asks the database keeps the answer only if nothing was forgotten
while it asked (the :attr:`Knowledge.generation` it started with is still
current), so an answer older than a notification can never be kept after it.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from abc import ABC, abstractmethod
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import current_app

from . import reads
from .extensions import READS, db, read_engine
from .models import Site, Thread

log = logging.getLogger(__name__)

# Seconds between the listener's round trips, and how old the last one may
# be for the knowledge to be used.  WINDOW < 1 s is the promise: a change is
# seen everywhere within a second.
HEARTBEAT = 0.25
WINDOW = 0.75
# SQLite: seconds between two looks at data_version (well inside the second
# the promise allows).
SQLITE_CHECK = 0.02
# Seconds between attempts to listen again after the connection failed.
RECONNECT = 0.5
# Seconds the listener waits, once woken by a notification, for the ones that
# follow.  Every wake-up takes the interpreter's lock from the worker's
# requests; under a stream of posts each notification woke every worker of
# every instance, a tenth of a post's cost on PostgreSQL.  Gathered, a change
# reaches other processes this much later, still far inside the promise.
GATHER = 0.02
# Lookups and thread versions kept per process before starting afresh.
MAX_ENTRIES = 65536
CHANNEL = "causerie"

# The notifications: "<thread id> <version>" when only a thread's version
# moved; "*" when anything else a read could see changed.  The channel is
# per schema, so that deployments (and test runs) sharing one database do
# not hear each other.
TRIGGERS = (
    f"""
CREATE OR REPLACE FUNCTION causerie_thread_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF NEW.site_id = OLD.site_id AND NEW.url = OLD.url AND NEW.key IS NOT DISTINCT FROM OLD.key THEN
            IF NEW.version <> OLD.version THEN
                PERFORM pg_notify('{CHANNEL}:' || TG_TABLE_SCHEMA, NEW.id || ' ' || NEW.version);
            END IF;
            RETURN NULL;
        END IF;
    END IF;
    PERFORM pg_notify('{CHANNEL}:' || TG_TABLE_SCHEMA, '*');
    RETURN NULL;
END
$$""",
    f"""
CREATE OR REPLACE FUNCTION causerie_site_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('{CHANNEL}:' || TG_TABLE_SCHEMA, '*');
    RETURN NULL;
END
$$""",
    "CREATE TRIGGER causerie_thread_changed AFTER INSERT OR UPDATE OR DELETE ON thread"
    " FOR EACH ROW EXECUTE FUNCTION causerie_thread_changed()",
    "CREATE TRIGGER causerie_thread_truncated AFTER TRUNCATE ON thread"
    " FOR EACH STATEMENT EXECUTE FUNCTION causerie_thread_changed()",
    "CREATE TRIGGER causerie_site_changed AFTER UPDATE OF key, origins OR DELETE ON site"
    " FOR EACH ROW EXECUTE FUNCTION causerie_site_changed()",
    "CREATE TRIGGER causerie_site_truncated AFTER TRUNCATE ON site"
    " FOR EACH STATEMENT EXECUTE FUNCTION causerie_site_changed()",
)


def _create_triggers(target, connection, **_kw) -> None:
    # With the tables (create_all); existing databases get them by migration.
    if connection.dialect.name == "postgresql" and {"site", "thread"} <= set(sa.inspect(connection).get_table_names()):
        for statement in TRIGGERS:
            connection.exec_driver_sql(statement)


sa.event.listen(Thread.__table__, "after_create", _create_triggers)
sa.event.listen(Site.__table__, "after_create", _create_triggers)


class Knowledge:
    """One process's answers to the read path's lookups, and the latest
    version of each thread it has heard of.

    Lookups are kept without the version (``rows``, keyed by what was looked
    up); versions are kept per thread (``versions``), so that one
    notification updates every lookup that finds the thread.
    """

    def __init__(self):
        self.rows: dict = {}
        self.versions: dict[int, int] = {}
        self.generation = 0
        self.lock = threading.Lock()

    def forget(self) -> None:
        """Drop everything: what was known may have changed unseen."""
        with self.lock:
            self._forget()

    def _forget(self) -> None:
        self.generation += 1
        self.rows = {}
        self.versions = {}

    def heard(self, thread_id: int, version: int) -> None:
        """A thread's new version, from a notification."""
        with self.lock:
            self._advance(thread_id, version)

    def _advance(self, thread_id: int, version: int) -> None:
        versions = self.versions
        if thread_id not in versions and len(versions) >= MAX_ENTRIES:
            self._forget()
            versions = self.versions
        # Notifications come in commit order, but a query's answer may be
        # older than the last notification: a version never goes back.
        if versions.get(thread_id, 0) < version:
            versions[thread_id] = version

    def lookup(self, key, thread_column: int, version_column: int) -> list[tuple] | None:
        """The rows once answered for ``key``, with each thread's current
        version; None when not known (then the database must be asked)."""
        rows = self.rows.get(key)
        if rows is None:
            return None
        versions = self.versions
        answer = []
        for row in rows:
            thread_id = row[thread_column]
            if thread_id is None:
                answer.append(row)
                continue
            version = versions.get(thread_id)
            if version is None:
                return None
            answer.append(row[:version_column] + (version,) + row[version_column + 1:])
        return answer

    def keep(self, generation: int, key, rows: list[tuple], thread_column: int, version_column: int) -> None:
        """Keep the database's answer for ``key``, unless something was
        forgotten since the read that asked began (``generation``)."""
        with self.lock:
            if generation != self.generation:
                return
            if len(self.rows) >= MAX_ENTRIES:
                self._forget()
                return
            for row in rows:
                if row[thread_column] is not None:
                    self._advance(row[thread_column], row[version_column])
            if generation == self.generation:
                self.rows[key] = rows


class _Source(ABC):
    """How a process learns of changes.  Each kind keeps its knowledge
    current, and its ``generation()`` gives the generation to read with, or
    None when the knowledge may not be used now."""

    def __init__(self):
        self.knowledge = Knowledge()

    @abstractmethod
    def generation(self) -> int | None:
        """The generation to read with, or None to ask the database."""


class _AlwaysAsk(_Source):
    """No cheap way to hear of changes: every read asks the database."""

    def generation(self) -> None:
        return None


class _DataVersion(_Source):
    """SQLite: any commit by another connection, seen on the read connection."""

    def __init__(self, engine: sa.Engine):
        super().__init__()
        self.engine = engine
        self.next_look = 0.0

    def generation(self) -> int:
        now = time.monotonic()
        if now >= self.next_look:
            self.next_look = now + SQLITE_CHECK
            if reads.data_changed(self.engine):
                self.knowledge.forget()
        return self.knowledge.generation


class _Notified(_Source):
    """PostgreSQL: a listener thread applies the notifications."""

    def __init__(self, engine: sa.Engine):
        super().__init__()
        # Monotonic time the last confirming round trip started; None while
        # the listener is not listening.
        self.confirmed: float | None = None
        self.listener = _Listener(self, engine)
        self.listener.start()

    def generation(self) -> int | None:
        confirmed = self.confirmed
        if confirmed is None or time.monotonic() - confirmed > WINDOW:
            return None
        return self.knowledge.generation

    def listening(self, started: float) -> None:
        """The listener (re)connected: what it may have missed is forgotten."""
        self.knowledge.forget()
        self.confirmed = started

    def notified(self, payload: str) -> None:
        """Apply one notification."""
        thread_id, _, version = payload.partition(" ")
        if version:
            self.knowledge.heard(int(thread_id), int(version))
        else:
            self.knowledge.forget()

    def lost(self) -> None:
        """The listening connection failed: ask the database until it listens again."""
        self.confirmed = None


# The schema the thread table is in (its triggers name it in the channel),
# and whether the triggers are there.
_TRIGGERS_IN_PLACE = (
    "SELECT n.nspname, (SELECT count(*) FROM pg_trigger t"
    " WHERE t.tgname IN ('causerie_thread_changed', 'causerie_site_changed')"
    " AND t.tgrelid IN (to_regclass('thread'), to_regclass('site'))) = 2"
    " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass('thread')"
)


class _Listener(threading.Thread):
    """One process's listening connection, in a daemon thread.

    It holds its source weakly: when the app goes away, the thread closes its
    connection and ends.
    """

    def __init__(self, source: _Notified, engine: sa.Engine):
        super().__init__(name="causerie-listener", daemon=True)
        self.source = weakref.ref(source)
        self.engine = engine
        self.connection: Any = None  # psycopg's, with notifies(), while listening
        self.stopped = threading.Event()

    def stop(self) -> None:
        """End the thread (within a heartbeat), closing its connection."""
        self.stopped.set()

    def run(self) -> None:
        # Said once per outage, not at every attempt.
        self.failing = False
        while self.source() is not None and not self.stopped.is_set():
            try:
                self._listen()
            except Exception as exc:  # noqa: BLE001 - any failure means: not listening, try again
                source = self.source()
                if source is not None:
                    source.lost()
                if not (self.failing or self.stopped.is_set()):
                    log.warning("Not listening for thread changes (%s); reads ask the database until it listens "
                                "again", exc)
                self.failing = True
            finally:
                self._close()
            self.stopped.wait(RECONNECT)

    def _listen(self) -> None:
        pooled = self.engine.raw_connection()
        pooled.detach()
        self.connection = pooled.dbapi_connection
        connection = self.connection
        connection.autocommit = True
        found = connection.execute(_TRIGGERS_IN_PLACE).fetchone()
        if found is None or not found[1]:
            # A database not yet migrated (`causerie init`) sends nothing:
            # listening would hear silence and trust it.
            raise RuntimeError("the database has no change triggers yet; run `causerie init`")
        schema = found[0]
        # So that pg_stat_activity tells the listeners apart (and ops can find them).
        connection.execute("SELECT set_config('application_name', %s, false)", (f"causerie listener {schema}"[:63],))
        channel = f"{CHANNEL}:{schema}"
        started = time.monotonic()
        connection.execute('LISTEN "{}"'.format(channel.replace('"', '""')))
        source = self.source()
        if source is None:
            return
        source.listening(started)
        del source
        if self.failing:
            self.failing = False
            log.warning("Listening for thread changes again; what this process knew was forgotten")
        while True:
            beat = time.monotonic() + HEARTBEAT
            while (left := beat - time.monotonic()) > 0:
                first = list(connection.notifies(timeout=left, stop_after=1))
                if first:
                    # Woken by a change: wait a moment for the ones that
                    # follow, and apply them together (see GATHER).
                    self.stopped.wait(GATHER)
                    self._apply(channel, [*first, *connection.notifies(timeout=0)])
            started = time.monotonic()
            connection.execute("SELECT 1")
            # Notifications that arrived with the answer wait in psycopg's backlog.
            self._apply(channel, connection.notifies(timeout=0))
            source = self.source()
            if source is None or self.stopped.is_set():
                return
            source.confirmed = started
            del source

    def _apply(self, channel: str, notes) -> None:
        source = self.source()
        if source is not None:
            for note in notes:
                if note.channel == channel:
                    source.notified(note.payload)

    def _close(self) -> None:
        connection, self.connection = self.connection, None
        if connection is not None:
            try:
                connection.close()
            except Exception:  # noqa: BLE001 - already gone with the server
                pass

    def backend_pid(self) -> int | None:
        """The listening connection's server process (for tests and diagnostics)."""
        connection = self.connection
        return None if connection is None else connection.info.backend_pid


def source() -> _Source:
    """This app's source of knowledge in this process (started on first use,
    so that each gunicorn worker gets its own listener after the fork)."""
    sources = current_app.extensions.setdefault("causerie.freshness", {})
    pid = os.getpid()
    found = sources.get(pid)
    if found is None:
        with _STARTING:
            found = sources.get(pid)
            if found is None:
                found = sources[pid] = _new_source(read_engine())
    return found


_STARTING = threading.Lock()


def _new_source(engine: sa.Engine) -> _Source:
    if engine.dialect.name == "postgresql":
        notified = _forgets_own_commits(_Notified(engine))
        # Disposing of the app's engines (at shutdown, or a test's end) ends
        # the listener; a read after that starts another.
        sources = current_app.extensions["causerie.freshness"]
        pid = os.getpid()

        def _disposed(_engine):
            notified.listener.stop()
            if sources.get(pid) is notified:
                del sources[pid]

        sa.event.listen(db.engine, "engine_disposed", _disposed)
        return notified
    if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        return _forgets_own_commits(_DataVersion(engine))
    return _AlwaysAsk()


def written() -> None:
    """This process committed a write outside the session (see writes): seen
    at once, as the session's commits are (see :func:`_forgets_own_commits`)."""
    found = current_app.extensions.get("causerie.freshness", {}).get(os.getpid())
    if found is not None:
        found.knowledge.forget()


_S = TypeVar("_S", bound=_Source)


def _forgets_own_commits(source: _S) -> _S:
    """This process's own writes are seen at once, not a notification (or a
    look at SQLite's data_version) later: a reader who just posted reads
    their comment back."""
    for name, bound in db.engines.items():
        if name != READS:
            sa.event.listen(bound, "commit", lambda _connection: source.knowledge.forget())
    return source


def rows(read: reads.Read, known_as, thread_column: int, version_column: int, /, **params) -> list[tuple]:
    """The rows of ``read`` for these values, from what this process knows
    when it may use it, else from the database (and then kept).

    ``known_as`` must identify the values; ``thread_column`` and
    ``version_column`` are the positions of a thread's id and version in
    each row.
    """
    found = source()
    generation = found.generation()
    if generation is None:
        return read.rows(**params)
    knowledge = found.knowledge
    known = knowledge.lookup(known_as, thread_column, version_column)
    if known is not None:
        return known
    answer = read.rows(**params)
    if answer:  # an unknown site is not remembered: it may be added any moment
        knowledge.keep(generation, known_as, answer, thread_column, version_column)
    return answer
