"""Convert (use) and revoke a voucher; a revocation refunds the points paid for it."""

from __future__ import annotations

from typing import Any

from django.db.models import F
from django.utils import timezone

from ledger.amounts import to_points
from ledger.models import Booking
from ledger.services import merge_membership_points, reverse_redemption
from ledger.services.core import lock_accounts, member_account
from loyalty.actors import Actor
from loyalty.audit import record_audit
from loyalty.errors import Conflict
from loyalty.outbox import emit_event
from memberships.errors import MembershipNotActive
from memberships.models import Membership, MembershipStatus
from memberships.selectors import follow_merges_of, membership_by_id
from vouchers import events
from vouchers.codes import normalize
from vouchers.errors import (
    ChannelNotAllowed,
    ReasonRequired,
    VoucherExpired,
    VoucherNotFound,
    VoucherRevoked,
    VoucherUsed,
    WrongRecipient,
)
from vouchers.models import Conversion, Voucher, VoucherStatus, VoucherStock, VoucherType
from vouchers.services.core import (
    HOLDING_STATUSES,
    check_usable,
    effective_status,
    lock_stock,
    lock_voucher,
    voucher_transaction,
)


@voucher_transaction
def convert_voucher(
    *,
    token: str,
    actor: Actor,
    membership: Membership | None = None,
    channel: str = "",
    reference: str = "",
) -> Voucher:
    """Use a voucher once: it must be issued, in its validity, have uses left, belong to `membership`
    (or to nobody) and be allowed in `channel`. Concurrent conversions of the last use: one wins,
    the others get `voucher_used`."""
    voucher = lock_voucher(token=token)
    moment = timezone.now()
    check_usable(voucher, moment)
    if voucher.recipient_id is not None:
        if membership is None:
            raise WrongRecipient(f"Voucher {voucher.token} belongs to a member: give their membershipKey.")
        if membership.pk != voucher.recipient_id:
            raise WrongRecipient(f"Voucher {voucher.token} belongs to another member.")
    if membership is not None:
        status = Membership.objects.filter(pk=membership.pk).values_list("status", flat=True).first()
        if status not in HOLDING_STATUSES:
            raise MembershipNotActive(f"Membership {membership.number} is {status}.")
    allowed = voucher.voucher_type.channels
    if allowed and channel not in allowed:
        where = f"channel {channel!r}" if channel else "an unnamed channel"
        raise ChannelNotAllowed(f"Voucher {voucher.token} cannot be used in {where}; only in {', '.join(allowed)}.")

    voucher.uses_left -= 1
    if voucher.uses_left == 0:
        voucher.status = VoucherStatus.CONVERTED
    voucher.updated_at = moment
    voucher.save(update_fields=["uses_left", "status", "updated_at"])
    Conversion.objects.create(
        voucher=voucher,
        converted_at=moment,
        membership=membership,
        channel=channel[:40],
        reference=reference[:200],
        actor_label=actor.label[:200],
    )
    details = {
        "token": voucher.token,
        "voucher_type": voucher.voucher_type.key,
        "membership": membership.number if membership else None,
        "channel": channel,
        "reference": reference,
        "uses_left": voucher.uses_left,
        "status": voucher.status,
    }
    record_audit(actor, events.VOUCHER_CONVERTED, voucher, changes=details)
    number = membership.number if membership else (voucher.recipient.number if voucher.recipient else "")
    emit_event(events.VOUCHER_CONVERTED, membership_number=number, payload=details)
    return voucher


@voucher_transaction
def revoke_voucher(*, voucher: Voucher, reason: str, actor: Actor, recipient: Any = None) -> Voucher:
    """Withdraw an unused voucher. Points paid for it come back by a reversal of the redemption, and
    its place in the stock is free again. A voucher used at least once is refused (`voucher_used`); with a
    `recipient` (a membership, merges followed), one that is not theirs is refused (`wrong_recipient`)."""
    reason = (reason or "").strip()
    if not reason:
        raise ReasonRequired()
    for _ in range(3):
        seen = Voucher.objects.filter(pk=voucher.pk).values_list("voucher_type_id", "recipient_id").first()
        if seen is None:
            raise VoucherNotFound()
        type_id, recipient_id = seen
        if recipient_id is not None:
            membership_by_id(recipient_id, follow_merges=False, for_update=True)  # 1
        lock_stock(VoucherType(pk=type_id))  # 2
        locked = lock_voucher(pk=voucher.pk)  # 3
        if locked.recipient_id == recipient_id:
            break
        # A merge moved the voucher between our read and our locks: lock its new holder.
    else:  # pragma: no cover - three merges of one member within one revoke
        raise Conflict("The voucher is changing hands; try again.", code="voucher_busy")

    if recipient is not None and locked.recipient_id != recipient.pk:
        raise WrongRecipient(f"Voucher {locked.token} does not belong to membership {recipient.number}.")
    moment = timezone.now()
    status = effective_status(locked, moment)
    if status == VoucherStatus.REVOKED:
        raise VoucherRevoked(f"Voucher {locked.token} was already revoked.")
    if status == VoucherStatus.CONVERTED or locked.uses_left < locked.uses_total:
        raise VoucherUsed(f"Voucher {locked.token} has been used: it cannot be revoked.")
    if status == VoucherStatus.EXPIRED:
        raise VoucherExpired(f"Voucher {locked.token} has expired: it cannot be revoked.")

    refund = None
    if locked.receipt_id:
        refund = _refund(locked, actor)  # 4
        locked.refund_receipt_id = refund.receipt_id
    locked.status = VoucherStatus.REVOKED
    locked.revoked_at = moment
    locked.revoke_reason = reason[:500]
    locked.updated_at = moment
    locked.save(update_fields=["status", "revoked_at", "revoke_reason", "refund_receipt_id", "updated_at"])
    VoucherStock.objects.filter(pk=type_id).update(issued=F("issued") - 1)

    details = {
        "token": locked.token,
        "voucher_type": locked.voucher_type.key,
        "status": [VoucherStatus.ISSUED, VoucherStatus.REVOKED],
        "reason": reason,
        "refund_receipt_id": locked.refund_receipt_id or None,
    }
    if refund is not None and locked.point_type is not None:
        details["points_refunded"] = to_points(locked.points_paid, locked.point_type.precision)
    record_audit(actor, events.VOUCHER_REVOKED, locked, changes=details)
    emit_event(
        events.VOUCHER_REVOKED,
        membership_number=locked.recipient.number if locked.recipient else "",
        payload=details,
    )
    return locked


def _refund(voucher: Voucher, actor: Actor) -> Booking:
    """Reverse the redemption that paid for the voucher. The reversal puts the points back on the
    payer's account; when the payer has since been merged, the refund is carried over to the
    survivor in the same transaction (both accounts locked first, in ascending id order)."""
    payer = Booking.objects.select_related("membership").get(kind=Booking.Kind.REDEEM, receipt_id=voucher.receipt_id)
    payer = payer.membership
    survivor = follow_merges_of(payer) if payer.status == MembershipStatus.MERGED else None
    if survivor is not None and survivor.pk != payer.pk:
        lock_accounts([member_account(payer, voucher.point_type), member_account(survivor, voucher.point_type)])
    refund = reverse_redemption(receipt_id=voucher.receipt_id, actor=actor)
    if survivor is not None and survivor.pk != payer.pk:
        merge_membership_points(payer, survivor, actor)
    return refund


def revoke_by_token(*, token: str, reason: str, actor: Actor, recipient: Any = None) -> Voucher:
    voucher = Voucher.objects.filter(token=normalize(token)).first()
    if voucher is None:
        raise VoucherNotFound(f"No voucher has the code {token!r}.")
    return revoke_voucher(voucher=voucher, reason=reason, actor=actor, recipient=recipient)
