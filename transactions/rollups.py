"""The purchases' daily summaries: sales per channel and points per promotion, for the dashboard."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Count, F, Min, QuerySet, Sum
from django.db.models.functions import TruncDate

from loyalty.rollups import DailyRollup
from transactions.models import DailyRewards, DailySales, Transaction, TransactionReward


def sales_per_day(start: datetime | None, end: datetime, tz: ZoneInfo, **filters: Any) -> QuerySet:
    rows = Transaction.objects.filter(created_at__lt=end)
    if start is not None:
        rows = rows.filter(created_at__gte=start)
    return (
        rows.annotate(day=TruncDate("created_at", tzinfo=tz))
        .values("day", "sponsor_id", "channel", "currency")
        .annotate(transactions=Count("id"), sales=Sum("total_amount"))
        .filter(**filters)
        .order_by()
    )


def rewards_per_day(start: datetime | None, end: datetime, tz: ZoneInfo, **filters: Any) -> QuerySet:
    rows = TransactionReward.objects.filter(transaction__created_at__lt=end)
    if start is not None:
        rows = rows.filter(transaction__created_at__gte=start)
    return (
        rows.annotate(day=TruncDate("transaction__created_at", tzinfo=tz), sponsor_id=F("transaction__sponsor_id"))
        .values("day", "sponsor_id", "promotion_key", "point_type")
        .annotate(rewards=Count("id"), amount=Sum("amount"))
        .filter(**filters)
        .order_by()
    )


def first_purchase_at() -> datetime | None:
    return Transaction.objects.aggregate(first=Min("created_at"))["first"]


DAILY_SALES = DailyRollup(
    name="transactions.daily_sales",
    model=DailySales,
    dims=("sponsor_id", "channel", "currency"),
    measures=("transactions", "sales"),
    source=sales_per_day,
    first=first_purchase_at,
)

DAILY_REWARDS = DailyRollup(
    name="transactions.daily_rewards",
    model=DailyRewards,
    dims=("sponsor_id", "promotion_key", "point_type"),
    measures=("rewards", "amount"),
    source=rewards_per_day,
    first=first_purchase_at,
)
