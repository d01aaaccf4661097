"""Issue: single vouchers, bulk codes, and vouchers bought with points."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from psycopg import sql as pg_sql

from ledger.amounts import to_minor, to_points
from ledger.services import redeem_points
from ledger.services.core import main_point_type
from loyalty.actors import Actor
from loyalty.audit import record_audit
from loyalty.errors import InvalidInput
from loyalty.outbox import emit_event
from memberships.models import Membership
from vouchers import events
from vouchers.errors import (
    BulkPricedType,
    CodeSpaceExhausted,
    MemberLimitReached,
    OutOfStock,
    RecipientRequired,
    VoucherTypeEnded,
    VoucherTypeInactive,
)
from vouchers.models import IssueBatch, Voucher, VoucherStatus, VoucherStock, VoucherType
from vouchers.services.core import AUDIT_TOKENS, lock_holder, lock_stock, voucher_transaction

MAX_COUNT = 1_000_000
CHUNK = 10_000  # rows per insert statement or COPY
CHECK_CHUNK = 20_000  # codes per collision lookup


@dataclass
class IssueResult:
    """What one issue made: every code, the first voucher (the only one of a single issue), the
    batch of a bulk issue and the receipt of a payment in points."""

    voucher_type: VoucherType
    tokens: list[str]
    voucher: Voucher
    recipient: Membership | None = None
    batch: IssueBatch | None = None
    receipt_id: str = ""
    points_paid: int = 0

    @property
    def count(self) -> int:
        return len(self.tokens)


def validity_of(voucher_type: VoucherType, moment: datetime) -> tuple[datetime, datetime | None]:
    """From the later of issue and the type's start; until the earlier of the type's end and N days."""
    start = max(moment, voucher_type.valid_from) if voucher_type.valid_from else moment
    ends = [voucher_type.valid_until] if voucher_type.valid_until else []
    if voucher_type.valid_days:
        with contextlib.suppress(OverflowError):  # a start in the year 9999: the type's own end is the end
            ends.append(start + timedelta(days=voucher_type.valid_days))
    return start, min(ends) if ends else None


def _chunks(items: list, size: int = CHUNK):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _taken(tokens: list[str]) -> set[str]:
    """The codes among `tokens` already stored: one indexed lookup per chunk."""
    taken: set[str] = set()
    for chunk in _chunks(tokens, CHECK_CHUNK):
        if connection.vendor == "postgresql":  # one array parameter instead of thousands
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT token FROM {Voucher._meta.db_table} WHERE token = ANY(%s)", [chunk])  # noqa: S608
                taken.update(row[0] for row in cursor.fetchall())
        else:
            taken.update(Voucher.objects.filter(token__in=chunk).values_list("token", flat=True))
    return taken


def fresh_tokens(voucher_type: VoucherType, count: int) -> list[str]:
    """`count` new codes, checked against the stored ones in bulk; collisions are drawn again."""
    generator = voucher_type.code_generator()
    tokens = generator.many(count)
    for _ in range(8):
        taken = _taken(tokens)
        if not taken:
            return tokens
        keep = [t for t in tokens if t not in taken]
        kept = set(keep)
        extra = [t for t in generator.many(len(taken) * 2) if t not in kept][: len(taken)]
        tokens = keep + extra
    raise CodeSpaceExhausted()


def _copy_text(value: Any) -> str:
    """One value in COPY's text format."""
    if value is None:
        return "\\N"
    if isinstance(value, datetime):
        return value.isoformat()
    text = str(value)
    for char, escaped in (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r")):
        text = text.replace(char, escaped)
    return text


def _copy_chunk(tokens: list[str], values: dict[str, Any]) -> None:
    """PostgreSQL: COPY the rows. Every column but the code is the same within one issue, so each row
    is the code between a prepared head and tail: no per-row work beyond joining strings. Codes are
    upper-case letters, digits and '-', which need no escaping. Several times what bulk_create
    manages, which prepares each field of each row."""
    fields = [f for f in Voucher._meta.concrete_fields if not f.primary_key]
    names = [f.attname for f in fields]
    position = names.index("token")
    cells = [_copy_text(f.get_db_prep_save(values.get(f.attname), connection)) for f in fields]
    head = "".join(cell + "\t" for cell in cells[:position])
    tail = "".join("\t" + cell for cell in cells[position + 1 :]) + "\n"
    statement = pg_sql.SQL("COPY {} ({}) FROM STDIN").format(
        pg_sql.Identifier(Voucher._meta.db_table), pg_sql.SQL(", ").join(pg_sql.Identifier(f.column) for f in fields)
    )
    with connection.cursor() as cursor, connection.wrap_database_errors, cursor.cursor.copy(statement) as copy:
        copy.write("".join(head + token + tail for token in tokens).encode())


def _insert(voucher_type: VoucherType, tokens: list[str], values: dict[str, Any]) -> list[str]:
    """Store the vouchers in chunks. A chunk that meets a code a concurrent issue stored after our
    check fails on the unique index, rolls back to its savepoint and is drawn again."""
    stored: list[str] = []
    for chunk in _chunks(tokens):
        for attempt in range(4):
            try:
                with transaction.atomic():
                    if connection.vendor == "postgresql":
                        _copy_chunk(chunk, values)
                    else:
                        Voucher.objects.bulk_create([Voucher(token=token, **values) for token in chunk])
                break
            except IntegrityError:
                if attempt == 3:
                    raise CodeSpaceExhausted() from None
                chunk = fresh_tokens(voucher_type, len(chunk))
        stored += chunk
    return stored


@voucher_transaction
def issue_voucher(
    *,
    voucher_type: VoucherType,
    actor: Actor,
    recipient: Membership | None = None,
    source: str = "",
    reference: str = "",
    count: int = 1,
    charge_points: bool = True,
) -> IssueResult:
    """Issue `count` vouchers of a type, to a member or to nobody (then any member may use them).

    Respects the type's stock and per-member limit under the stock row lock. A type with a price in
    points (and `charge_points`) redeems the price from the recipient in this same transaction: a
    refusal (e.g. `insufficient_points`) leaves neither a voucher nor a booking. Bought vouchers are
    issued one at a time, so each has its own receipt to refund.
    """
    if not 1 <= count <= MAX_COUNT:
        raise InvalidInput(f"Issue between 1 and {MAX_COUNT} vouchers.", code="invalid_count")
    if recipient is not None:
        recipient = lock_holder(recipient)  # 1
    stock = lock_stock(voucher_type)  # 2
    # The type as stored now: a manager may have just changed its price, stock or active flag.
    voucher_type = VoucherType.objects.select_related("point_type", "sponsor").get(pk=voucher_type.pk)
    priced = charge_points and voucher_type.price_points is not None
    if priced and recipient is None:
        raise RecipientRequired()
    if priced and count > 1:
        raise BulkPricedType()
    moment = timezone.now()
    if not voucher_type.active:
        raise VoucherTypeInactive(f"{voucher_type.name} is not active: no vouchers are issued.")
    if voucher_type.valid_until and voucher_type.valid_until <= moment:
        raise VoucherTypeEnded(f"{voucher_type.name} ended at {voucher_type.valid_until.isoformat()}.")
    if voucher_type.stock is not None and stock.issued + count > voucher_type.stock:
        left = max(voucher_type.stock - stock.issued, 0)
        raise OutOfStock(f"{left} voucher(s) of {voucher_type.name} left; {count} asked.")
    if recipient is not None and voucher_type.limit_per_member is not None:
        held = (
            Voucher.objects.filter(voucher_type=voucher_type, recipient=recipient)
            .exclude(status=VoucherStatus.REVOKED)
            .count()
        )
        if held + count > voucher_type.limit_per_member:
            raise MemberLimitReached(
                f"Membership {recipient.number} holds {held} of at most {voucher_type.limit_per_member} "
                f"{voucher_type.name} voucher(s)."
            )

    tokens = fresh_tokens(voucher_type, count)
    receipt_id, points, point_type = "", 0, None
    if priced:
        point_type = voucher_type.point_type or main_point_type()
        points = to_minor(voucher_type.price_points, point_type.precision)
        booking = redeem_points(  # 4: the member's accounts
            membership=recipient,
            points=points,
            point_type=point_type,
            sponsor=voucher_type.sponsor,
            actor=actor,
            reference=f"voucher {tokens[0]}",
        )
        receipt_id = booking.receipt_id

    batch = None
    if count > 1:
        batch = IssueBatch.objects.create(
            voucher_type=voucher_type,
            count=count,
            recipient=recipient,
            source=source[:100],
            reference=reference[:200],
            actor_label=actor.label[:200],
            created_at=moment,
        )
    valid_from, valid_until = validity_of(voucher_type, moment)
    uses = voucher_type.uses_per_voucher
    values = {
        "voucher_type_id": voucher_type.pk,
        "recipient_id": recipient.pk if recipient else None,
        "batch_id": batch.pk if batch else None,
        "status": VoucherStatus.ISSUED,
        "uses_total": uses,
        "uses_left": uses,
        "valid_from": valid_from,
        "valid_until": valid_until,
        "issued_at": moment,
        "source": source[:100],
        "reference": reference[:200],
        "actor_label": actor.label[:200],
        "points_paid": points,
        "point_type_id": point_type.pk if point_type else None,
        "receipt_id": receipt_id,
        "refund_receipt_id": "",
        "revoked_at": None,
        "revoke_reason": "",
        "expired_at": None,
        "updated_at": moment,
    }
    if count == 1:
        voucher = Voucher.objects.create(token=tokens[0], **values)
    else:
        tokens = _insert(voucher_type, tokens, values)
        voucher = Voucher.objects.get(token=tokens[0])
    voucher.voucher_type, voucher.recipient, voucher.point_type, voucher.batch = (
        voucher_type,
        recipient,
        point_type,
        batch,
    )
    VoucherStock.objects.filter(pk=voucher_type.pk).update(issued=F("issued") + count)

    details = {
        "voucher_type": voucher_type.key,
        "recipient": recipient.number if recipient else None,
        "count": count,
        "tokens": tokens[:AUDIT_TOKENS],
        "batch": batch.pk if batch else None,
        "source": source,
        "reference": reference,
        "valid_until": valid_until,
    }
    if priced:
        details.update(
            receipt_id=receipt_id, points_paid=to_points(points, point_type.precision), point_type=point_type.key
        )
    record_audit(actor, events.VOUCHER_ISSUED, batch or voucher, changes=details)
    emit_event(events.VOUCHER_ISSUED, membership_number=recipient.number if recipient else "", payload=details)
    return IssueResult(voucher_type, tokens, voucher, recipient, batch, receipt_id, points)
