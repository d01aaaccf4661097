"""Register vouchers whose codes were made elsewhere (a partner's system, a printer).

The same rules, locks, stock count, audit entries and events as an issue (`issue.py`), with the
caller's codes instead of drawn ones. Codes are normalized as every lookup normalizes them (upper
case, trimmed), must look like a code (`codes.given_code_problem`) and are unique across all types.
Imported vouchers are free: a priced type's price is not taken from anyone.

One call registers many codes (an import chunk). A code that cannot be stored is refused on its
own, with the domain error that says why, and the others are stored: the result lists both. A
refusal of the whole call (type inactive or ended) raises. `register_voucher` is the one-code form
that raises the refusal.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, F
from django.utils import timezone

from loyalty.actors import Actor
from loyalty.audit import json_value
from loyalty.errors import DomainError, InvalidInput
from loyalty.models import AuditEntry, Event
from loyalty.outbox import current_txid_expression
from memberships.models import Membership
from vouchers import events
from vouchers.codes import MAX_TOKEN_LENGTH, given_code_problem, normalize
from vouchers.errors import (
    InvalidValidity,
    InvalidVoucherCode,
    MemberLimitReached,
    OutOfStock,
    VoucherCodeTaken,
    VoucherTypeEnded,
    VoucherTypeInactive,
)
from vouchers.models import IssueBatch, Voucher, VoucherStatus, VoucherStock, VoucherType
from vouchers.services.core import AUDIT_TOKENS, lock_holder, lock_stock, voucher_transaction
from vouchers.services.issue import CHUNK, MAX_COUNT, _taken

DEFAULT_SOURCE = "import"


@dataclass(frozen=True)
class GivenCode:
    """One code made elsewhere, with what it is registered with. Dates left out follow the type
    (as for an issued voucher); given ones must lie inside the type's window and day limit."""

    code: str
    recipient: Membership | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    reference: str = ""


@dataclass
class RegisteredCodes:
    """What one call stored: `vouchers[i]` is the voucher of `codes[i]`, or None when it was refused
    (`refused[i]` says why)."""

    voucher_type: VoucherType
    vouchers: list[Voucher | None]
    refused: dict[int, DomainError] = field(default_factory=dict)
    batch: IssueBatch | None = None

    @property
    def stored(self) -> list[Voucher]:
        return [v for v in self.vouchers if v is not None]

    @property
    def tokens(self) -> list[str]:
        return [v.token for v in self.stored]

    @property
    def count(self) -> int:
        return len(self.stored)


def _validity(
    voucher_type: VoucherType, moment: datetime, given_from: datetime | None, given_until: datetime | None
) -> tuple[datetime, datetime | None]:
    """A given window checked against the type's; what is left out is filled in as for an issue."""
    start = given_from or (max(moment, voucher_type.valid_from) if voucher_type.valid_from else moment)
    if voucher_type.valid_from and start < voucher_type.valid_from:
        raise InvalidValidity(
            f"validFrom {start.isoformat()} is before the type's validFrom {voucher_type.valid_from.isoformat()}."
        )
    latest = [voucher_type.valid_until] if voucher_type.valid_until else []
    if voucher_type.valid_days:
        with contextlib.suppress(OverflowError):
            latest.append(start + timedelta(days=voucher_type.valid_days))
    limit = min(latest) if latest else None
    end = given_until if given_until is not None else limit
    if given_until is not None and limit is not None and given_until > limit:
        raise InvalidValidity(f"validUntil {given_until.isoformat()} is after the type allows ({limit.isoformat()}).")
    if end is not None and end <= start:
        raise InvalidValidity("validUntil must come after validFrom.")
    if end is not None and end <= moment:
        raise InvalidValidity(f"The voucher would have ended at {end.isoformat()}.")
    return start, end


def _clean_code(raw: Any) -> str:
    if not isinstance(raw, str):
        raise InvalidVoucherCode("The code must be text.")
    token = raw.strip().upper()
    if len(token) > MAX_TOKEN_LENGTH:
        raise InvalidVoucherCode(f"{raw[:20]!r}...: a code has at most {MAX_TOKEN_LENGTH} characters.")
    token = normalize(token)
    problem = given_code_problem(token)
    if problem:
        raise InvalidVoucherCode(f"{raw!r}: {problem}")
    return token


def _holders(recipients: list[Membership]) -> tuple[dict[int, Membership], dict[int, DomainError]]:
    """Lock 1: each recipient (ascending id), following merges; the ones that cannot hold vouchers."""
    held: dict[int, Membership] = {}
    refused: dict[int, DomainError] = {}
    for pk in sorted({m.pk for m in recipients}):
        member = next(m for m in recipients if m.pk == pk)
        try:
            held[pk] = lock_holder(member)
        except DomainError as exc:
            refused[pk] = exc
    return held, refused


def _insert(rows: list[Voucher]) -> tuple[list[Voucher], set[str]]:
    """Store the rows in chunks. A chunk that meets a code stored concurrently after our check
    rolls back to its savepoint and goes again without it. Returns (stored, codes found taken)."""
    stored: list[Voucher] = []
    taken: set[str] = set()
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        for _ in range(4):
            try:
                with transaction.atomic():
                    Voucher.objects.bulk_create(chunk)
                stored += chunk
                break
            except IntegrityError:
                lost = _taken([v.token for v in chunk])
                if not lost:
                    raise
                taken |= lost
                chunk = [v for v in chunk if v.token not in lost]
                for voucher in chunk:
                    voucher.pk = None
                    voucher._state.adding = True
        else:
            raise VoucherCodeTaken("Codes kept being taken by concurrent registrations.")
    return stored, taken


def _audit_and_events(
    actor: Actor,
    voucher_type: VoucherType,
    stored: list[Voucher],
    batch: IssueBatch | None,
    source: str,
    reference: str,
) -> None:
    """As an issue: one audit entry and one `voucher.issued` event per recipient (the vouchers given
    to nobody together), with up to AUDIT_TOKENS codes each."""
    groups: dict[int | None, list[Voucher]] = defaultdict(list)
    for voucher in stored:
        groups[voucher.recipient_id].append(voucher)
    audits, outbox = [], []
    txid = current_txid_expression()
    for vouchers in groups.values():
        recipient = vouchers[0].recipient
        ends = {v.valid_until for v in vouchers}
        details = {
            "voucher_type": voucher_type.key,
            "recipient": recipient.number if recipient else None,
            "count": len(vouchers),
            "tokens": [v.token for v in vouchers[:AUDIT_TOKENS]],
            "batch": batch.pk if batch else None,
            "source": source,
            "reference": vouchers[0].reference if len(vouchers) == 1 else reference,
            "valid_until": ends.pop() if len(ends) == 1 else None,
            "given_codes": True,
        }
        target = batch if batch is not None and len(groups) == 1 else vouchers[0]
        audits.append(
            AuditEntry(
                actor_type=actor.kind,
                actor_user=actor.user,
                actor_client=actor.client,
                actor_label=actor.label[:200],
                action=events.VOUCHER_ISSUED,
                object_type=target._meta.label_lower,
                object_id=str(target.pk),
                object_repr=str(target)[:200],
                changes=json_value(details),
                request_id=actor.request_id[:64],
                remote_addr=actor.remote_addr,
            )
        )
        outbox.append(
            Event(
                type=events.VOUCHER_ISSUED,
                membership_number=recipient.number if recipient else "",
                payload=json_value(details),
                txid=txid,
            )
        )
    AuditEntry.objects.bulk_create(audits)
    Event.objects.bulk_create(outbox)


@voucher_transaction
def register_vouchers(
    *,
    voucher_type: VoucherType,
    codes: Sequence[GivenCode],
    actor: Actor,
    source: str = DEFAULT_SOURCE,
    reference: str = "",
) -> RegisteredCodes:
    """Store codes made elsewhere as vouchers of `voucher_type`, each refused on its own when it
    cannot be stored: `invalid_voucher_code`, `voucher_code_taken` (stored before, under any type, or
    twice in this call: the first wins), `invalid_validity`, `membership_not_active`,
    `member_limit_reached`, `out_of_stock` (codes beyond the stock, in order). Raises for the whole
    call: `invalid_count`, `voucher_type_inactive`, `voucher_type_ended`.

    Locks as an issue does: the recipients (ascending id), then the type's stock row.
    """
    if not 1 <= len(codes) <= MAX_COUNT:
        raise InvalidInput(f"Register between 1 and {MAX_COUNT} codes.", code="invalid_count")
    holders, not_holding = _holders([given.recipient for given in codes if given.recipient is not None])  # 1
    stock = lock_stock(voucher_type)  # 2
    voucher_type = VoucherType.objects.select_related("point_type", "sponsor").get(pk=voucher_type.pk)
    moment = timezone.now()
    if not voucher_type.active:
        raise VoucherTypeInactive(f"{voucher_type.name} is not active: no vouchers are issued.")
    if voucher_type.valid_until and voucher_type.valid_until <= moment:
        raise VoucherTypeEnded(f"{voucher_type.name} ended at {voucher_type.valid_until.isoformat()}.")

    refused: dict[int, DomainError] = {}
    tokens: dict[int, str] = {}
    windows: dict[int, tuple[datetime, datetime | None]] = {}
    first_of: dict[str, int] = {}
    for i, given in enumerate(codes):
        try:
            token = _clean_code(given.code)
            if token in first_of:
                raise VoucherCodeTaken(f"{token} is given twice (first at position {first_of[token] + 1}).")
            first_of[token] = i
            windows[i] = _validity(voucher_type, moment, given.valid_from, given.valid_until)
            tokens[i] = token
        except DomainError as exc:
            refused[i] = exc
    for token in _taken(list(tokens.values())):
        i = first_of[token]
        refused[i] = VoucherCodeTaken(f"A voucher with the code {token} exists.")
        del tokens[i]

    held = dict(
        Voucher.objects.filter(voucher_type=voucher_type, recipient_id__in=[m.pk for m in holders.values()])
        .exclude(status=VoucherStatus.REVOKED)
        .values_list("recipient_id")
        .annotate(n=Count("pk"))
    )
    left = None if voucher_type.stock is None else max(voucher_type.stock - stock.issued, 0)
    accepted: list[tuple[int, Membership | None]] = []
    for i in list(tokens):
        given = codes[i]
        holder = None
        if given.recipient is not None:
            if given.recipient.pk in not_holding:
                refused[i] = not_holding[given.recipient.pk]
                continue
            holder = holders[given.recipient.pk]
            limit = voucher_type.limit_per_member
            if limit is not None and held.get(holder.pk, 0) + 1 > limit:
                refused[i] = MemberLimitReached(
                    f"Membership {holder.number} holds {held.get(holder.pk, 0)} of at most {limit} "
                    f"{voucher_type.name} voucher(s)."
                )
                continue
        if left is not None:
            if left <= 0:
                refused[i] = OutOfStock(f"No voucher of {voucher_type.name} is left for {tokens[i]}.")
                continue
            left -= 1
        if holder is not None:
            held[holder.pk] = held.get(holder.pk, 0) + 1
        accepted.append((i, holder))

    result = RegisteredCodes(voucher_type, [None] * len(codes), refused)
    if not accepted:
        return result
    owners = {holder.pk if holder else None for _, holder in accepted}
    batch = None
    if len(accepted) > 1:
        only = accepted[0][1] if len(owners) == 1 else None
        batch = IssueBatch.objects.create(
            voucher_type=voucher_type,
            count=len(accepted),
            recipient=only,
            source=source[:100],
            reference=reference[:200],
            actor_label=actor.label[:200],
            created_at=moment,
        )
    uses = voucher_type.uses_per_voucher
    rows = {
        i: Voucher(
            token=tokens[i],
            voucher_type=voucher_type,
            recipient=holder,
            batch=batch,
            status=VoucherStatus.ISSUED,
            uses_total=uses,
            uses_left=uses,
            valid_from=windows[i][0],
            valid_until=windows[i][1],
            issued_at=moment,
            source=source[:100],
            reference=(codes[i].reference or reference)[:200],
            actor_label=actor.label[:200],
        )
        for i, holder in accepted
    }
    stored, lost = _insert(list(rows.values()))
    position = {voucher.token: i for i, voucher in rows.items()}
    for voucher in stored:
        result.vouchers[position[voucher.token]] = voucher
    for token in lost:
        refused[position[token]] = VoucherCodeTaken(f"A voucher with the code {token} exists.")
    if not stored:
        if batch is not None:
            batch.delete()
        return result
    if batch is not None and batch.count != len(stored):
        batch.count = len(stored)
        batch.save(update_fields=["count"])
    result.batch = batch
    VoucherStock.objects.filter(pk=voucher_type.pk).update(issued=F("issued") + len(stored))
    _audit_and_events(actor, voucher_type, stored, batch, source, reference)
    return result


@voucher_transaction
def register_voucher(
    *,
    voucher_type: VoucherType,
    code: str,
    actor: Actor,
    recipient: Membership | None = None,
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
    source: str = DEFAULT_SOURCE,
    reference: str = "",
) -> Voucher:
    """Store one code made elsewhere as a voucher; raises the refusal (see `register_vouchers`)."""
    given = GivenCode(code, recipient, valid_from, valid_until, reference)
    result = register_vouchers(voucher_type=voucher_type, codes=[given], actor=actor, source=source)
    if result.refused:
        raise result.refused[0]
    return result.vouchers[0]
