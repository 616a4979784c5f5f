"""The public read path's statements, run straight on a pooled DBAPI connection.

Thread reads, revalidations and counts are nearly all of the traffic, and
each is one small SELECT written once with SQLAlchemy Core.  Going through a
Connection and a Result for it costs several times what SQLite takes to
answer it, so each statement is compiled once per dialect and run on a raw
connection of the read engine (autocommit, see ``extensions.READS``), with
the types' own bind and result processors.

Checking a connection out of SQLAlchemy's pool and back in costs a tenth of
a revalidation, for work a read does not need: there is no transaction to
reset (autocommit), and no pre-ping (a read that meets a dropped connection
is simply run again).  So the read path keeps its own spare connections
(:class:`_Spares`), taken out of the engine's pool once.
"""

from __future__ import annotations

import collections
import json
import weakref
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from .extensions import read_engine

# Converted values (a site's origins, decoded from JSON) are shared between
# reads, up to this many per column.
MAX_CONVERTED = 1024


class Read:
    """A fixed read-only SELECT, compiled on first use for the app's database."""

    def __init__(self, statement: sa.Select):
        self.statement = statement
        self._compiled: dict[str, Compiled] = {}
        self._row: Any = None

    def rows(self, **params) -> list[tuple]:
        """All rows of the statement for these bound values, as tuples.

        Converted values are shared with other reads: treat them as read-only.
        """
        engine = read_engine()
        compiled = self._compiled.get(engine.dialect.name)
        if compiled is None:
            compiled = self._compiled[engine.dialect.name] = Compiled(self.statement, engine.dialect)
        try:
            return compiled.run(engine, params)
        except sa.exc.DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
        # The database dropped the connections (a restart, an idle timeout):
        # they have all been let go, and a read is safe to repeat.
        return compiled.run(engine, params)

    def named_rows(self, **params) -> list[Any]:
        """Like :meth:`rows`, each row a named tuple of the statement's column names."""
        if self._row is None:
            names = [str(column.key) for column in self.statement.selected_columns]
            self._row = collections.namedtuple("Row", names)  # type: ignore[misc]  # names known at run time
        return [self._row._make(row) for row in self.rows(**params)]


class _JSONText(sa.types.TypeDecorator):
    """JSON read as its text and decoded here rather than by the driver
    (psycopg decodes JSON itself, row by row), so that reads share it."""

    impl = sa.Text
    cache_ok = True

    def process_result_value(self, value, dialect):
        return None if value is None else json.loads(value)


def json_text(column: sa.ColumnElement) -> sa.ColumnElement:
    """Select a JSON column for a :class:`Read`: its decoded value is shared
    between reads, and between the rows of one read that repeat it."""
    return sa.cast(column, _JSONText).label(column.name)


class _Spares:
    """The read engine's idle DBAPI connections, last in, first out.

    A connection is taken out of the engine's pool once, with ``detach()``
    (so the engine's connect hooks, such as SQLite's pragmas, have run on
    it), and then kept here between reads: taking one and giving it back
    are a list's pop and append, each atomic.  The list never holds more
    connections than this process ran reads at the same time, one per
    thread at most.  Disposing of the engine closes them all.
    """

    def __init__(self, engine: sa.Engine):
        # No reference to the engine itself: it keys the spares weakly.
        self.idle: list = []
        # SQLite's data_version each connection last reported, by id() of
        # connections still open (see data_changed).
        self.seen: dict[int, int] = {}
        self.error = engine.dialect.loaded_dbapi.Error
        sa.event.listen(engine, "engine_disposed", self._close_all)

    def take(self, engine: sa.Engine):
        try:
            return self.idle.pop()
        except IndexError:
            pooled = engine.raw_connection()
            pooled.detach()
            return pooled.dbapi_connection

    def give(self, connection) -> None:
        self.idle.append(connection)

    def drop(self, connection) -> None:
        self.seen.pop(id(connection), None)
        try:
            connection.close()
        except self.error:
            pass  # already gone with the server

    def _close_all(self, _engine) -> None:
        while self.idle:
            self.drop(self.idle.pop())


class _Pooled:
    """The engine's own pool, for an in-memory SQLite database: its one
    connection holds the data, and must never be detached and closed."""

    @staticmethod
    def take(engine: sa.Engine):
        return engine.raw_connection()

    @staticmethod
    def give(connection) -> None:
        connection.close()

    @staticmethod
    def drop(connection) -> None:
        connection.invalidate()
        connection.close()


_SOURCES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def data_changed(engine: sa.Engine) -> bool:
    """Whether the SQLite database may have changed since the read
    connection this asks on last asked: any commit by another connection, in
    this process or another (``PRAGMA data_version``), or a connection that
    has not asked before.  The read path's connections never write, so
    every commit counts.
    """
    source = _source(engine)
    connection = source.take(engine)
    try:
        cursor = connection.execute("PRAGMA data_version")
        (version,) = cursor.fetchone()
    except engine.dialect.loaded_dbapi.Error:
        source.drop(connection)
        return True
    changed = source.seen.get(id(connection)) != version
    source.seen[id(connection)] = version
    source.give(connection)
    return changed


def _source(engine: sa.Engine):
    source = _SOURCES.get(engine)
    if source is None:
        in_memory = engine.url.database in (None, "", ":memory:")
        source = _SOURCES[engine] = _Pooled() if in_memory else _Spares(engine)
    return source


class Compiled:
    """A Core statement compiled once for one dialect, with its types' bind
    and result processors, to run on the driver's own cursor (reads here,
    the write path's statements in :mod:`service.writes`)."""

    def __init__(self, statement: sa.Select | sa.Insert | sa.Update, dialect: sa.Dialect):
        compiled = statement.compile(dialect=dialect)
        self.compiled = compiled
        self.sql = compiled.string
        # Whether an INSERT or UPDATE gives rows back (asking the cursor,
        # psycopg builds a description of every column, on each run).
        self.returns = bool(getattr(compiled, "effective_returning", None))
        self.order = compiled.positiontup if compiled.positional else None
        self.binds = {
            name: processor for name, bind in compiled.binds.items()
            if (processor := bind.type.dialect_impl(dialect).bind_processor(dialect)) is not None
        }
        processors = [(column.type.dialect_impl(dialect).result_processor(dialect, None),
                       isinstance(column.type, _JSONText)) for column in statement.selected_columns] \
            if isinstance(statement, sa.Select) else []
        self.processors = [(index, process) for index, (process, _) in enumerate(processors) if process is not None]
        # Only json_text's values are shared: other columns may differ at every read.
        self.converted: list[dict | None] = [{} if shared else None for process, shared in processors
                                             if process is not None]

    def values(self, params: dict) -> Mapping[str, Any] | tuple[Any, ...]:
        """The driver's parameters for these bound values."""
        named = self.compiled.construct_params(params)
        for name, processor in self.binds.items():
            named[name] = processor(named[name])
        if self.order is not None:
            return tuple(named[name] for name in self.order)
        return named

    def run(self, engine: sa.Engine, params: dict) -> list[tuple]:
        values = self.values(params)
        source = _source(engine)
        connection = source.take(engine)
        cursor = None
        dropped = False
        try:
            cursor = connection.cursor()
            cursor.execute(self.sql, values)
            rows = cursor.fetchall()
        except engine.dialect.loaded_dbapi.Error as exc:
            dropped = engine.dialect.is_disconnect(exc, connection, cursor)
            raise sa.exc.DBAPIError.instance(self.sql, values, exc, engine.dialect.loaded_dbapi.Error,
                                             connection_invalidated=dropped) from exc
        finally:
            if dropped:
                source.drop(connection)
                engine.dispose()  # and every other connection from before the drop
            else:
                if cursor is not None:
                    cursor.close()
                source.give(connection)
        if not self.processors:
            return rows
        return self._process(rows)

    def _process(self, rows: list) -> list[tuple]:
        rows = [list(row) for row in rows]
        for (index, process), converted in zip(self.processors, self.converted, strict=True):
            if converted is None:
                for row in rows:
                    row[index] = process(row[index])
                continue
            # The same few values come back read after read (a site's
            # origins, beside each of its threads): convert each once.
            if len(converted) > MAX_CONVERTED:
                converted.clear()
            for row in rows:
                raw = row[index]
                try:
                    row[index] = converted[raw]
                except KeyError:
                    row[index] = converted[raw] = process(raw)
                except TypeError:  # a value that cannot be a key
                    row[index] = process(raw)
        return [tuple(row) for row in rows]
