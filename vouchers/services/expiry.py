"""The expiry job's work: issued vouchers past their end become expired."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from loyalty.actors import Actor
from loyalty.audit import record_audit
from loyalty.outbox import emit_event
from vouchers import events
from vouchers.models import Voucher, VoucherStatus


def expire_vouchers(*, actor: Actor, batch_size: int = 500, now: datetime | None = None) -> int:
    """Mark issued vouchers past their end as expired, a batch per transaction, skipping rows a
    conversion holds (it will refuse them as expired anyway; the next run marks them)."""
    moment = now or timezone.now()
    total = 0
    while True:
        with transaction.atomic():
            batch = list(
                Voucher.objects.select_for_update(of=("self",), skip_locked=True)
                .select_related("voucher_type", "recipient")
                .filter(status=VoucherStatus.ISSUED, valid_until__lte=moment)
                .order_by("pk")[:batch_size]
            )
            if not batch:
                return total
            Voucher.objects.filter(pk__in=[v.pk for v in batch]).update(
                status=VoucherStatus.EXPIRED, expired_at=moment, updated_at=moment
            )
            for voucher in batch:
                emit_event(
                    events.VOUCHER_EXPIRED,
                    membership_number=voucher.recipient.number if voucher.recipient else "",
                    payload={
                        "token": voucher.token,
                        "voucher_type": voucher.voucher_type.key,
                        "valid_until": voucher.valid_until,
                        "uses_left": voucher.uses_left,
                    },
                )
            record_audit(
                actor,
                events.VOUCHER_EXPIRED,
                object_type=Voucher._meta.label_lower,
                object_id=str(batch[0].pk) if len(batch) == 1 else f"{batch[0].pk}..{batch[-1].pk}",
                object_repr=f"{len(batch)} voucher(s) expired",
                changes={"status": ["issued", "expired"], "tokens": [v.token for v in batch]},
            )
            total += len(batch)
