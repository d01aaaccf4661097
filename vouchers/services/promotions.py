"""The promotions engine's `issueVoucher` effect and its return (docs/vouchers.md)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction

from loyalty.actors import Actor
from memberships.errors import MembershipNotActive
from memberships.models import Membership
from vouchers.errors import (
    CodeSpaceExhausted,
    MemberLimitReached,
    OutOfStock,
    VoucherExpired,
    VoucherRevoked,
    VoucherTypeEnded,
    VoucherTypeInactive,
    VoucherTypeNotFound,
    VoucherUsed,
)
from vouchers.models import Voucher, VoucherType
from vouchers.services.core import lock_stock
from vouchers.services.issue import issue_voucher
from vouchers.services.use import revoke_voucher


def promotion_source(promotion: str) -> str:
    return f"promotion:{promotion}"


@dataclass
class PromotionVoucher:
    """What an `issueVoucher` effect did: the voucher, or why none was issued (a refusal code)."""

    voucher: Voucher | None
    refused: str = ""
    detail: str = ""


# Refusals that leave the purchase booked without its voucher (the trace says why).
SOFT_REFUSALS = (
    VoucherTypeNotFound,
    VoucherTypeInactive,
    VoucherTypeEnded,
    OutOfStock,
    MemberLimitReached,
    MembershipNotActive,
    CodeSpaceExhausted,
)


def issue_promotion_voucher(
    *, voucher_type: VoucherType | str, recipient: Membership, tx_id: str, promotion: str, actor: Actor
) -> PromotionVoucher:
    """The `issueVoucher` effect of a booked transaction: a free voucher for the member, at most once
    per (transaction, promotion, type), so a replayed transaction issues nothing new. Call it inside
    the booking's transaction. It never raises for stock, limits or an inactive/ended/unknown type:
    it answers with the refusal code instead, so the purchase still books."""
    source = promotion_source(promotion)
    try:
        with transaction.atomic():
            if isinstance(voucher_type, str):
                from vouchers.selectors import voucher_type_by_key

                voucher_type = voucher_type_by_key(voucher_type)
            lock_stock(voucher_type)  # serializes the "already issued?" check below
            existing = Voucher.objects.filter(voucher_type=voucher_type, source=source, reference=tx_id).first()
            if existing is not None:
                return PromotionVoucher(existing)
            result = issue_voucher(
                voucher_type=voucher_type,
                recipient=recipient,
                actor=actor,
                source=source,
                reference=tx_id,
                charge_points=False,
            )
            return PromotionVoucher(result.voucher)
    except SOFT_REFUSALS as exc:
        return PromotionVoucher(None, exc.code, exc.detail)


@dataclass
class ReturnedVouchers:
    revoked: list[Voucher] = field(default_factory=list)
    kept: list[tuple[Voucher, str]] = field(default_factory=list)  # (voucher, refusal code)


def revoke_transaction_vouchers(*, tx_id: str, reason: str, actor: Actor, promotion: str | None = None):
    """A returned transaction takes back the vouchers its promotions issued, where still unused.

    Used, expired or already revoked ones are kept and listed with the code that kept them; this
    never raises for them, so the return itself always goes through. `promotion` narrows it to one.
    """
    vouchers = Voucher.objects.filter(reference=tx_id)
    vouchers = (
        vouchers.filter(source=promotion_source(promotion))
        if promotion
        else vouchers.filter(source__startswith="promotion:")
    )
    result = ReturnedVouchers()
    for voucher in vouchers.order_by("pk"):
        try:
            result.revoked.append(revoke_voucher(voucher=voucher, reason=reason, actor=actor))
        except (VoucherUsed, VoucherExpired, VoucherRevoked) as exc:
            result.kept.append((voucher, exc.code))
    return result
