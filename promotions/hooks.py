"""Extension points of the promotions app for the apps above it.

The `issueVoucher` effect names a voucher type, which the vouchers app owns: it registers where
promotions find the voucher types (keys and names) for validating a definition and for the editor:

    from promotions.hooks import register_voucher_types

    register_voucher_types(lambda: dict(VoucherType.objects.values_list("key", "name")))

With none registered, a definition that issues a voucher is refused (vouchers are not installed).

The backtest (promotions.backtest) replays stored purchases against a promotion's definition. The
purchases are stored by the transactions app, which stands above this one, so it hands them over by
registering a history source from its AppConfig.ready():

    from promotions.hooks import register_history_source

    register_history_source(booked_between)

A source is called with (since, until, unknown_products) and yields PastTransaction, oldest first,
reading in chunks. With none registered the backtest finds nothing to replay.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from promotions.rules import Member, Tx


@dataclass(frozen=True)
class PastTransaction:
    """A booked purchase as the engine saw it when it was booked."""

    membership_id: int
    membership_number: str
    tx: Tx
    member: Member


VoucherTypes = Callable[[], dict[str, str]]
_voucher_types: VoucherTypes | None = None


def register_voucher_types(fn: VoucherTypes) -> VoucherTypes:
    """fn() -> {voucher type key: name}, read when a definition is checked or the editor opens."""
    global _voucher_types
    _voucher_types = fn
    return fn


def voucher_types() -> dict[str, str] | None:
    """The voucher types by key, or None without the vouchers app."""
    return _voucher_types() if _voucher_types is not None else None


HistorySource = Callable[[datetime, datetime, str], Iterable[PastTransaction]]
_history_source: HistorySource | None = None


def register_history_source(fn: HistorySource) -> HistorySource:
    """fn(since, until, unknown_products) -> PastTransaction oldest first. One source; a second is a mistake."""
    global _history_source
    if _history_source is not None and _history_source is not fn:
        raise ImproperlyConfigured(f"A history source is already registered: {_history_source!r}.")
    _history_source = fn
    return fn


def past_transactions(since: datetime, until: datetime, *, unknown_products: str) -> Iterable[PastTransaction]:
    if _history_source is None:
        return []
    return _history_source(since, until, unknown_products)


PointsGiven = Callable[[date, date], list[dict[str, Any]]]
_points_given: PointsGiven | None = None


def register_points_given(fn: PointsGiven) -> PointsGiven:
    """fn(first day, last day) -> [{promotion_key, point_type, rewards, amount}]: what booked purchases
    gave per promotion over those days of the program's time zone (the promotion list's results)."""
    global _points_given
    _points_given = fn
    return fn


def points_given(first: date, last: date) -> list[dict[str, Any]]:
    return _points_given(first, last) if _points_given is not None else []


RewardsPerDay = Callable[[str, date, date], list[dict[str, Any]]]
_rewards_per_day: RewardsPerDay | None = None


def register_rewards_per_day(fn: RewardsPerDay) -> RewardsPerDay:
    """fn(promotion key, first day, last day) -> [{day, point_type, rewards, amount}]: what one promotion's
    rewards gave in booked purchases on each day of the program's time zone (its results page)."""
    global _rewards_per_day
    _rewards_per_day = fn
    return fn


def rewards_per_day(key: str, first: date, last: date) -> list[dict[str, Any]]:
    return _rewards_per_day(key, first, last) if _rewards_per_day is not None else []


HistoryCount = Callable[[datetime, datetime], int]
_history_count: HistoryCount | None = None


def register_history_count(fn: HistoryCount) -> HistoryCount:
    """fn(since, until) -> how many stored purchases a backtest of that window reads."""
    global _history_count
    _history_count = fn
    return fn


def past_transaction_count(since: datetime, until: datetime) -> int:
    return _history_count(since, until) if _history_count is not None else 0


MembersReached = Callable[[str, Any, datetime], tuple[int, datetime]]
_members_reached: MembersReached | None = None


def register_members_reached(fn: MembersReached) -> MembersReached:
    """fn(promotion key, period, now) -> (members it rewarded in the period, as of when)."""
    global _members_reached
    _members_reached = fn
    return fn


def members_reached(key: str, period: Any, now: datetime) -> tuple[int, datetime] | None:
    return _members_reached(key, period, now) if _members_reached is not None else None
