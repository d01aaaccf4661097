"""Inserting many rows of one model in one go, for the services' bulk paths.

PostgreSQL: one `COPY ... FROM STDIN` per call (about ten times Django's bulk_create on this
machine), ids drawn beforehand from the table's sequence when the caller needs them; fewer than
COPY_FROM rows go in one INSERT ... VALUES (with RETURNING for the ids). Elsewhere
(SQLite): bulk_create. Rows are plain dicts of attribute names (`membership_id`, not `membership`);
a column left out gets what `Model()` would give it (the field's default, "" for text, None), and
`auto_now`/`auto_now_add` columns get now, so a row reads back as `Model.objects.create(**row)`
would have written it. No signals are sent (the
project has none on these models) and no `save()` runs: callers are services that validated the
values already.
"""

from __future__ import annotations

import functools
import itertools
import operator
from collections.abc import Iterable
from typing import Any

from django.db import connection, models
from django.utils import timezone

from loyalty.jsontext import dumper
from loyalty.prepared import server_cursor

COPY_FROM = 50  # rows: below, one INSERT ... VALUES is cheaper than a COPY (and drawing ids for it)


def _columns(model: type[models.Model], *, with_id: bool) -> list[models.Field]:
    return [f for f in model._meta.concrete_fields if with_id or not f.primary_key]


def _auto(field: models.Field) -> bool:
    return bool(getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False))


def _default(field: models.Field, now) -> Any:
    if _auto(field):
        return now
    return field.get_default()  # as Model(): "" for text, None for a nullable column


def _draw_ids(model: type[models.Model], count: int) -> list[int]:
    table = model._meta.db_table
    pk = model._meta.pk.column
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [table, pk, count],
        )
        return [row[0] for row in cursor.fetchall()]


def insert_rows(
    model: type[models.Model],
    rows: list[dict[str, Any]],
    *,
    ids: bool = False,
    expressions: dict[str, str] | None = None,
) -> list[int] | None:
    """Insert `rows` (dicts of attribute name -> value) in their order; with `ids`, return the new
    primary keys in the same order. `expressions` (PostgreSQL only): attribute name -> an SQL
    expression of the statement, not of the row (the transaction's id), the same on every row."""
    if not rows:
        return [] if ids else None
    if connection.vendor != "postgresql":
        objs = [model(**row) for row in rows]
        model.objects.bulk_create(objs, batch_size=500)
        return [obj.pk for obj in objs] if ids else None
    given = set().union(*(row.keys() for row in rows))
    if len(rows) < COPY_FROM:
        new_ids = _insert_values(model, given, rows, ids=ids, expressions=expressions or {})
        return new_ids if ids else None
    if expressions:
        with connection.cursor() as cursor:
            cursor.execute("SELECT " + ", ".join(expressions.values()))
            constants = dict(zip(expressions, cursor.fetchone(), strict=True))
        rows = [{**row, **constants} for row in rows]
        given |= constants.keys()
    new_ids = _draw_ids(model, len(rows)) if ids else None
    _copy(model, given, rows, new_ids=new_ids)
    return new_ids


def stream_rows(model: type[models.Model], rows: Iterable[dict[str, Any]], *, columns: set[str]) -> int:
    """Insert rows as they come from an iterator (`columns`: the attribute names they may give), in
    one COPY on PostgreSQL: reading the next rows overlaps the server writing the ones before, and the
    rows are never all in memory. Elsewhere bulk_create, 500 at a time. Returns how many."""
    if connection.vendor != "postgresql":
        count = 0
        iterator = iter(rows)
        while chunk := [model(**row) for row in itertools.islice(iterator, 500)]:
            model.objects.bulk_create(chunk)
            count += len(chunk)
        return count
    return _copy(model, columns, rows)


class _Plan:
    """How rows of one model become column values: the columns rows give, plus those that need a
    value (a nullable column no row gives and whose default is None is left out: NULL either way);
    defaults filled in, JSON columns as text. Made once per model and set of given columns
    (`_plan`); the defaults that change (auto_now columns, callable defaults) are made per call."""

    def __init__(self, model: type[models.Model], given: frozenset[str], with_id: bool):
        self.fields = [
            f
            for f in _columns(model, with_id=with_id)
            if f.attname in given or f.primary_key or not f.null or f.has_default() or _auto(f)
        ]
        names = [f.attname for f in self.fields]
        self.json_columns = []
        self.static: dict[str, Any] = {}
        self.dynamic: list[tuple[str, models.Field, Any]] = []  # (name, field, dumps or None)
        for i, f in enumerate(self.fields):
            is_json = isinstance(f, models.JSONField)
            if is_json and f.attname in given:
                self.json_columns.append((i, dumper(f.encoder), f.null))
            # A JSON column no row gives: the same default on every row of a call, its JSON text once.
            dumps = dumper(f.encoder) if is_json and f.attname not in given else None
            if f.primary_key:
                self.static[f.attname] = None
            elif _auto(f) or (f.has_default() and callable(f.default)):
                self.dynamic.append((f.attname, f, dumps))
            else:
                value = f.get_default()
                self.static[f.attname] = dumps(value) if dumps and not (value is None and f.null) else value
        self.pk_index = names.index(model._meta.pk.attname) if with_id else -1
        getter = operator.itemgetter(*names)  # a row's values in column order, in C (a tuple if several)
        self._pick = (lambda merged: list(getter(merged))) if len(names) > 1 else (lambda merged: [getter(merged)])
        self.table = connection.ops.quote_name(model._meta.db_table)
        self.columns = ", ".join(connection.ops.quote_name(f.column) for f in self.fields)

    def defaults(self) -> dict[str, Any]:
        """Every column's default for the rows of one call (auto_now columns: now)."""
        if not self.dynamic:
            return self.static
        now = timezone.now()
        defaults = dict(self.static)
        for name, field, dumps in self.dynamic:
            value = _default(field, now)
            defaults[name] = dumps(value) if dumps and not (value is None and field.null) else value
        return defaults

    def values(self, row: dict[str, Any], defaults: dict[str, Any]) -> list[Any]:
        values = self._pick({**defaults, **row})
        for i, dumps, null in self.json_columns:
            value = values[i]
            values[i] = None if value is None and null else dumps(value)
        return values


@functools.lru_cache(maxsize=512)
def _plan(model: type[models.Model], given: frozenset[str], with_id: bool) -> _Plan:
    return _Plan(model, given, with_id)


def _copy(
    model: type[models.Model], given: set[str], rows: Iterable[dict[str, Any]], *, new_ids: list[int] | None = None
) -> int:
    """COPY `rows` into the model's table (with `new_ids`, their primary keys)."""
    plan = _plan(model, frozenset(given), new_ids is not None)
    defaults = plan.defaults()
    count = 0
    # wrap_database_errors: a failed COPY raises Django's IntegrityError (etc.), as execute() does.
    with (
        connection.wrap_database_errors,
        connection.cursor() as cursor,
        cursor.copy(f"COPY {plan.table} ({plan.columns}) FROM STDIN") as copy,
    ):
        for row in rows:
            values = plan.values(row, defaults)
            if new_ids is not None:
                values[plan.pk_index] = new_ids[count]
            copy.write_row(values)
            count += 1
    return count


@functools.lru_cache(maxsize=1024)
def _values_sql(
    plan: _Plan, count: int, expressions: tuple[tuple[str, str], ...], returning: str, first: int = 1
) -> str:
    """INSERT ... VALUES for `count` rows with numbered placeholders ($first, ...), made once per shape."""
    inline = dict(expressions)
    numbers = itertools.count(first)
    rows = []
    for _ in range(count):
        marks = [f"({inline[f.attname]})" if f.attname in inline else f"${next(numbers)}" for f in plan.fields]
        rows.append("(" + ", ".join(marks) + ")")
    # Quoted model names, placeholders and the caller's expressions only: the values travel as parameters.
    sql = f"INSERT INTO {plan.table} ({plan.columns}) VALUES {', '.join(rows)}"  # noqa: S608
    return f"{sql} RETURNING {returning}" if returning else sql


def _insert_values(
    model: type[models.Model], given: set[str], rows: list[dict[str, Any]], *, ids: bool, expressions: dict[str, str]
) -> list[int]:
    """A few rows in one INSERT ... VALUES statement (with `ids`, RETURNING their primary keys, in
    the rows' order): one round trip, without the array building of bulk_create.

    The statement has PostgreSQL's own $n placeholders and goes through loyalty.prepared's
    server_cursor (values bound by the server, the statement prepared once per shape): Django's
    default cursor binds on the client, which means scanning the SQL for %s each time, and a
    statement of many rows is too long for psycopg's cache of those scans (it cost more CPU than
    the insert itself). Django's cursor wrapper still runs around it: errors, execute wrappers and
    the query log are as for any other query."""
    plan = _plan(model, frozenset(given | expressions.keys()), False)
    defaults = plan.defaults()
    returning = connection.ops.quote_name(model._meta.pk.column) if ids else ""
    sql = _values_sql(plan, len(rows), tuple(sorted(expressions.items())), returning)
    if expressions:
        keep = [i for i, f in enumerate(plan.fields) if f.attname not in expressions]
        params = [values[i] for row in rows for values in (plan.values(row, defaults),) for i in keep]
    else:
        params = [value for row in rows for value in plan.values(row, defaults)]
    with server_cursor(numbered=True) as cursor:
        cursor.execute(sql, params)
        if not ids:
            return []
        # RETURNING gives no order guarantee: the ids come from one sequence in VALUES order, so sorted
        # they match the rows (each statement draws its ids in one go, in row order).
        return sorted(row[0] for row in cursor.fetchall())


Group = tuple[type[models.Model], list[dict[str, Any]], dict[str, str] | None]


def _group_values(
    model: type[models.Model],
    rows: list[dict[str, Any]],
    expressions: dict[str, str],
    params: list[Any],
    *,
    returning="",
) -> str:
    """One INSERT ... VALUES of a multi-table statement: its SQL, numbered after the `params` so far,
    which it extends with its own values (the `expressions` columns take none)."""
    given = set().union(*(row.keys() for row in rows))
    plan = _plan(model, frozenset(given | expressions.keys()), False)
    defaults = plan.defaults()
    sql = _values_sql(plan, len(rows), tuple(sorted(expressions.items())), returning, len(params) + 1)
    keep = [i for i, f in enumerate(plan.fields) if f.attname not in expressions]
    params += [values[i] for row in rows for values in (plan.values(row, defaults),) for i in keep]
    return sql


def insert_together(*groups: Group) -> None:
    """Rows of several tables (model, rows, expressions as insert_rows takes them) in one statement
    on PostgreSQL: `WITH a AS (INSERT ...) INSERT ...`, one round trip where a booking writes an
    audit entry and an event side by side. No ids come back. Elsewhere, or for many rows, one
    insert_rows per table."""
    groups = tuple(g for g in groups if g[1])
    if connection.vendor != "postgresql" or len(groups) < 2 or any(len(rows) >= COPY_FROM for _, rows, _ in groups):
        for model, rows, expressions in groups:
            insert_rows(model, rows, expressions=expressions)
        return
    statements, params = [], []
    for model, rows, expressions in groups:
        statements.append(_group_values(model, rows, expressions or {}, params))
    *first, last = statements
    sql = "WITH " + ", ".join(f"w{i} AS ({s})" for i, s in enumerate(first)) + " " + last
    with server_cursor(numbered=True) as cursor:
        cursor.execute(sql, params)


Child = tuple[type[models.Model], list[dict[str, Any]], str | None, dict[str, str] | None]


def insert_with_children(parent: models.Model, *children: Child) -> None:
    """An unsaved instance and rows of other tables that name it, in one statement on PostgreSQL:
    `WITH w0 AS (INSERT parent RETURNING id), w1 AS (INSERT ...), ... SELECT id FROM w0`. Each
    child group is (model, rows, link, expressions as insert_rows takes them): the `link` attribute
    of its rows (a foreign key, or a text column such as an audit entry's object id) takes the
    parent's new id inside the statement. The parent gets its id and is saved, as insert_models
    with `ids` leaves it. Elsewhere, or for many rows, the parent first, then each group with the
    id filled in."""
    model = type(parent)
    rows = model_rows([parent])
    children = tuple(c for c in children if c[1])
    if connection.vendor != "postgresql" or any(len(c[1]) >= COPY_FROM for c in children):
        insert_models([parent], ids=True)
        for child, child_rows, link, expressions in children:
            if link:
                child_rows = [{**row, link: parent.pk} for row in child_rows]
            insert_rows(child, child_rows, expressions=expressions)
        return
    pk = connection.ops.quote_name(model._meta.pk.column)
    params: list[Any] = []
    statements = [_group_values(model, rows, {}, params, returning=pk)]
    for child, child_rows, link, expressions in children:
        new_id = f"(SELECT {pk} FROM w0)"  # noqa: S608 - the quoted primary key column
        expressions = {**(expressions or {}), **({link: new_id} if link else {})}
        statements.append(_group_values(child, child_rows, expressions, params))
    # Quoted names, placeholders and the callers' expressions only: the values travel as parameters.
    sql = "WITH " + ", ".join(f"w{i} AS ({s})" for i, s in enumerate(statements)) + f" SELECT {pk} FROM w0"  # noqa: S608
    with server_cursor(numbered=True) as cursor:
        cursor.execute(sql, params)
        (parent.pk,) = cursor.fetchone()
    parent._state.adding, parent._state.db = False, connection.alias


def model_rows(objs: list[models.Model]) -> list[dict[str, Any]]:
    """Unsaved instances as insert_rows takes them (auto_now columns set to now, on the instances too)."""
    if not objs:
        return []
    now = timezone.now()
    fields = _columns(type(objs[0]), with_id=False)
    names = [field.attname for field in fields]
    auto = [name for field, name in zip(fields, names, strict=True) if _auto(field)]
    rows = []
    for obj in objs:
        obj._prepare_related_fields_for_save(operation_name="bulk_create")  # foreign keys from saved objects
        values = obj.__dict__
        for name in auto:
            if values[name] is None:
                values[name] = now
        rows.append({name: values[name] for name in names})
    return rows


def insert_models(objs: list[models.Model], *, ids: bool = False, expressions: dict[str, str] | None = None) -> None:
    """bulk_create for model instances through insert_rows (on PostgreSQL one INSERT ... VALUES for a
    few rows, one COPY for many): the same rows, auto_now fields set on the instances, and with `ids`
    their new primary keys. Django's bulk_create costs several times as much CPU per call.
    `expressions`: as insert_rows (PostgreSQL only)."""
    if not objs:
        return
    model = type(objs[0])
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objs)
        return
    new_ids = insert_rows(model, model_rows(objs), ids=ids, expressions=expressions)
    for obj, pk in zip(objs, new_ids or [], strict=False):
        obj.pk = pk
        obj._state.adding, obj._state.db = False, connection.alias


def audit_columns(actor) -> dict[str, Any]:
    """The actor's columns of an audit row, as loyalty.audit.record_audit writes them."""
    return {
        "actor_type": actor.kind,
        "actor_user_id": actor.user.pk if actor.user else None,
        "actor_client_id": actor.client.pk if actor.client else None,
        "actor_label": actor.label[:200],
        "request_id": actor.request_id[:64],
        "remote_addr": actor.remote_addr,
    }


def current_txid() -> int | None:
    """The writing transaction's id, as loyalty.outbox.emit_event stores it (None off PostgreSQL)."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_xact_id()::text::bigint")
        return cursor.fetchone()[0]
