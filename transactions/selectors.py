"""Reads of the stored purchase transactions: the history the API lists, one transaction by receipt,
and the purchases the promotions' backtest replays."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Count, Prefetch, Q, QuerySet, Value

from ledger.services.core import sponsor_by_key
from loyalty import rollups
from loyalty.models import Sponsor
from loyalty.prepared import Prepared
from promotions.context import Item, anonymous_context, line_for, member_from_json
from promotions.hooks import PastTransaction
from promotions.rules import Tx
from transactions import errors
from transactions.models import Transaction, TransactionLine, TransactionReturn, TransactionReward
from transactions.rollups import DAILY_REWARDS, DAILY_SALES

BACKTEST_CHUNK = 500


def history(*, rewards: bool = False, lines: bool = False) -> QuerySet[Transaction]:
    """Transactions newest first with their member and sponsor; rewards (with their promotion
    version) and returns (to net them, `returned_points`), and lines, prefetched when the answer shows them."""
    qs = Transaction.objects.select_related("membership", "sponsor").order_by("-occurred_at", "-id")
    if rewards:
        qs = qs.prefetch_related(
            Prefetch("rewards", TransactionReward.objects.select_related("promotion_version").order_by("id")),
            Prefetch("returns", TransactionReturn.objects.only("transaction_id", "reversed_points")),
        )
    if lines:
        qs = qs.prefetch_related("lines")
    return qs


@dataclass(frozen=True)
class Returned:
    """What the returns of a transaction took back, in minor units: per promotion key (each promotion
    gives one reward per transaction) and per point type."""

    by_promotion: dict[str, int]
    by_point_type: dict[str, int]


def returned_points(tx: Transaction) -> Returned:
    """Summed over the transaction's returns (`tx.returns`, prefetched by `history(rewards=True)`)."""
    by_promotion: dict[str, int] = defaultdict(int)
    by_point_type: dict[str, int] = defaultdict(int)
    for row in tx.returns.all():
        for key, amount in row.reversed_points.items():
            if key == "_by_promotion":
                for promotion, back in amount.items():
                    by_promotion[promotion] += back
            else:
                by_point_type[key] += amount
    return Returned(dict(by_promotion), dict(by_point_type))


def by_receipt(receipt_id: str, sponsor_key: str = "") -> Transaction:
    """The transaction a receipt names; with several sponsors booking the same receipt id, the
    sponsor must be named."""
    qs = Transaction.objects.filter(receipt_id=receipt_id)
    if sponsor_key:
        qs = qs.filter(sponsor=sponsor_by_key(sponsor_key))
    found = list(qs[:2])
    if not found:
        raise errors.TransactionNotFound(f"No transaction has receipt {receipt_id!r}.")
    if len(found) > 1:
        raise errors.AmbiguousReceipt()
    return found[0]


def _receipt_uses_query(sponsor_id: int, receipt_id: str) -> QuerySet:
    from ledger.models import Booking

    transactions = Transaction.objects.filter(sponsor_id=sponsor_id, receipt_id=receipt_id).order_by()
    earns = Booking.objects.filter(kind=Booking.Kind.EARN, sponsor_id=sponsor_id, receipt_id=receipt_id).order_by()
    return (
        transactions.annotate(use=Value("transaction"))
        .values_list("use", flat=True)
        .union(earns.annotate(use=Value("earn")).values_list("use", flat=True), all=True)
    )


_receipt_uses: Prepared[str] = Prepared(_receipt_uses_query)


def receipt_uses(sponsor_id: int, receipt_id: str) -> set[str]:
    """Where the sponsor's receipt is booked already, in one query: "transaction" (a stored /tx
    transaction) and "earn" (a ledger earn, which is how points earned elsewhere keep receipts)."""
    return set(_receipt_uses.all(sponsor_id, receipt_id))


def engine_tx(row: Transaction, *, unknown: str) -> Tx:
    """A stored transaction as the engine saw it: its lines with the facts kept at booking."""
    lines = []
    for line in row.lines.all():  # prefetched
        if not line.known and unknown == "ignore":
            continue
        item = Item(line.product_key, line.quantity, line.unit_price, line.amount)
        lines.append(line_for(line.position, item, line.facts or {}))
    return Tx(
        occurred_at=row.occurred_at,
        total_amount=row.total_amount,
        currency=row.currency,
        channel=row.channel,
        sponsor=row.sponsor.key,
        lines=tuple(lines),
        payment_method=row.payment_method,
        properties=row.properties or {},
    )


def booked_between(since: datetime, until: datetime, unknown_products: str) -> Iterator[PastTransaction]:
    """The transactions booked from `since` to `until`, oldest first, as booked (before returns), with
    the member as the engine knew them; the backtest's history source (promotions.hooks). Read as plain
    rows, not model instances (a backtest reads hundreds of thousands): one query per chunk of purchases,
    one for their lines."""
    sponsors = dict(Sponsor.objects.values_list("pk", "key"))
    rows = (
        Transaction.objects.filter(occurred_at__gte=since, occurred_at__lte=until)
        .order_by("occurred_at", "id")
        .values_list(
            "id",
            "occurred_at",
            "total_amount",
            "currency",
            "channel",
            "payment_method",
            "properties",
            "member_context",
            "membership_id",
            "membership__number",
            "sponsor_id",
        )
    )
    chunk: list[tuple] = []
    for row in rows.iterator(chunk_size=BACKTEST_CHUNK):
        chunk.append(row)
        if len(chunk) == BACKTEST_CHUNK:
            yield from _past_transactions(chunk, sponsors, unknown_products)
            chunk = []
    if chunk:
        yield from _past_transactions(chunk, sponsors, unknown_products)


def booked_count(since: datetime, until: datetime) -> int:
    """How many transactions booked_between reads for this window."""
    return Transaction.objects.filter(occurred_at__gte=since, occurred_at__lte=until).count()


def _past_transactions(chunk: list[tuple], sponsors: dict[int, str], unknown: str) -> Iterator[PastTransaction]:
    lines: dict[int, list] = defaultdict(list)
    stored = (
        TransactionLine.objects.filter(transaction_id__in=[row[0] for row in chunk])
        .order_by("transaction_id", "position")
        .values_list("transaction_id", "position", "product_key", "quantity", "unit_price", "amount", "known", "facts")
    )
    for tx_id, position, product_key, quantity, unit_price, amount, known, facts in stored:
        if not known and unknown == "ignore":
            continue
        lines[tx_id].append(line_for(position, Item(product_key, quantity, unit_price, amount), facts or {}))
    for tx_id, occurred_at, total, currency, channel, payment, properties, context, member_id, number, sponsor in chunk:
        yield PastTransaction(
            membership_id=member_id,
            membership_number=number or "",
            tx=Tx(
                occurred_at=occurred_at,
                total_amount=total,
                currency=currency,
                channel=channel,
                sponsor=sponsors.get(sponsor, ""),
                lines=tuple(lines.get(tx_id, ())),
                payment_method=payment,
                properties=properties or {},
            ),
            member=member_from_json(context) if context else anonymous_context(),
        )


def _buyers_between(start: datetime, end: datetime) -> dict[str, int]:
    """Members who made a purchase booked in [start, end), in all ("all") and per sponsor (its id)."""
    rows = Transaction.objects.filter(created_at__gte=start, created_at__lt=end, membership__isnull=False)
    counts = {"all": rows.aggregate(n=Count("membership_id", distinct=True))["n"]}
    per_sponsor = rows.values("sponsor_id").annotate(n=Count("membership_id", distinct=True)).order_by()
    counts.update((str(row["sponsor_id"]), row["n"]) for row in per_sponsor)
    return counts


def buyers_now(now: datetime) -> dict[str, dict[str, int]]:
    """The hourly snapshot BUYERS: members who bought in each of the dashboard's periods ending today."""
    tz = rollups.program_zone()
    return {
        f"{p.first.isoformat()}/{p.last.isoformat()}": _buyers_between(p.start_at, p.end_at)
        for p in rollups.standard_periods(now, tz)
    }


def buyers(period: rollups.Period, sponsor_id: int | None, now: datetime) -> tuple[int, datetime]:
    """How many members made a purchase booked in the period (booked, like the daily sales, so that the
    dashboard's figures agree), and as of when: a distinct count over months of purchases takes seconds,
    so the standard periods come from the hourly snapshot; any other is counted now."""
    key = "all" if sponsor_id is None else str(sponsor_id)
    stored = rollups.stored_snapshot(BUYERS, now)
    window = stored[0].get(f"{period.first.isoformat()}/{period.last.isoformat()}") if stored else None
    if window is None:
        return _buyers_between(period.start_at, period.end_at).get(key, 0), now
    return window.get(key, 0), stored[1]


def sales_between(
    start: date, end: date, sponsor_id: int | None = None, tz: ZoneInfo | None = None
) -> tuple[dict[date, dict[str, Any]], list[dict[str, Any]]]:
    """Purchases and sales over the days start..end: per day, and per channel and currency (most sales
    first). Sales of different currencies are only ever added per currency."""
    filters = {"sponsor_id": sponsor_id} if sponsor_id is not None else {}
    days: dict[date, dict[str, Any]] = defaultdict(lambda: {"transactions": 0, "sales": defaultdict(Decimal)})
    channels: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rollups.read(DAILY_SALES, start, end, tz=tz, **filters):
        days[row["day"]]["transactions"] += row["transactions"]
        days[row["day"]]["sales"][row["currency"]] += row["sales"]
        cell = channels.setdefault(
            (row["channel"], row["currency"]),
            {"channel": row["channel"], "currency": row["currency"], "transactions": 0, "sales": Decimal(0)},
        )
        cell["transactions"] += row["transactions"]
        cell["sales"] += row["sales"]
    per_day = {day: {"transactions": d["transactions"], "sales": dict(d["sales"])} for day, d in days.items()}
    return per_day, sorted(channels.values(), key=lambda c: (-c["sales"], c["channel"]))


def points_by_promotion(
    start: date, end: date, sponsor_id: int | None = None, tz: ZoneInfo | None = None
) -> list[dict[str, Any]]:
    """Points each promotion gave over the days start..end (minor units per point type), most first."""
    filters = {"sponsor_id": sponsor_id} if sponsor_id is not None else {}
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rollups.read(DAILY_REWARDS, start, end, by_day=False, tz=tz, **filters):
        cell = merged.setdefault(
            (row["promotion_key"], row["point_type"]),
            {"promotion_key": row["promotion_key"], "point_type": row["point_type"], "rewards": 0, "amount": 0},
        )
        cell["rewards"] += row["rewards"]
        cell["amount"] += row["amount"]
    return sorted(merged.values(), key=lambda c: (-c["amount"], c["promotion_key"]))


def promotion_rewards_per_day(key: str, start: date, end: date, tz: ZoneInfo | None = None) -> list[dict[str, Any]]:
    """What one promotion's rewards gave per day start..end and point type (minor units), from the summary."""
    merged: dict[tuple[date, str], dict[str, Any]] = {}
    for row in rollups.read(DAILY_REWARDS, start, end, tz=tz, promotion_key=key):
        cell = merged.setdefault(
            (row["day"], row["point_type"]),
            {"day": row["day"], "point_type": row["point_type"], "rewards": 0, "amount": 0},
        )
        cell["rewards"] += row["rewards"]
        cell["amount"] += row["amount"]
    return sorted(merged.values(), key=lambda c: (c["day"], c["point_type"]))


BUYERS = rollups.HourlySnapshot(name="transactions.buyers", take=buyers_now)

REACHED_PERIODS = ("30d", "90d", "12m")  # the periods of a promotion's results page


def _reached_between(periods: list[rollups.Period], key: str | None = None) -> dict[str, dict[str, int]]:
    """Members each promotion gave a reward to in purchases booked in each period: one scan of the rewards
    of the longest period, a distinct count per period ({"first/last": {promotion key: members}})."""
    rows = TransactionReward.objects.filter(
        transaction__created_at__gte=min(p.start_at for p in periods),
        transaction__created_at__lt=max(p.end_at for p in periods),
    )
    if key is not None:
        rows = rows.filter(promotion_key=key)
    counts = {
        f"p{i}": Count(
            "transaction__membership_id",
            distinct=True,
            filter=Q(transaction__created_at__gte=p.start_at, transaction__created_at__lt=p.end_at),
        )
        for i, p in enumerate(periods)
    }
    reached: dict[str, dict[str, int]] = {f"{p.first.isoformat()}/{p.last.isoformat()}": {} for p in periods}
    for row in rows.values("promotion_key").annotate(**counts).order_by():
        for i, p in enumerate(periods):
            reached[f"{p.first.isoformat()}/{p.last.isoformat()}"][row["promotion_key"]] = row[f"p{i}"]
    return reached


def members_reached_now(now: datetime) -> dict[str, dict[str, int]]:
    """The hourly snapshot MEMBERS_REACHED: per results period ending today, members per promotion."""
    tz = rollups.program_zone()
    return _reached_between([rollups.period_of(key, now, tz) for key in REACHED_PERIODS])


MEMBERS_REACHED = rollups.HourlySnapshot(name="transactions.members_reached", take=members_reached_now)


def members_reached(key: str, period: rollups.Period, now: datetime) -> tuple[int, datetime]:
    """How many members a promotion rewarded in purchases booked in the period, and as of when: from the
    hourly snapshot for the results page's periods (a distinct count over a year of rewards takes seconds on
    a large program); counted now for this promotion when there is none."""
    stored = rollups.stored_snapshot(MEMBERS_REACHED, now)
    window = stored[0].get(f"{period.first.isoformat()}/{period.last.isoformat()}") if stored else None
    if window is None:
        counted = _reached_between([period], key)
        return next(iter(counted.values())).get(key, 0), now
    return window.get(key, 0), stored[1]
