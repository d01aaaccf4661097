"""Expiry, maturation notices and expiry forecasts: the periodic jobs' services."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F

from ledger import events
from ledger.amounts import to_points
from ledger.models import Account, Booking, Lot
from ledger.services.core import Draft, announce, ledger_transaction, lock_accounts, now, system_account
from loyalty.actors import Actor
from loyalty.models import Program, Sponsor
from loyalty.outbox import emit_event


def expire_lot(lot: Lot, account: Account, moment: datetime, actor: Actor) -> Booking | None:
    """Expire one overdue lot of a locked account; its key `expire:<lot id>` books it only once."""
    key = f"expire:{lot.pk}"
    if lot.remaining <= 0 or Booking.objects.filter(idempotency_key=key).exists():
        return None
    draft = Draft(
        kind=Booking.Kind.EXPIRE,
        sponsor=Sponsor.objects.get(pk=lot.sponsor_id),
        actor=actor,
        now=moment,
        membership=account.membership,
        idempotency_key=key,
    )
    amount = lot.remaining
    draft.movements.append((lot, -amount))
    draft.post(account, -amount)
    draft.post(system_account(lot.sponsor_id, account.point_type_id, Account.Kind.EXPIRED), amount)
    booking = draft.write()
    Lot.objects.filter(pk=lot.pk).update(state=Lot.State.EXPIRED)
    lot.state = Lot.State.EXPIRED
    point_type = account.point_type
    announce(
        booking,
        actor=actor,
        event_type=events.POINTS_EXPIRED,
        membership=account.membership,
        payload={"point_type": point_type.key, "amount": to_points(amount, point_type.precision), "lot": lot.pk},
    )
    return booking


def expire_due_lots(account: Account, moment: datetime, actor: Actor) -> list[Booking]:
    """Expire on touch: overdue lots of a locked account expire before anything consumes it."""
    due = Lot.objects.select_for_update().filter(
        account=account, state=Lot.State.ACTIVE, remaining__gt=0, expires_at__lte=moment
    )
    return [booking for lot in due.order_by("pk") if (booking := expire_lot(lot, account, moment, actor))]


@ledger_transaction
def _expire_account(account_id: int, moment: datetime, actor: Actor) -> int:
    account = lock_accounts([Account(pk=account_id)])[account_id]
    return len(expire_due_lots(account, moment, actor))


def expire_due(*, actor: Actor, batch_size: int = 500, at: datetime | None = None) -> int:
    """Expire every overdue lot, account by account in the booking lock order; safe to run twice."""
    moment = at or now()
    total = 0
    while True:
        account_ids = list(
            Lot.objects.filter(state=Lot.State.ACTIVE, remaining__gt=0, expires_at__lte=moment)
            .order_by("account_id")
            .values_list("account_id", flat=True)
            .distinct()[:batch_size]
        )
        if not account_ids:
            return total
        expired = sum(_expire_account(account_id, moment, actor) for account_id in account_ids)
        total += expired
        if expired == 0:  # another run took them meanwhile
            return total


def _notify(queryset, flag: str, event_type: str, extra) -> int:
    """One event per member account for the flagged lots, each lot announced once."""
    count = 0
    with transaction.atomic():
        lots = list(
            queryset.filter(account__membership__isnull=False)
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("account__point_type", "account__membership")[:5000]
        )
        by_account: dict[int, list[Lot]] = defaultdict(list)
        for lot in lots:
            by_account[lot.account_id].append(lot)
        for group in by_account.values():
            account = group[0].account
            point_type = account.point_type
            emit_event(
                event_type,
                membership_number=account.membership.number,
                payload={
                    "point_type": point_type.key,
                    "amount": to_points(sum(lot.remaining for lot in group), point_type.precision),
                    **extra(group),
                },
            )
            count += 1
        Lot.objects.filter(pk__in=[lot.pk for lot in lots]).update(**{flag: True})
    return count


def notify_matured(*, at: datetime | None = None) -> int:
    """`points.matured` when blocked points become redeemable."""
    moment = at or now()
    due = Lot.objects.filter(
        maturity_notified=False, state=Lot.State.ACTIVE, remaining__gt=0, matures_at__lte=moment
    ).exclude(matures_at__lte=F("created_at"))
    return _notify(
        due,
        "maturity_notified",
        events.POINTS_MATURED,
        lambda group: {"matured_at": max(lot.matures_at for lot in group)},
    )


def notify_expiring(*, at: datetime | None = None) -> int:
    """`points.expiring` ahead of expiry, the lead time being the program's expiry forecast days."""
    moment = at or now()
    horizon = moment + timedelta(days=Program.current().expiry_forecast_days)
    due = Lot.objects.filter(
        expiry_notified=False, state=Lot.State.ACTIVE, remaining__gt=0, expires_at__gt=moment, expires_at__lte=horizon
    )
    return _notify(
        due,
        "expiry_notified",
        events.POINTS_EXPIRING,
        lambda group: {"expires_at": min(lot.expires_at for lot in group)},
    )
