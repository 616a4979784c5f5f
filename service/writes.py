"""The post's write, run straight on a pooled DBAPI connection.

Nearly every write the service takes is a reader's new comment: the
comment, its thread's new version and its audit event, nothing else.
Through the session those three rows cost more than the rules, the spam
filter and the Markdown together (the unit of work, a Connection and a
Result per statement, BEGIN and COMMIT).  So, like the read path (see
reads), the write path compiles its fixed statements once per dialect and
runs them on a connection of the session's engine, taken from its pool with
the pool's own checkout ping (see extensions.ping_when_idle).

A block of :func:`transaction` commits at its end and rolls back if it
raises; a database error comes out as SQLAlchemy's (an OperationalError is
the contract's 503, see errors).  A block that runs one statement alone can
run it in autocommit, which is a transaction by itself: on PostgreSQL that
spares the BEGIN and COMMIT round trips.  A write is never tried again: a
connection lost in the middle may have committed it.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from . import freshness
from .extensions import db
from .reads import Compiled


class Write:
    """A fixed INSERT or UPDATE, compiled on first use for the app's database."""

    def __init__(self, statement: sa.Insert | sa.Update):
        self.statement = statement
        self._compiled: dict[str, Compiled] = {}

    def compiled(self, dialect: sa.Dialect) -> Compiled:
        """The statement compiled for ``dialect``."""
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            compiled = self._compiled[dialect.name] = Compiled(self.statement, dialect)
        return compiled


@functools.lru_cache(maxsize=16)
def insert(table: sa.Table, columns: tuple[str, ...]) -> Write:
    """An INSERT of these columns of ``table``, with a parameter named after each."""
    return Write(table.insert().values({name: sa.bindparam(name, type_=table.c[name].type) for name in columns}))


class Writer:
    """Runs :class:`Write` statements on one connection (see :func:`transaction`)."""

    def __init__(self, connection: Any, dialect: sa.Dialect):
        self.connection = connection
        self.dialect = dialect

    def run(self, write: Write, **params: Any) -> tuple[list[tuple], int | None]:
        """Run ``write`` with these values: (the rows it returned, the cursor's last row id)."""
        compiled = write.compiled(self.dialect)
        values = compiled.values(params)
        cursor = self.connection.cursor()
        try:
            cursor.execute(compiled.sql, values)
            rows = cursor.fetchall() if compiled.returns else []
            # psycopg's cursors have no lastrowid (RETURNING says the id there).
            return rows, getattr(cursor, "lastrowid", None)
        except self.dialect.loaded_dbapi.Error as exc:
            raise _wrapped(exc, compiled.sql, values, self.dialect, self.connection, cursor) from exc
        finally:
            cursor.close()


@contextmanager
def transaction(*, autocommit: bool = False) -> Iterator[Writer]:
    """A connection of the session's engine for :class:`Write` statements,
    committed when the block ends.

    ``autocommit``: the block runs a single statement, and the driver
    commits it by itself; asked of SQLite's driver, which has no such mode
    here, the block commits as any other.
    """
    engine = db.engine
    dialect = engine.dialect
    autocommit = autocommit and dialect.name == "postgresql"
    error = dialect.loaded_dbapi.Error
    pooled = engine.raw_connection()
    connection: Any = pooled.dbapi_connection
    try:
        if autocommit:
            connection.autocommit = True
        yield Writer(connection, dialect)
        if not autocommit:
            try:
                connection.commit()
            except error as exc:
                raise _wrapped(exc, "COMMIT", (), dialect, connection, None) from exc
        freshness.written()
    except BaseException as exc:
        if isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated:
            pooled.invalidate()
        elif not autocommit:
            try:
                connection.rollback()
            except error:
                pooled.invalidate()  # gone with the server: the pool makes another
        raise
    finally:
        if autocommit and pooled.is_valid:
            try:
                connection.autocommit = False
            except error:
                pooled.invalidate()
        pooled.close()


@contextmanager
def joined() -> Iterator[Writer]:
    """The session's connection for :class:`Write` statements, inside the
    session's transaction: they commit or roll back with the session's own."""
    connection = db.session.connection()
    yield Writer(connection.connection.dbapi_connection, connection.dialect)


def _wrapped(exc: Any, sql: str, values: Any, dialect: sa.Dialect, connection: Any,
             cursor: Any) -> sa.exc.StatementError:
    """The driver's error as SQLAlchemy's, which the app's handlers know."""
    dropped = dialect.is_disconnect(exc, connection, cursor)
    return sa.exc.DBAPIError.instance(sql, values, exc, dialect.loaded_dbapi.Error,
                                      connection_invalidated=dropped)
