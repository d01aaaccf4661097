"""The vouchers app's part in a membership merge (a memberships hook)."""

from __future__ import annotations

from django.utils import timezone

from loyalty.actors import Actor
from loyalty.audit import record_audit
from loyalty.outbox import emit_event
from memberships.models import Membership
from vouchers import events
from vouchers.models import Voucher
from vouchers.services.core import AUDIT_TOKENS


def move_vouchers_on_merge(source: Membership, target: Membership, actor: Actor) -> None:
    """Merge hook: the source's vouchers (all of them, history included) now belong to the target.
    Per-member limits are not re-checked: a merge never takes vouchers away."""
    moved = list(Voucher.objects.filter(recipient=source).values_list("token", flat=True)[: AUDIT_TOKENS + 1])
    count = Voucher.objects.filter(recipient=source).update(recipient=target, updated_at=timezone.now())
    if not count:
        return
    details = {"from": source.number, "to": target.number, "count": count, "tokens": moved[:AUDIT_TOKENS]}
    record_audit(actor, events.VOUCHERS_MERGED, target, changes=details)
    emit_event(events.VOUCHERS_MERGED, membership_number=target.number, payload=details)
