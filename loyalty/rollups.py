"""Daily summary tables, so that the dashboard reads a few hundred rows instead of millions.

A rollup sums the rows written on each day (a day of the program's time zone) into a small table.
Its sources (bookings, transactions) are written at "now" and never change afterwards, so a day that
has ended stays summed: the periodic job `roll_up_days` sums each closed day once, and the days after
the last summed one (today; yesterday until the job has run) are read live with the same aggregate.
A reader therefore always sees every committed row, whether the job ran or not.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import models, transaction
from django.db.models import QuerySet
from django.utils import timezone

from loyalty.models import RollupState
from loyalty.selectors import program_time_zone

# A service stamps its rows when it starts and commits within a request's time limit: a day is summed
# only once it ended this long ago, so no row of it can still be on its way.
SETTLE = timedelta(minutes=15)
# Days summed in one transaction when a backlog (a new installation, a time zone change) is filled.
CHUNK_DAYS = 31


@dataclass(frozen=True)
class DailyRollup:
    """A summary table (`model`: a `day` field, the `dims`, the `measures`) and the aggregate that fills it.

    `source(start, end, tz)` returns the source rows written in [start, end) (start None: from the first)
    as dicts with `day` (a date in tz), the dims and the measures; `first()` when the first was written.
    """

    name: str
    model: type[models.Model]
    dims: tuple[str, ...]
    measures: tuple[str, ...]
    source: Callable[[datetime | None, datetime, ZoneInfo], QuerySet]
    first: Callable[[], datetime | None]


_ROLLUPS: dict[str, DailyRollup] = {}


def register_rollup(rollup: DailyRollup) -> None:
    _ROLLUPS[rollup.name] = rollup


def registered_rollups() -> list[DailyRollup]:
    return list(_ROLLUPS.values())


def day_start(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=tz)


def program_zone() -> ZoneInfo:
    return ZoneInfo(program_time_zone())


def roll_up(rollup: DailyRollup, now: datetime | None = None) -> int:
    """Sum every closed day not summed yet; returns how many days were summed."""
    tz = program_zone()
    last_closed = ((now or timezone.now()) - SETTLE).astimezone(tz).date() - timedelta(days=1)
    summed = 0
    while True:
        with transaction.atomic():
            state, _ = RollupState.objects.select_for_update().get_or_create(
                name=rollup.name, defaults={"time_zone": tz.key}
            )
            if state.time_zone != tz.key:
                rollup.model.objects.all().delete()
                state.through, state.time_zone = None, tz.key
            if state.through is None:
                first = rollup.first()
                start = first.astimezone(tz).date() if first else last_closed + timedelta(days=1)
            else:
                start = state.through + timedelta(days=1)
            if start > last_closed:
                # Nothing written before today: every closed day is (trivially) summed.
                state.through = max(state.through or last_closed, last_closed)
                state.save()
                return summed
            end = min(last_closed, start + timedelta(days=CHUNK_DAYS - 1))
            rollup.model.objects.filter(day__gte=start, day__lte=end).delete()
            rows = rollup.source(day_start(start, tz), day_start(end + timedelta(days=1), tz), tz)
            rollup.model.objects.bulk_create((rollup.model(**row) for row in rows), batch_size=2000)
            state.through = end
            state.save()
            summed += (end - start).days + 1


def read(
    rollup: DailyRollup,
    start: date | None,
    end: date,
    *,
    by_day: bool = True,
    tz: ZoneInfo | None = None,
    **filters: Any,
) -> list[dict[str, Any]]:
    """The measures summed per day (or over the whole span, by_day=False) and dims, for days start..end
    of the program's time zone (`tz` if the caller has read it already).

    How far the table is summed, the summed days, then the days after them read live by the source
    (one aggregate, and whatever the source reads first to aim it).
    """
    tz = tz or program_zone()
    through = RollupState.objects.filter(name=rollup.name, time_zone=tz.key).values_list("through", flat=True).first()
    keys = (("day",) if by_day else ()) + rollup.dims
    parts: list[Iterable[dict[str, Any]]] = []
    if through is not None and (start is None or start <= through):
        summed = rollup.model.objects.filter(day__lte=min(end, through), **filters)
        if start is not None:
            summed = summed.filter(day__gte=start)
        parts.append(summed.values(*keys).annotate(**{m: models.Sum(m) for m in rollup.measures}).order_by())
    live_from = start if through is None else max(start or through, through + timedelta(days=1))
    if live_from is None or live_from <= end:
        begin = day_start(live_from, tz) if live_from else None
        parts.append(rollup.source(begin, day_start(end + timedelta(days=1), tz), tz).filter(**filters))
    return _merge(parts, keys, rollup.measures)


def _merge(parts: list[Iterable[dict[str, Any]]], keys: tuple[str, ...], measures: tuple[str, ...]) -> list[dict]:
    totals: dict[tuple, dict[str, Any]] = defaultdict(dict)
    for part in parts:
        for row in part:
            cell = totals[tuple(row[k] for k in keys)]
            for m in measures:
                cell[m] = cell.get(m, 0) + (row[m] or 0)
    return [dict(zip(keys, key, strict=True), **values) for key, values in totals.items()]
