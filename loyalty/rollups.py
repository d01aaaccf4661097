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

from loyalty.models import RollupState, Snapshot
from loyalty.selectors import program_time_zone

# A service stamps its rows when it starts and commits within a request's time limit: a day is summed
# only once it ended this long ago, so no row of it can still be on its way.
SETTLE = timedelta(minutes=15)
# Days summed in one transaction when a backlog (a new installation, a time zone change) is filled.
CHUNK_DAYS = 31


@dataclass(frozen=True)
class DailyRollup:
    """A summary table (`model`: a `day` field, the `dims`, the `measures`) and the aggregate that fills it.

    `source(start, end, tz, **filters)` returns the source rows written in [start, end) (start None: from
    the first) as dicts with `day` (a date in tz), the dims and the measures, only those whose dims have
    the values `filters` name; `first()` when the first was written.
    """

    name: str
    model: type[models.Model]
    dims: tuple[str, ...]
    measures: tuple[str, ...]
    source: Callable[..., QuerySet]
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
        parts.append(rollup.source(begin, day_start(end + timedelta(days=1), tz), tz, **filters))
    return _merge(parts, keys, rollup.measures)


def _merge(parts: list[Iterable[dict[str, Any]]], keys: tuple[str, ...], measures: tuple[str, ...]) -> list[dict]:
    totals: dict[tuple, dict[str, Any]] = defaultdict(dict)
    for part in parts:
        for row in part:
            cell = totals[tuple(row[k] for k in keys)]
            for m in measures:
                cell[m] = cell.get(m, 0) + (row[m] or 0)
    return [dict(zip(keys, key, strict=True), **values) for key, values in totals.items()]


# Snapshots -------------------------------------------------------------------------------------------

# A snapshot older than this is not shown: the figure is computed on the spot instead.
SNAPSHOT_MAX_AGE = timedelta(hours=2)


@dataclass(frozen=True)
class HourlySnapshot:
    """A figure about "now" (`take(now)` returns it as JSON-able data) that the hourly job stores."""

    name: str
    take: Callable[[datetime], Any]


_SNAPSHOTS: dict[str, HourlySnapshot] = {}


def register_snapshot(snapshot: HourlySnapshot) -> None:
    _SNAPSHOTS[snapshot.name] = snapshot


def registered_snapshots() -> list[HourlySnapshot]:
    return list(_SNAPSHOTS.values())


def take_snapshot(snapshot: HourlySnapshot, now: datetime | None = None) -> None:
    moment = now or timezone.now()
    Snapshot.objects.update_or_create(name=snapshot.name, defaults={"taken_at": moment, "value": snapshot.take(moment)})


def stored_snapshot(snapshot: HourlySnapshot, now: datetime) -> tuple[Any, datetime] | None:
    """The stored figure and when it was taken, if one was taken in the last two hours."""
    stored = Snapshot.objects.filter(name=snapshot.name, taken_at__gt=now - SNAPSHOT_MAX_AGE).first()
    return (stored.value, stored.taken_at) if stored is not None else None


def snapshot_value(snapshot: HourlySnapshot, now: datetime) -> tuple[Any, datetime]:
    """The stored figure and when it was taken, or, if there is none from the last two hours, the
    figure computed now (exact, slower on a large program)."""
    return stored_snapshot(snapshot, now) or (snapshot.take(now), now)


# Periods ---------------------------------------------------------------------------------------------

PERIODS = {"7d": "Last 7 days", "30d": "Last 30 days", "90d": "Last 90 days", "12m": "Last 12 months"}
DEFAULT_PERIOD = "30d"


@dataclass(frozen=True)
class Period:
    """Whole days of the program's time zone, the last one today; 12 months start on a month's first."""

    key: str
    label: str
    first: date
    last: date
    tz: ZoneInfo

    @property
    def start_at(self) -> datetime:
        return day_start(self.first, self.tz)

    @property
    def end_at(self) -> datetime:
        return day_start(self.last + timedelta(days=1), self.tz)

    @property
    def monthly(self) -> bool:
        return self.key == "12m"

    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]

    def buckets(self) -> list[tuple[str, list[date]]]:
        """A chart's x positions: each day, or each month over 12 months, with the days each holds."""
        days = self.days()
        if not self.monthly:
            return [(f"{d.day} {d:%b}", [d]) for d in days]
        months: dict[tuple[int, int], list[date]] = defaultdict(list)
        for d in days:
            months[(d.year, d.month)].append(d)
        return [(f"{ds[0]:%b %Y}", ds) for ds in months.values()]


def period_of(key: str, now: datetime, tz: ZoneInfo) -> Period:
    key = key if key in PERIODS else DEFAULT_PERIOD
    today = now.astimezone(tz).date()
    if key == "12m":
        month = today.year * 12 + today.month - 1 - 11
        first = date(month // 12, month % 12 + 1, 1)
    else:
        first = today - timedelta(days=int(key[:-1]) - 1)
    return Period(key=key, label=PERIODS[key], first=first, last=today, tz=tz)


def standard_periods(now: datetime, tz: ZoneInfo) -> list[Period]:
    return [period_of(key, now, tz) for key in PERIODS]
