"""JSON in SQL, said the way each database says it.

The write path asks one query for everything it needs (see
threads.load_for_write), and some of its answers are lists: the thread's
latest texts, the spam filter's counts of a comment's features.  Those come
back as one JSON column each, built by these constructs; SQLite and
PostgreSQL name the same functions differently.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement


class _JSONFunction(FunctionElement[Any]):
    """A JSON function that each database names its own way."""

    type = sa.JSON()
    inherit_cache = True
    # The function's name by dialect; SQLite's is the default.
    names: dict[str, str] = {}


class json_list(_JSONFunction):  # noqa: N801 - used like sa.func's lower-case functions
    """Aggregate: the values of a column as a JSON array (NULL over no rows on
    PostgreSQL, ``[]`` on SQLite: read it with :func:`listed`)."""

    inherit_cache = True
    names = {"sqlite": "json_group_array", "postgresql": "json_agg"}


class json_tuple(_JSONFunction):  # noqa: N801
    """A JSON array of these values, one per row."""

    inherit_cache = True
    names = {"sqlite": "json_array", "postgresql": "json_build_array"}


class _in_json_strings(FunctionElement[bool]):  # noqa: N801
    """A column (first argument) among the strings of a JSON array sent as text (second)."""

    type = sa.Boolean()
    inherit_cache = True
    # A comparison: without this, SQLite's WHERE would say "... = 1", which no index serves.
    _is_implicitly_boolean = True


def in_json_strings(column: sa.ColumnElement[Any], array: sa.BindParameter[Any]) -> sa.ColumnElement[bool]:
    """``column IN`` the strings of ``array``, a JSON array sent as text.

    One statement for lists of any length: an expanding IN would be a new
    statement, and on PostgreSQL a new plan, for each length.
    """
    return _in_json_strings(column, array)


@compiles(_JSONFunction)
def _json_function(element: _JSONFunction, compiler: SQLCompiler, **kw: Any) -> str:
    name = element.names.get(compiler.dialect.name, element.names["sqlite"])
    return f"{name}({compiler.process(element.clauses, **kw)})"


@compiles(_in_json_strings)
def _in_json_strings_sqlite(element: _in_json_strings, compiler: SQLCompiler, **kw: Any) -> str:
    column, array = (compiler.process(clause, **kw) for clause in element.clauses)
    # What is put in is compiled SQL (a column, a placeholder), not a value.
    return f"{column} IN (SELECT value FROM json_each({array}))"  # noqa: S608


@compiles(_in_json_strings, "postgresql")
def _in_json_strings_pg(element: _in_json_strings, compiler: SQLCompiler, **kw: Any) -> str:
    column, array = (compiler.process(clause, **kw) for clause in element.clauses)
    # An array, not a subquery: the index finds each string (a hash of the
    # strings would be joined to every row of the column's range instead).
    return f"{column} = ANY(ARRAY(SELECT json_array_elements_text(CAST({array} AS json))))"


def listed(value: list[Any] | None) -> list[Any]:
    """A :class:`json_list` column's value, as a list (empty over no rows)."""
    return value or []
