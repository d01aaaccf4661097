"""What the ledger does when a membership is merged or cancelled (memberships.hooks)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from ledger import events
from ledger.amounts import to_points
from ledger.models import Account, Booking, Lot
from ledger.services.core import Draft, announce, default_sponsor, lock_accounts, member_account, now, system_account
from loyalty.actors import Actor


def _holding_lots(account_ids: list[int]) -> list[Lot]:
    return list(
        Lot.objects.select_for_update()
        .filter(account_id__in=account_ids, state__in=[Lot.State.ACTIVE, Lot.State.DEBT])
        .exclude(remaining=0)
        .order_by("account_id", "pk")
    )


def merge_membership_points(source: Any, target: Any, actor: Actor) -> Booking | None:
    """Move every lot of the source to the target, keeping issuer, maturity and expiry, in one booking.

    Runs inside the merge's transaction (a merge hook), so the merge and the move commit together.
    """
    source_accounts = list(Account.objects.filter(kind=Account.Kind.MEMBER, membership=source))
    if not source_accounts:
        return None
    pairs = {a.pk: member_account(target, a.point_type) for a in source_accounts}
    locked = lock_accounts(source_accounts + list(pairs.values()))
    lots = _holding_lots([a.pk for a in source_accounts])
    if not lots:
        return None
    moment = now()
    draft = Draft(
        kind=Booking.Kind.MERGE,
        sponsor=default_sponsor(),
        actor=actor,
        now=moment,
        membership=target,
        metadata={"source": source.number, "target": target.number},
    )
    moved: dict[str, int] = defaultdict(int)
    for lot in lots:
        source_account, target_account = locked[lot.account_id], locked[pairs[lot.account_id].pk]
        draft.movements.append((lot, -lot.remaining))
        draft.post(source_account, -lot.remaining)
        if lot.state == Lot.State.DEBT:
            draft.post(target_account, lot.remaining)
            draft.debt(target_account, -lot.remaining, sponsor=lot.sponsor_id)
        else:
            draft.credit(
                target_account,
                lot.remaining,
                sponsor=lot.sponsor_id,
                matures_at=lot.matures_at,
                expires_at=lot.expires_at,
                line_ref=lot.line_ref,
            )
        moved[source_account.point_type.key] += lot.remaining
    booking = draft.write()
    Lot.objects.filter(pk__in=[lot.pk for lot in lots]).update(state=Lot.State.CLOSED)
    precisions = {a.point_type.key: a.point_type.precision for a in source_accounts}
    announce(
        booking,
        actor=actor,
        event_type=events.POINTS_MERGED,
        membership=target,
        payload={
            "source": source.number,
            "points": [{"point_type": k, "amount": to_points(v, precisions[k])} for k, v in moved.items()],
        },
    )
    return booking


def forfeit_membership_points(membership: Any, actor: Actor) -> Booking | None:
    """A cancelled membership's points go back to the sponsors that issued them; a debt is written off."""
    accounts = list(Account.objects.filter(kind=Account.Kind.MEMBER, membership=membership))
    if not accounts:
        return None
    locked = lock_accounts(accounts)
    lots = _holding_lots(list(locked))
    if not lots:
        return None
    moment = now()
    draft = Draft(
        kind=Booking.Kind.FORFEIT,
        sponsor=default_sponsor(),
        actor=actor,
        now=moment,
        membership=membership,
        reason=getattr(membership, "cancel_reason", "") or "membership cancelled",
    )
    forfeited: dict[str, int] = defaultdict(int)
    for lot in lots:
        account = locked[lot.account_id]
        draft.movements.append((lot, -lot.remaining))
        draft.post(account, -lot.remaining)
        draft.post(system_account(lot.sponsor_id, account.point_type_id, Account.Kind.FORFEITED), lot.remaining)
        forfeited[account.point_type.key] += lot.remaining
    booking = draft.write()
    Lot.objects.filter(pk__in=[lot.pk for lot in lots]).update(state=Lot.State.CLOSED)
    precisions = {a.point_type.key: a.point_type.precision for a in locked.values()}
    announce(
        booking,
        actor=actor,
        event_type=events.POINTS_FORFEITED,
        membership=membership,
        payload={
            "points": [{"point_type": k, "amount": to_points(v, precisions[k])} for k, v in forfeited.items()],
        },
    )
    return booking
