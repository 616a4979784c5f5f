"""The public read path's statements, run straight on a pooled DBAPI connection.

Thread reads, revalidations and counts are nearly all of the traffic, and
each is one small SELECT written once with SQLAlchemy Core.  Going through a
Connection and a Result for it costs several times what SQLite takes to
answer it, so each statement is compiled once per dialect and run on a raw
connection from the read engine's pool (autocommit, see
``extensions.READS``), with the types' own bind and result processors.
"""

from __future__ import annotations

import sqlalchemy as sa

from .extensions import read_engine


class Read:
    """A fixed read-only SELECT, compiled on first use for the app's database."""

    def __init__(self, statement: sa.Select):
        self.statement = statement
        self._compiled: dict[str, _Compiled] = {}

    def rows(self, **params) -> list[tuple]:
        """All rows of the statement for these bound values, as tuples."""
        engine = read_engine()
        compiled = self._compiled.get(engine.dialect.name)
        if compiled is None:
            compiled = self._compiled[engine.dialect.name] = _Compiled(self.statement, engine.dialect)
        try:
            return compiled.run(engine, params)
        except sa.exc.DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
        # The database dropped the pooled connections (a restart, an idle
        # timeout): the pool has been replaced, and a read is safe to repeat.
        return compiled.run(engine, params)


class _Compiled:
    def __init__(self, statement: sa.Select, dialect: sa.Dialect):
        compiled = statement.compile(dialect=dialect)
        self.compiled = compiled
        self.sql = compiled.string
        self.order = compiled.positiontup if compiled.positional else None
        self.binds = {
            name: processor for name, bind in compiled.binds.items()
            if (processor := bind.type.dialect_impl(dialect).bind_processor(dialect)) is not None
        }
        processors = [column.type.dialect_impl(dialect).result_processor(dialect, None)
                      for column in statement.selected_columns]
        self.processors = [(index, process) for index, process in enumerate(processors) if process is not None]

    def run(self, engine: sa.Engine, params: dict) -> list[tuple]:
        values = self.compiled.construct_params(params)
        for name, processor in self.binds.items():
            values[name] = processor(values[name])
        if self.order is not None:
            values = tuple(values[name] for name in self.order)
        connection = engine.raw_connection()
        cursor = None
        try:
            cursor = connection.cursor()
            cursor.execute(self.sql, values)
            rows = cursor.fetchall()
        except engine.dialect.loaded_dbapi.Error as exc:
            invalidated = engine.dialect.is_disconnect(exc, connection.dbapi_connection, cursor)
            if invalidated:
                connection.invalidate(exc)
                engine.dispose()
                cursor = None  # went with its connection
            raise sa.exc.DBAPIError.instance(self.sql, values, exc, engine.dialect.loaded_dbapi.Error,
                                             connection_invalidated=invalidated) from exc
        finally:
            if cursor is not None:
                cursor.close()
            connection.close()
        if not self.processors:
            return rows
        return self._process(rows)

    def _process(self, rows: list) -> list[tuple]:
        rows = [list(row) for row in rows]
        for index, process in self.processors:
            # A joined column repeats on every row (a site's origins beside
            # each of its threads): convert each distinct value once.
            converted: dict = {}
            for row in rows:
                raw = row[index]
                try:
                    row[index] = converted[raw]
                except KeyError:
                    row[index] = converted[raw] = process(raw)
                except TypeError:  # a value that cannot be a key
                    row[index] = process(raw)
        return [tuple(row) for row in rows]
