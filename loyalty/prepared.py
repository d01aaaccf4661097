"""ORM queries compiled to SQL once per process, then run again with other values.

Building and compiling a queryset costs about twice the CPU of running it (0.75 against 0.4 ms for
the API key lookup on the benchmark machine), and a booking runs the same dozen queries on every
request. `Prepared(build)` calls `build` once per shape with stand-in values, compiles the query,
notes where the stand-ins landed among the parameters, and from then on runs that SQL with the
caller's values through Django's own iterables: model instances, `values_list` and
`select_related` come back exactly as from the queryset itself.

On PostgreSQL the statements also go to the server prepared (`server_cursor`): parsed and planned
once per connection instead of on every call, which was a third of the database's CPU in a
booking. Django leaves prepared statements off because a pooler in transaction mode (PgBouncer
before 1.21) cannot carry them; DATABASE_PREPARED_STATEMENTS=false turns them off here too.

`build` must depend on its arguments only (no now(), nothing read per call) and return the final
queryset (ordered and sliced as wanted). Its arguments are ints or strings compared for equality,
or lists of them (compiled once per list length); every argument must reach the SQL as a
parameter, unchanged, which preparing checks.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import QuerySet
from django.db.models.query import RawQuerySet
from django.db.models.sql.constants import MULTI, SINGLE
from django.db.models.sql.query import RawQuery
from django.db.transaction import TransactionManagementError

T = TypeVar("T")
Arg = int | str | Sequence[int] | Sequence[str]

_INT_STANDIN = 7_311_000_000_000_000_000  # below bigint's maximum; no real id or amount is near it


def _standin(arg: int, item: int, value: Any) -> int | str:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(f"Prepared queries take ints and strings, not {type(value).__name__}.")
    if isinstance(value, int):
        return _INT_STANDIN + arg * 10_000 + item
    return f"\x1fprepared-{arg}-{item}\x1f"


PREPARED_MAX = 500  # statements psycopg keeps prepared per connection (its default, 100, is too few here)


def server_cursor(*, numbered: bool = False, using: str = DEFAULT_DB_ALIAS) -> Any:
    """A cursor for hot statements: on PostgreSQL a psycopg cursor that binds values on the server
    and prepares each statement once per connection (`numbered`: the SQL has $1, $2, ... instead
    of %s), wrapped as Django wraps its own (query log, error translation, execute wrappers).
    Elsewhere, or with DATABASE_PREPARED_STATEMENTS off, Django's cursor (`numbered` still gets a
    server-binding cursor on PostgreSQL: $n needs one)."""
    connection = connections[using]
    prepare = getattr(settings, "DATABASE_PREPARED_STATEMENTS", True)
    if connection.vendor != "postgresql" or not (prepare or numbered):
        return connection.cursor()
    connection.ensure_connection()
    raw = connection.connection
    if prepare and raw.prepare_threshold is None:
        # Django sets None, which turns preparing off altogether, even for prepare=True. A threshold
        # this high prepares nothing on its own: only the statements run here with prepare=True.
        raw.prepare_threshold = 2**31 - 1
        raw.prepared_max = PREPARED_MAX
    cursor = _cursor_class(numbered, prepare)(raw)
    cursor.logged = connection.queries_logged
    return connection._prepare_cursor(cursor)


@functools.cache
def _cursor_class(numbered: bool, prepare: bool) -> type:
    import psycopg  # PostgreSQL only

    base = psycopg.RawCursor if numbered else psycopg.Cursor
    if not prepare:
        return base

    class Preparing(base):
        logged = False

        def execute(self, query, params=None, *, prepare=None, binary=None):
            result = super().execute(query, params, prepare=True if prepare is None else prepare, binary=binary)
            if self.logged and self._query is None:
                # Django's query log (DEBUG, CaptureQueriesContext) reads the statement from _query,
                # which psycopg leaves empty when it runs a prepared one.
                self._query = _Statement(query)
            return result

    return Preparing


class _Statement:
    """What Django's query log reads of a psycopg query: its text."""

    def __init__(self, sql: str | bytes):
        self.query = sql.encode() if isinstance(sql, str) else sql


class _Compiled:
    def __init__(self, queryset: QuerySet, standins: list[Any], alias: str):
        self.queryset = queryset
        self.compiler = queryset.query.get_compiler(using=alias)
        self.sql, params = self.compiler.as_sql()
        self.params = list(params)
        where = {(type(s), s): i for i, s in enumerate(standins)}
        self.slots = [(pos, where[(type(p), p)]) for pos, p in enumerate(self.params) if (type(p), p) in where]
        if {i for _, i in self.slots} != set(range(len(standins))):
            raise ValueError(f"Not every argument reaches the SQL as a parameter: {self.sql}")
        self.converters: dict[int, dict] = {}  # by id() of the thread's connection: the same columns each run

    def run(self, values: list[Any], alias: str) -> list[Any]:
        connection = connections[alias]
        locking = self.queryset.query.select_for_update and connection.features.has_select_for_update
        if locking and connection.get_autocommit():  # as Django's compiler checks it
            raise TransactionManagementError("select_for_update cannot be used outside of a transaction.")
        params = list(self.params)
        for pos, i in self.slots:
            params[pos] = values[i]
        compiler = copy.copy(self.compiler)
        compiler.connection = connection  # this thread's connection, not the preparing one's
        compiler.as_sql = lambda *args, **kwargs: (self.sql, tuple(params))
        converters = self.converters.get(id(connection))
        if converters is None:
            converters = self.converters[id(connection)] = compiler.get_converters(
                [s[0] for s in compiler.select[0 : compiler.col_count]]
            )
        compiler.get_converters = lambda expressions: converters
        if connection.vendor == "postgresql":
            compiler.execute_sql = lambda result_type=MULTI, *args, **kwargs: self._execute(
                compiler, params, result_type
            )
        query = copy.copy(self.queryset.query)
        query.get_compiler = lambda *args, **kwargs: compiler
        queryset = copy.copy(self.queryset)
        queryset._query, queryset._result_cache = query, None
        return list(queryset)

    def _execute(self, compiler: Any, params: list[Any], result_type: str) -> Any:
        """SQLCompiler.execute_sql for MULTI and SINGLE (what the iterables ask for), through server_cursor."""
        if result_type not in (MULTI, SINGLE):
            raise ValueError(f"A prepared query gives rows (MULTI or SINGLE), not {result_type}.")
        with server_cursor(using=compiler.using) as cursor:
            cursor.execute(self.sql, params)
            rows = cursor.fetchall()
        if compiler.has_extra_select:
            rows = [row[: compiler.col_count] for row in rows]
        if result_type == SINGLE:
            return rows[0] if rows else None
        return [rows]  # the chunks of rows execute_sql gives


class Prepared(Generic[T]):
    """A queryset-building function whose SQL is made once per shape of its arguments."""

    def __init__(self, build: Callable[..., QuerySet]):
        self.build = build
        self._compiled: dict[tuple, _Compiled] = {}

    def all(self, *args: Arg, using: str = DEFAULT_DB_ALIAS) -> list[T]:
        lists = [list(a) if isinstance(a, list | tuple | set | frozenset) else None for a in args]
        if any(items is not None and not items for items in lists):
            return list(self.build(*args))  # an empty IN (): Django answers without a query
        values = [v for a, items in zip(args, lists, strict=True) for v in (items if items is not None else [a])]
        shape = (
            connections[using].vendor,
            tuple(len(items) if items is not None else -1 for items in lists),
            tuple(type(v) for v in values),
        )
        compiled = self._compiled.get(shape)
        if compiled is None:
            standins, made = [], []
            for i, (a, items) in enumerate(zip(args, lists, strict=True)):
                if items is None:
                    standins.append(_standin(i, 0, a))
                    made.append(standins[-1])
                else:
                    group = [_standin(i, j, v) for j, v in enumerate(items)]
                    standins.extend(group)
                    made.append(group)
            compiled = self._compiled[shape] = _Compiled(self.build(*made), standins, using)
        return compiled.run(values, using)

    def first(self, *args: Arg, using: str = DEFAULT_DB_ALIAS) -> T | None:
        rows = self.all(*args, using=using)
        return rows[0] if rows else None


class _ServerRawQuery(RawQuery):
    """A raw query run through server_cursor (prepared on PostgreSQL), its parameters adapted as
    Django adapts a raw query's."""

    def _execute_query(self) -> None:
        adapt = connections[self.using].ops.adapt_unknown_value
        self.cursor = server_cursor(using=self.using)
        self.cursor.execute(self.sql, tuple(adapt(value) for value in self.params))


def raw_models(model: type[T], sql: str, params: Sequence[Any], *, using: str = DEFAULT_DB_ALIAS) -> list[T]:
    """`model.objects.raw(sql, params)`, evaluated, with the statement prepared on PostgreSQL."""
    query = _ServerRawQuery(sql, using, params=tuple(params))
    return list(RawQuerySet(sql, model=model, query=query, params=tuple(params), using=using))
