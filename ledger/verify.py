"""The ledger invariants I1-I10 of LEDGER.md, checked against the stored rows."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import Count, Sum

from ledger.models import Account, Booking, Lot, LotMovement, PointType, Posting

CONSUMING = {Booking.Kind.REDEEM, Booking.Kind.TRANSFER, Booking.Kind.ADJUST}


@dataclass(frozen=True)
class Violation:
    invariant: str
    detail: str

    def __str__(self) -> str:
        return f"{self.invariant}: {self.detail}"


def verify(membership_ids: list[int] | None = None) -> list[Violation]:
    return list(_violations(membership_ids))


def _violations(membership_ids: list[int] | None) -> Iterator[Violation]:
    accounts = Account.objects.filter(kind=Account.Kind.MEMBER)
    postings = Posting.objects.all()
    if membership_ids is not None:
        accounts = accounts.filter(membership_id__in=membership_ids)
        postings = postings.filter(booking__in=Booking.objects.filter(postings__account__in=accounts))

    for row in (
        postings.values("booking_id", "account__point_type_id").annotate(s=Sum("amount")).exclude(s=0).order_by()
    ):
        yield Violation(
            "I1",
            f"booking {row['booking_id']} postings sum to {row['s']} for point type {row['account__point_type_id']}",
        )

    sums = dict(
        Posting.objects.filter(account__in=accounts)
        .values("account_id")
        .annotate(s=Sum("amount"))
        .values_list("account_id", "s")
        .order_by()
    )
    lot_sums = dict(
        Lot.objects.filter(account__in=accounts)
        .values("account_id")
        .annotate(s=Sum("remaining"))
        .values_list("account_id", "s")
        .order_by()
    )
    for account_id, balance in accounts.values_list("pk", "balance"):
        if balance != sums.get(account_id, 0):
            yield Violation(
                "I2", f"account {account_id} caches {balance}, its postings sum to {sums.get(account_id, 0)}"
            )
        if balance != lot_sums.get(account_id, 0):
            yield Violation(
                "I3", f"account {account_id} balance {balance}, its lots hold {lot_sums.get(account_id, 0)}"
            )

    if membership_ids is None:
        for row in Posting.objects.values("account__point_type_id").annotate(s=Sum("amount")).exclude(s=0).order_by():
            yield Violation("I5", f"point type {row['account__point_type_id']} postings sum to {row['s']}")

    yield from _uniqueness()

    non_redeemable = PointType.objects.filter(redeemable=False)
    bad = Posting.objects.filter(
        account__point_type__in=non_redeemable, booking__kind__in=[Booking.Kind.REDEEM, Booking.Kind.TRANSFER]
    )
    for booking_id in bad.values_list("booking_id", flat=True).distinct():
        yield Violation("I10", f"booking {booking_id} redeems or transfers a non-redeemable point type")

    for account_id in accounts.values_list("pk", flat=True).iterator(chunk_size=2000):
        yield from _replay(account_id)


def _uniqueness() -> Iterator[Violation]:
    checks = [
        (
            Booking.objects.filter(kind=Booking.Kind.EARN).exclude(receipt_id=""),
            ["sponsor_id", "receipt_id"],
            "earn receipt",
        ),
        (Booking.objects.filter(reverses__isnull=False), ["reverses_id", "line_ref"], "reversal"),
        (Booking.objects.exclude(idempotency_key=""), ["idempotency_key"], "idempotency key"),
    ]
    for qs, fields, what in checks:
        for row in qs.values(*fields).annotate(n=Count("pk")).filter(n__gt=1).order_by():
            yield Violation("I7", f"{what} booked {row['n']} times: {row}")
    whole = set(Booking.objects.filter(reverses__isnull=False, line_ref="").values_list("reverses_id", flat=True))
    partial = set(
        Booking.objects.filter(reverses__isnull=False).exclude(line_ref="").values_list("reverses_id", flat=True)
    )
    for booking_id in sorted(whole & partial):
        yield Violation("I7", f"booking {booking_id} reversed whole and per line")


def _order_key(lot: Lot) -> tuple:
    return (lot.expires_at is None, lot.expires_at or 0, lot.matures_at, lot.pk)


def _replay(account_id: int) -> Iterator[Violation]:
    """Replay an account's lot movements booking by booking: I4, I6, I8, I9."""
    lots = {lot.pk: lot for lot in Lot.objects.filter(account_id=account_id)}
    movements = (
        LotMovement.objects.filter(lot__account_id=account_id).select_related("booking").order_by("booking_id", "pk")
    )
    member_postings = dict(
        Posting.objects.filter(account_id=account_id)
        .values("booking_id")
        .annotate(s=Sum("amount"))
        .values_list("booking_id", "s")
        .order_by()
    )
    remaining: dict[int, int] = defaultdict(int)
    by_booking: dict[int, list[LotMovement]] = defaultdict(list)
    for movement in movements:
        by_booking[movement.booking_id].append(movement)
    for booking_id in sorted(by_booking):
        group = by_booking[booking_id]
        booking = group[0].booking
        consumed = [m for m in group if m.amount < 0 and lots[m.lot_id].state != Lot.State.DEBT]
        if booking.kind in CONSUMING and consumed:
            moment = booking.created_at
            for movement in consumed:
                lot = lots[movement.lot_id]
                if lot.matures_at > moment or (lot.expires_at and lot.expires_at <= moment):
                    yield Violation("I8", f"booking {booking_id} consumed lot {lot.pk} outside its life")
            before = dict(remaining)
            for movement in group:
                remaining[movement.lot_id] += movement.amount
            taken = {m.lot_id for m in consumed}
            latest = max(_order_key(lots[i]) for i in taken)
            for lot_id, lot in lots.items():
                eligible = (
                    lot.state != Lot.State.DEBT
                    and lot.created_at <= moment
                    and lot.matures_at <= moment
                    and (lot.expires_at is None or lot.expires_at > moment)
                    and before.get(lot_id, 0) > 0
                )
                if eligible and lot_id not in taken and _order_key(lot) < latest and remaining[lot_id] > 0:
                    yield Violation("I9", f"booking {booking_id} skipped lot {lot_id} that expires first")
            if booking.kind in (Booking.Kind.REDEEM, Booking.Kind.TRANSFER):
                debited = -sum(m.amount for m in consumed)
                posted = member_postings.get(booking_id, 0)
                if booking.kind == Booking.Kind.REDEEM and debited != -posted:
                    yield Violation("I6", f"redeem {booking_id} debited {-posted} but consumed {debited} from lots")
        else:
            for movement in group:
                remaining[movement.lot_id] += movement.amount
    for lot_id, lot in lots.items():
        if remaining[lot_id] != lot.remaining:
            yield Violation("I4", f"lot {lot_id} holds {lot.remaining}, its movements sum to {remaining[lot_id]}")
        low = lot.remaining < 0 if lot.state != Lot.State.DEBT else lot.remaining > 0
        if low or (lot.state != Lot.State.DEBT and lot.remaining > lot.original):
            yield Violation("I4", f"lot {lot_id} remaining {lot.remaining} outside 0..{lot.original}")
    negative = Lot.objects.filter(account_id=account_id, remaining__lt=0).exclude(state=Lot.State.DEBT)
    if negative.exists():
        yield Violation("I6", f"account {account_id} has a non-debt lot below zero")
