"""What every voucher service shares: the locks (in their order), statuses, the transaction."""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from ledger.services.core import ledger_transaction
from memberships.errors import MembershipNotActive
from memberships.models import Membership, MembershipStatus
from memberships.selectors import membership_by_id
from vouchers.codes import normalize
from vouchers.errors import (
    VoucherExpired,
    VoucherNotFound,
    VoucherNotYetValid,
    VoucherRevoked,
    VoucherUsed,
)
from vouchers.models import Voucher, VoucherStatus, VoucherStock, VoucherType

# Who may get and use vouchers: not a cancelled, blocked or merged membership.
HOLDING_STATUSES = {MembershipStatus.ACTIVE, MembershipStatus.ANONYMOUS}
AUDIT_TOKENS = 100  # tokens listed in one audit entry or event; the batch names the rest

# One atomic block; retried on a deadlock or serialization failure when it is the outermost.
voucher_transaction = ledger_transaction


def lock_stock(voucher_type: VoucherType) -> VoucherStock:
    """Lock 2: the type's stock row (created on the fly for a type saved before it existed)."""
    stock = VoucherStock.objects.select_for_update().filter(pk=voucher_type.pk).first()
    if stock is None:
        try:
            with transaction.atomic():
                VoucherStock.objects.create(voucher_type_id=voucher_type.pk)
        except IntegrityError:
            pass
        stock = VoucherStock.objects.select_for_update().get(pk=voucher_type.pk)
    return stock


def lock_holder(membership: Membership) -> Membership:
    """Lock 1: the recipient membership (a merged one leads to its survivor), which must hold vouchers.
    Before the stock row, as a booking (/tx) holds its member before an issueVoucher effect issues."""
    locked = membership_by_id(membership.pk, for_update=True)
    if locked.status not in HOLDING_STATUSES:
        raise MembershipNotActive(f"Membership {locked.number} is {locked.status}.")
    return locked


def effective_status(voucher: Voucher, moment: datetime | None = None) -> str:
    """The status a caller sees: an issued voucher past its end is expired, job or no job."""
    moment = moment or timezone.now()
    if voucher.status == VoucherStatus.ISSUED and voucher.valid_until and voucher.valid_until <= moment:
        return VoucherStatus.EXPIRED
    return voucher.status


def check_usable(voucher: Voucher, moment: datetime) -> None:
    status = effective_status(voucher, moment)
    if status == VoucherStatus.REVOKED:
        raise VoucherRevoked(f"Voucher {voucher.token} was revoked.")
    if status == VoucherStatus.CONVERTED or voucher.uses_left == 0:
        raise VoucherUsed(f"Voucher {voucher.token} has been used.")
    if status == VoucherStatus.EXPIRED:
        raise VoucherExpired(f"Voucher {voucher.token} has expired.")
    if voucher.valid_from > moment:
        raise VoucherNotYetValid(f"Voucher {voucher.token} can be used from {voucher.valid_from.isoformat()}.")


def lock_voucher(*, token: str = "", pk: int | None = None) -> Voucher:
    """Lock 3: the voucher row (only it: of=self leaves its type and recipient unlocked)."""
    lookup = {"pk": pk} if pk is not None else {"token": normalize(token)}
    voucher = (
        Voucher.objects.select_for_update(of=("self",))
        .select_related("voucher_type", "recipient", "point_type")
        .filter(**lookup)
        .first()
    )
    if voucher is None:
        raise VoucherNotFound(f"No voucher has the code {token!r}." if token else "No such voucher.")
    return voucher
