"""Inserting many rows of one model in one go, for the services' bulk paths.

PostgreSQL: one `COPY ... FROM STDIN` per call (about ten times Django's bulk_create on this
machine), ids drawn beforehand from the table's sequence when the caller needs them. Elsewhere
(SQLite): bulk_create. Rows are plain dicts of attribute names (`membership_id`, not `membership`);
a column left out gets what `Model()` would give it (the field's default, "" for text, None), and
`auto_now`/`auto_now_add` columns get now, so a row reads back as `Model.objects.create(**row)`
would have written it. No signals are sent (the
project has none on these models) and no `save()` runs: callers are services that validated the
values already.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Iterable
from typing import Any

from django.db import connection, models
from django.utils import timezone

from loyalty.jsontext import dumper


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


def insert_rows(model: type[models.Model], rows: list[dict[str, Any]], *, ids: bool = False) -> list[int] | None:
    """Insert `rows` (dicts of attribute name -> value) in their order; with `ids`, return the new
    primary keys in the same order."""
    if not rows:
        return [] if ids else None
    if connection.vendor != "postgresql":
        objs = [model(**row) for row in rows]
        model.objects.bulk_create(objs, batch_size=500)
        return [obj.pk for obj in objs] if ids else None
    new_ids = _draw_ids(model, len(rows)) if ids else None
    given = set().union(*(row.keys() for row in rows))
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


def _copy(
    model: type[models.Model], given: set[str], rows: Iterable[dict[str, Any]], *, new_ids: list[int] | None = None
) -> int:
    """COPY `rows` into the model's table (with `new_ids`, their primary keys): the columns rows give,
    plus those that need a value (a nullable column no row gives and whose default is None is left
    out: NULL either way)."""
    now = timezone.now()
    fields = [
        f
        for f in _columns(model, with_id=new_ids is not None)
        if f.attname in given or f.primary_key or not f.null or f.has_default() or _auto(f)
    ]
    names = [f.attname for f in fields]
    fill = [None if f.primary_key else _default(f, now) for f in fields]
    json_columns = []
    for i, f in enumerate(fields):
        if isinstance(f, models.JSONField):
            if f.attname in given:
                json_columns.append((i, dumper(f.encoder), f.null))
            else:  # the same default on every row: its JSON text once
                fill[i] = None if fill[i] is None and f.null else dumper(f.encoder)(fill[i])
    pk_index = names.index(model._meta.pk.attname) if new_ids is not None else -1
    defaults = dict(zip(names, fill, strict=True))
    getter = operator.itemgetter(*names)  # a row's values in column order, in C (a tuple if several)
    pick = (lambda merged: list(getter(merged))) if len(names) > 1 else (lambda merged: [getter(merged)])
    sql = "COPY {} ({}) FROM STDIN".format(
        connection.ops.quote_name(model._meta.db_table),
        ", ".join(connection.ops.quote_name(f.column) for f in fields),
    )
    count = 0
    # wrap_database_errors: a failed COPY raises Django's IntegrityError (etc.), as execute() does.
    with connection.wrap_database_errors, connection.cursor() as cursor, cursor.copy(sql) as copy:
        for row in rows:
            values = pick({**defaults, **row})
            for i, dumps, null in json_columns:
                value = values[i]
                values[i] = None if value is None and null else dumps(value)
            if new_ids is not None:
                values[pk_index] = new_ids[count]
            copy.write_row(values)
            count += 1
    return count


COPY_FROM = 50  # rows: below, bulk_create's one statement is cheaper than drawing ids and a COPY


def insert_models(objs: list[models.Model], *, ids: bool = False) -> None:
    """bulk_create for model instances through insert_rows (one COPY on PostgreSQL): the same rows,
    auto_now fields set on the instances, and with `ids` their new primary keys. A few rows go through
    bulk_create: one round trip, where COPY with ids takes two."""
    if not objs:
        return
    model = type(objs[0])
    if connection.vendor != "postgresql" or len(objs) < COPY_FROM:
        model.objects.bulk_create(objs)
        return
    now = timezone.now()
    fields = _columns(model, with_id=False)
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
    new_ids = insert_rows(model, rows, ids=ids)
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
