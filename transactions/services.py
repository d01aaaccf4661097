"""The /tx flow: evaluate a purchase against the promotions, book it once, take returns back.

Lock order (every path): the Transaction row (claim or return), the membership, promotion budget
rows, member usage rows, the ledger's member accounts (inside earn_points / reverse_earn_amounts),
then voucher stock rows (the issueVoucher effect).
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson
from django.apps import apps
from django.conf import settings
from django.db import IntegrityError
from django.utils import timezone

from ledger.amounts import to_points
from ledger.services import EarnLine, earn_points, reverse_earn_amounts
from ledger.services.core import ledger_transaction, point_types_by_key, sponsor_by_key
from ledger.services.earn import USE_POLICY
from ledger.services.earn import ReceiptAlreadyBooked as LedgerReceiptAlreadyBooked
from loyalty.actors import Actor
from loyalty.atomic import whole_or_nothing
from loyalty.audit import record_audit
from loyalty.bulk import insert_with_children
from loyalty.jsontext import StrEncoder, dumper
from loyalty.memo import memo_dict, reads_once
from loyalty.models import Program, Sponsor
from loyalty.outbox import audit_and_event, emit_event, outbox_groups
from loyalty.prepared import Prepared
from promotions.caps import caps_of, promotion_ids_by_key, read_cap_usage, record_usage
from promotions.context import (
    Item,
    build_lines,
    check_items,
    line_for,
    member_context,
    member_from_json,
    member_to_json,
)
from promotions.engine import CapUsage, CompiledPromotion, Evaluation, evaluate
from promotions.rules import Tx
from promotions.selectors import active_promotions, compiled_versions
from transactions import errors, selectors
from transactions.models import Transaction, TransactionLine, TransactionReturn, TransactionReward

CENT = Decimal("0.01")
# The audit log's object type of a transaction, as integrators filter /audits by it. These models lived
# in the `loyalty` app until they moved here; the type stays, so old and new entries are found alike.
AUDIT_OBJECT_TYPE = "loyalty.transaction"


def _program() -> Program:
    return Program.current()


@dataclass(frozen=True)
class TxRequest:
    membership_key: str
    channel: str
    occurred_at: datetime
    total_amount: Decimal
    currency: str
    items: list[Item]
    receipt_id: str = ""
    tx_id: str = ""
    sponsor: str = ""
    payment_method: str = ""
    properties: dict[str, Any] | None = None

    @classmethod
    def from_input(cls, data: dict[str, Any]) -> TxRequest:
        """From a TxInputSerializer's validated data (the API and the import type read the same)."""
        return cls(
            membership_key=data["membership_key"],
            channel=data["channel"],
            occurred_at=data["occurred_at"],
            total_amount=data["total_amount"],
            currency=data["currency"],
            items=[Item(i["product_key"], i["quantity"], i["unit_price"], i["amount"]) for i in data["items"]],
            receipt_id=data["receipt_id"],
            tx_id=data.get("tx_id") or "",  # null is no txId, as answers say it
            sponsor=data["sponsor"],
            payment_method=data["payment_method"],
            properties=data["properties"],
        )

    def fingerprint(self) -> str:
        body = {
            "membership_key": self.membership_key,
            "channel": self.channel,
            "occurred_at": self.occurred_at.isoformat(),
            "total_amount": str(self.total_amount.normalize()),
            "currency": self.currency,
            "items": [
                [i.product_key, str(i.quantity.normalize()), str(i.unit_price.normalize()), str(i.amount.normalize())]
                for i in self.items
            ],
            "receipt_id": self.receipt_id,
            "sponsor": self.sponsor,
            "payment_method": self.payment_method,
            "properties": self.properties or {},
        }
        return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


# Validation ------------------------------------------------------------------------------------


# A till's clock may run a little ahead of ours: a purchase up to this far in the future is taken.
FUTURE_TOLERANCE = timedelta(minutes=5)


def earliest_purchase(now: datetime) -> datetime:
    """The oldest purchase taken: TX_MAX_AGE_DAYS before now. Older ones are unset clocks (0001-01-01,
    1970-01-01) or history no promotion was written for; they would book lots that expired long ago,
    and near year 1 the local dates, periods and maturities computed from the time leave the calendar."""
    return now - timedelta(days=settings.TX_MAX_AGE_DAYS)


def check_request(request: TxRequest) -> None:
    """What no promotion could make sense of: another currency, lines that miss the total, a purchase
    in the future or older than TX_MAX_AGE_DAYS. The dry run, the booking and the bulk booking all
    start here."""
    currency = _program().currency
    if request.currency != currency:
        raise errors.WrongCurrency(
            f"The program earns on {currency}, not {request.currency}.",
            errors=[{"field": "currency", "code": "wrong_currency", "message": f"Use {currency}."}],
        )
    check_items(request.total_amount, request.items)
    now = timezone.now()
    if request.occurred_at > now + FUTURE_TOLERANCE:
        raise errors.OccurredInFuture(
            errors=[{"field": "occurredAt", "code": "in_future", "message": "occurredAt lies in the future."}],
        )
    earliest = earliest_purchase(now)
    if request.occurred_at < earliest:
        message = (
            f"occurredAt lies more than {settings.TX_MAX_AGE_DAYS} days back "
            f"(the earliest taken now is {earliest.isoformat(timespec='seconds')})."
        )
        raise errors.OccurredTooEarly(
            message, errors=[{"field": "occurredAt", "code": "too_early", "message": message}]
        )


def channel_and_sponsor(request: TxRequest) -> tuple[Any, Sponsor]:
    """The request's channel (unknown_channel) and the sponsor that books it (unknown_sponsor)."""
    channel = _channel(request.channel)
    return channel, _sponsor(request, channel)


def check_earns(membership: Any) -> None:
    """A blocked, cancelled or merged membership earns nothing (membership_not_active): the booking
    asks under the membership's lock, the dry run of what it read."""
    from ledger.services.core import EARNING_STATUSES, check_status

    check_status(membership.number, membership.status, EARNING_STATUSES)


def _channel(key: str):
    """The channel with its sponsor: cached per process and configuration generation (see
    loyalty.configuration), copied once per unit of work."""
    from loyalty.configuration import cached, copies

    channels = memo_dict("channels")
    if key not in channels:
        model = apps.get_model("promotions", "Channel")
        known = cached("channels", lambda: {c.key: c for c in model.objects.select_related("sponsor")})
        if key not in known:
            raise errors.UnknownChannel(f"No channel {key!r}.")
        channels[key] = copies({key: known[key]})[key]
    return channels[key]


def _sponsor(request: TxRequest, channel) -> Sponsor:
    """The sponsor named, else the channel's, else the program's default."""
    if request.sponsor:
        return sponsor_by_key(request.sponsor)
    return channel.sponsor if channel.sponsor_id else sponsor_by_key(None)


def _facts(channel_key: str, items: list[Item]) -> dict[str, dict[str, Any]]:
    """The catalog facts of the basket's products (read-only dicts), each read once per process and
    catalog generation (loyalty.configuration)."""
    from loyalty.configuration import catalog_facts
    from promotions.catalog_selectors import product_facts

    known = catalog_facts()
    keys = sorted({item.product_key for item in items})
    missing = [key for key in keys if (channel_key, key) not in known]
    if missing:
        known.update(((channel_key, key), fact) for key, fact in product_facts(channel_key, missing).items())
    return {key: known[(channel_key, key)] for key in keys}


def _evaluate(
    tx: Tx, member, promotions: list[CompiledPromotion], membership: Any, *, lock: bool
) -> tuple[Evaluation, CapUsage]:
    program = _program()
    run = lambda usage: evaluate(  # noqa: E731
        tx, member, promotions, usage, rounding=program.rounding, time_zone=program.time_zone
    )
    usage = first = read_cap_usage(promotions, membership, tx.occurred_at, lock_keys=set())
    result = run(usage)
    if not lock:
        return result, usage
    locked: set[str] = set()
    capped = {p.key for p in promotions if caps_of(p)}
    for _ in range(4):  # usage only grows meanwhile, so this settles at once in practice
        wanted = {r.promotion for r in result.rewards if r.promotion in capped and (r.amount or r.capped)}
        if wanted <= locked:
            return result, usage
        locked |= wanted
        fresh = read_cap_usage(promotions, membership, tx.occurred_at, lock_keys=locked, known=first)
        if not _same_usage(fresh, usage):  # else the engine would answer exactly the same
            result = run(fresh)
        usage = fresh
    return result, usage


def _same_usage(a: CapUsage, b: CapUsage) -> bool:
    """Whether the engine reads the same from both (it takes a missing entry as 0)."""
    used = lambda entries: {k: v for k, v in entries.items() if v}  # noqa: E731
    return used(a.budget) == used(b.budget) and used(a.member) == used(b.member)


# Answers ---------------------------------------------------------------------------------------


def _precisions() -> dict[str, int]:
    return {key: pt.precision for key, pt in point_types_by_key().items()}


def _answer(
    request: TxRequest,
    membership_number: str,
    result: Evaluation,
    *,
    booked: bool,
    unknown: list[int],
    vouchers: dict[int, list[dict[str, str]]] | None = None,
) -> dict[str, Any]:
    precisions = _precisions()
    vouchers = vouchers or {}
    show = lambda amount, point_type: to_points(amount, precisions.get(point_type, 0))  # noqa: E731
    return {
        "tx_id": request.tx_id or None,
        "receipt_id": request.receipt_id,
        "booked": booked,
        "membership_number": membership_number,
        "points": [{"point_type": k, "amount": show(v, k)} for k, v in sorted(result.points().items())],
        "rewards": [
            {
                "promotion": r.promotion,
                "version": r.version,
                "point_type": r.point_type,
                "amount": show(r.amount, r.point_type),
                "lines": [{"line": i, "amount": show(a, r.point_type)} for i, a in sorted(r.lines.items())],
                "capped": r.capped
                and {**r.capped, **{k: show(r.capped[k], r.point_type) for k in ("limit", "used", "before", "after")}},
                "vouchers": vouchers.get(index, [{"voucher_type": t, "token": None} for t in r.voucher_types]),
                "trace": r.trace,
            }
            for index, r in enumerate(result.rewards)
            if r.amount or r.voucher_types or r.capped
        ],
        "not_applied": result.not_applied,
        "unknown_products": unknown,
    }


# Evaluate and book -----------------------------------------------------------------------------


def _engine_input(request: TxRequest, channel, sponsor: Sponsor) -> tuple[Tx, list[int], dict[str, dict]]:
    facts = _facts(channel.key, request.items)
    program = _program()
    lines, unknown = build_lines(request.items, facts, unknown=program.unknown_products)
    tx = Tx(
        occurred_at=request.occurred_at,
        total_amount=request.total_amount,
        currency=request.currency,
        channel=channel.key,
        sponsor=sponsor.key,
        lines=tuple(lines),
        payment_method=request.payment_method,
        properties=request.properties or {},
    )
    return tx, unknown, facts


@reads_once
def calculate(request: TxRequest, *, actor: Actor) -> dict[str, Any]:
    """A dry run: what booking the same request with a fresh txId would answer, with the trace, and
    nothing written. It refuses what the booking refuses, with the same code, by the same checks in
    the same order (see book and _write_booking); a receipt the sponsor already booked is read here,
    where the booking meets it on the database's unique keys."""
    from memberships.services.enrollment import resolve_or_plan_anonymous

    check_request(request)
    channel, sponsor = channel_and_sponsor(request)
    membership = resolve_or_plan_anonymous(request.membership_key)
    check_earns(membership)
    tx, unknown, _ = _engine_input(request, channel, sponsor)
    member = member_context(membership, request.occurred_at)
    result, _ = _evaluate(tx, member, active_promotions(), membership if membership.pk else None, lock=False)
    _check_receipt_free(request, sponsor, earns=any(r.amount for r in result.rewards))
    return _answer(request, membership.number, result, booked=False, unknown=unknown)


def _check_receipt_free(request: TxRequest, sponsor: Sponsor, *, earns: bool) -> None:
    """What the booking's unique (sponsor, receipt) of the transaction row and, when it earns points,
    the ledger's receipt check would refuse (both receipt_already_booked)."""
    taken = selectors.receipt_uses(sponsor.pk, request.receipt_id)
    if "transaction" in taken:
        raise errors.ReceiptAlreadyBooked(f"{sponsor.key} already booked receipt {request.receipt_id!r}.")
    if earns and "earn" in taken:
        raise LedgerReceiptAlreadyBooked(f"Receipt {request.receipt_id!r} of {sponsor.key} is already booked.")


@reads_once
def book(request: TxRequest, *, actor: Actor) -> tuple[dict[str, Any], bool]:
    """Book the transaction once per txId: (answer, replayed)."""
    from memberships.services.enrollment import resolve_or_create_anonymous

    check_request(request)
    existing = _by_tx_id.first(request.tx_id)
    if existing is not None:
        return _replay(existing, request), True
    channel, sponsor = channel_and_sponsor(request)
    membership = resolve_or_create_anonymous(request.membership_key, actor=actor, channel=channel.key)
    try:
        return _book(request, channel, sponsor, membership, actor)
    except (_Taken, LedgerReceiptAlreadyBooked) as exc:  # everything _book wrote is rolled back
        existing = _by_tx_id.first(request.tx_id)
        if existing is not None:  # a concurrent request with this txId committed first
            return _replay(existing, request), True
        if isinstance(exc, LedgerReceiptAlreadyBooked):
            raise
        raise errors.ReceiptAlreadyBooked(
            f"{sponsor.key} already booked receipt {request.receipt_id!r} under another txId."
        ) from None


_by_tx_id: Prepared[Transaction] = Prepared(lambda tx_id: Transaction.objects.filter(tx_id=tx_id).order_by("pk")[:1])


class _Taken(Exception):
    """The transaction row's txId or receipt is taken (by a request that committed meanwhile)."""


def _replay(existing: Transaction, request: TxRequest) -> dict[str, Any]:
    if existing.request_hash != request.fingerprint():
        raise errors.TxIdReused(f"txId {request.tx_id!r} was booked with another payload.")
    return existing.response


def transaction_row(request: TxRequest, membership, sponsor: Sponsor, channel) -> Transaction:
    return Transaction(
        tx_id=request.tx_id,
        receipt_id=request.receipt_id,
        membership=membership,
        sponsor=sponsor,
        channel=channel.key,
        occurred_at=request.occurred_at,
        total_amount=request.total_amount,
        currency=request.currency,
        payment_method=request.payment_method,
        properties=request.properties or {},
        request_hash=request.fingerprint(),
    )


@ledger_transaction
def _book(request: TxRequest, channel, sponsor: Sponsor, membership, actor: Actor) -> tuple[dict[str, Any], bool]:
    """The transaction row is inserted last, with its answer: a concurrent request with the same txId
    (or receipt) waits for the member's lock, then fails on the ledger's receipt check or on the row's
    unique key at the end, which rolls all of it back (book() then replays, or refuses the receipt).
    Any error ends the booking, so the services it calls open no savepoints (loyalty.atomic)."""
    with whole_or_nothing():
        return _write_booking(request, channel, sponsor, membership, actor)


def _write_booking(
    request: TxRequest, channel, sponsor: Sponsor, membership, actor: Actor
) -> tuple[dict[str, Any], bool]:
    from memberships.services.common import lock_membership
    from promotions.tiers import upgrade_if_qualified

    # The member before the accounts (LEDGER.md's order): a tier change at the end needs it anyway.
    membership = lock_membership(membership)
    check_earns(membership)
    tx, unknown, facts = _engine_input(request, channel, sponsor)
    member = member_context(membership, request.occurred_at)
    promotions = active_promotions()
    result, usage = _evaluate(tx, member, promotions, membership, lock=True)
    by_key = {p.key: p for p in promotions}
    lines = earn_lines(result, by_key, request.occurred_at)
    booking = None
    if lines:
        booking = earn_points(
            membership=membership,
            sponsor=sponsor,
            lines=lines,
            actor=actor,
            receipt_id=request.receipt_id,
            tx_id=request.tx_id,
            earned_at=request.occurred_at,
            metadata={"channel": channel.key},
            member_locked=True,  # lock_membership and check_status above
        )
    vouchers = _issue_vouchers(result, membership, request, actor)
    answer = _answer(request, membership.number, result, booked=True, unknown=unknown, vouchers=vouchers)
    record_usage(counted_usage(result, by_key), membership, request.occurred_at)
    if earns_status_points(lines):
        upgrade_if_qualified(membership, actor=actor, at=request.occurred_at)
    tx_row = transaction_row(request, membership, sponsor, channel)
    complete_row(tx_row, booking=booking, member=member, usage=usage, answer=answer)
    entry, event = audit_and_event(
        actor,
        "tx.booked",
        tx_row,
        **booked_audit(tx_row, membership, answer),
        event_type="tx.booked",
        **booked_event(tx_row, membership, answer),
    )
    try:  # one statement on PostgreSQL; no savepoint: a failed insert ends the booking, which rolls back
        insert_with_children(
            tx_row,
            (TransactionLine, line_rows(tx_row, request, facts), "transaction_id", None),
            (TransactionReward, reward_rows(tx_row, result, vouchers), "transaction_id", None),
            *outbox_groups(entry, event, link="object_id"),
        )
    except IntegrityError:
        raise _Taken() from None
    return tx_row.response, False


def earn_lines(result: Evaluation, by_key: dict[str, CompiledPromotion], occurred_at: datetime) -> list[EarnLine]:
    """What the rewards credit: one ledger line per promotion (its version as the line's reference)."""
    point_types = point_types_by_key()
    lines = []
    for reward in result.rewards:
        if not reward.amount:
            continue
        definition = by_key[reward.promotion].definition
        maturation = definition.get("maturationDays")
        expires = definition.get("expiresAt")
        lines.append(
            EarnLine(
                point_types[reward.point_type],
                reward.amount,
                line_ref=f"{reward.promotion}:v{reward.version}",
                matures_at=occurred_at + timedelta(days=maturation) if maturation is not None else None,
                expires_at=datetime.fromisoformat(expires) if expires else USE_POLICY,
            )
        )
    return lines


def earns_status_points(lines: list[EarnLine]) -> bool:
    return any(line.point_type.counts_for_tiers for line in lines)


def complete_row(tx_row: Transaction, *, booking, member, usage: CapUsage, answer: dict[str, Any]) -> None:
    tx_row.booking = booking
    tx_row.member_context = member_to_json(member)
    tx_row.cap_usage = {"budget": usage.budget, "member": [[k[0], k[1], v] for k, v in usage.member.items()]}
    # As json.loads(json.dumps(answer, default=str)): decimals and the like as text, at orjson's speed.
    tx_row.response = orjson.loads(dumper(StrEncoder)(answer))


# Line and reward rows as loyalty.bulk.insert_rows takes them (no model instance per row).
def line_rows(tx_row: Transaction, request: TxRequest, facts: dict[str, dict]) -> list[dict[str, Any]]:
    return [
        {
            "transaction_id": tx_row.pk,
            "position": position,
            "product_key": item.product_key,
            "quantity": item.quantity,
            "unit_price": item.unit_price,
            "amount": item.amount,
            "known": bool((facts.get(item.product_key) or {}).get("known")),
            "facts": _fact_snapshot(facts.get(item.product_key) or {}),
        }
        for position, item in enumerate(request.items, start=1)
    ]


def reward_rows(tx_row: Transaction, result: Evaluation, vouchers: dict[int, list[dict]]) -> list[dict[str, Any]]:
    return [
        {
            "transaction_id": tx_row.pk,
            "promotion_version_id": r.version_id,
            "promotion_key": r.promotion,
            "point_type": r.point_type,
            "amount": r.amount,
            "lines": {str(k): v for k, v in r.lines.items()},
            "trace": r.trace,
            "capped": r.capped,
            "vouchers": [v["token"] for v in vouchers.get(index, []) if v["token"]],
        }
        for index, r in enumerate(result.rewards)
        if r.amount or r.voucher_types
    ]


def counted_usage(result: Evaluation, by_key: dict[str, CompiledPromotion]) -> list[dict[str, Any]]:
    """What the rewards take from the caps that count usage (budget, per member)."""
    counted = [
        r
        for r in result.rewards
        if (r.amount or r.voucher_types) and {"budget", "perMember"} & caps_of(by_key[r.promotion]).keys()
    ]
    ids = promotion_ids_by_key([by_key[r.promotion] for r in counted])
    return [
        {"amount": r.amount, "caps": caps_of(by_key[r.promotion]), "promotion_id": ids[r.promotion], "key": r.promotion}
        for r in counted
    ]


def booked_audit(tx_row: Transaction, membership, answer: dict[str, Any]) -> dict[str, Any]:
    return {
        "object_type": AUDIT_OBJECT_TYPE,
        "object_repr": f"{tx_row.tx_id} {membership.number}",
        "changes": {"points": answer["points"]},
    }


def booked_event(tx_row: Transaction, membership, answer: dict[str, Any]) -> dict[str, Any]:
    return {
        "membership_number": membership.number,
        "payload": {"tx_id": tx_row.tx_id, "receipt_id": tx_row.receipt_id, "points": answer["points"]},
    }


def _fact_snapshot(fact: dict[str, Any]) -> dict[str, Any]:
    return {
        "known": bool(fact.get("known")),
        "categories": fact.get("categories") or {},
        "custom_categories": sorted(fact.get("custom_categories") or []),
        "brand": fact.get("brand") or "",
        "attributes": fact.get("attributes") or {},
    }


def _issue_vouchers(result: Evaluation, membership, request: TxRequest, actor: Actor) -> dict[int, list[dict]]:
    """The `issueVoucher` effects, through the vouchers service. A refusal (stock, limits) keeps the
    purchase booked and is reported on the reward instead of a token."""
    issued: dict[int, list[dict]] = {}
    wanted = [(i, r) for i, r in enumerate(result.rewards) if r.voucher_types]
    if not wanted:
        return issued
    from vouchers.services import issue_promotion_voucher

    for index, reward in wanted:
        for type_key in reward.voucher_types:
            outcome = issue_promotion_voucher(
                voucher_type=type_key,
                recipient=membership,
                tx_id=request.tx_id,
                promotion=reward.promotion,
                actor=actor,
            )
            entry = {"voucher_type": type_key, "token": outcome.voucher.token if outcome.voucher else None}
            if outcome.refused:
                entry["refused"] = outcome.refused
            issued.setdefault(index, []).append(entry)
    return issued


# Returns ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReturnItem:
    quantity: Decimal
    line: int | None = None
    product_key: str = ""


@reads_once
@ledger_transaction
def return_transaction(
    *, receipt_id: str, actor: Actor, items: list[ReturnItem] | None = None, sponsor_key: str = ""
) -> dict[str, Any]:
    """Take back what the returned items earned, recomputed with the promotion versions, member
    context and cap usage of the original booking: thresholds, multipliers and caps that no longer
    apply are taken back too. Never more than was earned; each line quantity at most once."""
    tx_row = selectors.by_receipt(receipt_id, sponsor_key)
    tx_row = Transaction.objects.select_for_update().get(pk=tx_row.pk)
    lines = list(tx_row.lines.all())
    returning = _returning(lines, items)
    sequence = tx_row.returns.count() + 1
    for line in lines:
        line.returned_quantity += returning.get(line.position, Decimal(0))
    fully = all(line.returned_quantity >= line.quantity for line in lines)

    rewards = list(tx_row.rewards.select_related("promotion_version__promotion"))
    versions = compiled_versions([r.promotion_version_id for r in rewards])
    recomputed: dict[str, int] = {}
    if not fully and versions:
        kept = []
        for line in lines:
            left = line.quantity - line.returned_quantity
            if left <= 0 or (not line.known and _program().unknown_products == "ignore"):
                continue
            share = left / line.quantity
            item = Item(line.product_key, left, line.unit_price, (line.amount * share).quantize(CENT))
            kept.append(line_for(line.position, item, line.facts))
        total = sum(
            (line.amount * (line.quantity - line.returned_quantity) / line.quantity for line in lines), Decimal(0)
        )
        tx = Tx(
            occurred_at=tx_row.occurred_at,
            total_amount=total.quantize(CENT),
            currency=tx_row.currency,
            channel=tx_row.channel,
            sponsor=tx_row.sponsor.key,
            lines=tuple(kept),
            payment_method=tx_row.payment_method,
            properties=tx_row.properties,
        )
        usage = CapUsage(
            budget=tx_row.cap_usage.get("budget", {}),
            member={(k, p): v for k, p, v in tx_row.cap_usage.get("member", [])},
        )
        program = _program()
        result = evaluate(
            tx,
            member_from_json(tx_row.member_context),
            versions,
            usage,
            rounding=program.rounding,
            time_zone=program.time_zone,
        )
        recomputed = {r.promotion: r.amount for r in result.rewards}
    previously = _reversed_by_promotion(tx_row)
    take: dict[str, int] = defaultdict(int)
    per_promotion = []
    for reward in rewards:
        still_due = reward.amount - previously.get(reward.promotion_key, 0)
        back = max(0, still_due - recomputed.get(reward.promotion_key, 0))
        take[reward.point_type] += back
        per_promotion.append((reward, back))
    booking = None
    if tx_row.booking_id and any(take.values()):
        booking = reverse_earn_amounts(
            booking=tx_row.booking, amounts=dict(take), reference=f"return:{sequence}", actor=actor
        )
    record_usage(
        [
            {
                "amount": back,
                "caps": reward.promotion_version.definition.get("caps") or {},
                "promotion_id": reward.promotion_version.promotion_id,
            }
            for reward, back in per_promotion
            if back and reward.promotion_version.definition.get("caps")
        ],
        tx_row.membership,
        tx_row.occurred_at,
        sign=-1,
    )
    revoked = _revoke_vouchers(tx_row, rewards, recomputed, fully, actor)
    precisions = _precisions()
    reversed_points = {k: v for k, v in take.items() if v}
    TransactionReturn.objects.create(
        transaction=tx_row,
        sequence=sequence,
        items={str(k): str(v) for k, v in returning.items()},
        reversed_points={**reversed_points, "_by_promotion": {r.promotion_key: b for r, b in per_promotion if b}},
        booking=booking,
    )
    TransactionLine.objects.bulk_update(lines, ["returned_quantity"])
    tx_row.status = Transaction.Status.RETURNED if fully else Transaction.Status.PARTIALLY_RETURNED
    tx_row.save(update_fields=["status"])
    answer = {
        "tx_id": tx_row.tx_id,
        "receipt_id": tx_row.receipt_id,
        "status": tx_row.status,
        "return_number": sequence,
        "returned": [{"line": k, "quantity": str(v.normalize())} for k, v in sorted(returning.items())],
        "points": [
            {"point_type": k, "amount": to_points(-v, precisions.get(k, 0))} for k, v in sorted(reversed_points.items())
        ],
        "revoked_vouchers": revoked,
    }
    record_audit(
        actor,
        "tx.reversed",
        tx_row,
        object_type=AUDIT_OBJECT_TYPE,
        changes={"return": sequence, "points": answer["points"]},
    )
    emit_event(
        "tx.reversed",
        membership_number=tx_row.membership.number,
        payload={
            "tx_id": tx_row.tx_id,
            "receipt_id": tx_row.receipt_id,
            "return": sequence,
            "points": answer["points"],
        },
    )
    return answer


def _returning(lines: list[TransactionLine], items: list[ReturnItem] | None) -> dict[int, Decimal]:
    left = {line.position: line.quantity - line.returned_quantity for line in lines}
    if not any(v > 0 for v in left.values()):
        raise errors.AlreadyReturned()
    if not items:
        return {pos: qty for pos, qty in left.items() if qty > 0}
    by_product: dict[str, list[int]] = defaultdict(list)
    for line in lines:
        by_product[line.product_key].append(line.position)
    wanted: dict[int, Decimal] = defaultdict(Decimal)
    for index, item in enumerate(items):
        if item.line is not None:
            if item.line not in left:
                raise errors.UnknownLine(f"The transaction has no line {item.line}.")
            wanted[item.line] += item.quantity
            continue
        positions = by_product.get(item.product_key)
        if not positions:
            raise errors.UnknownLine(f"The transaction has no product {item.product_key!r}.")
        quantity = item.quantity
        for position in positions:  # spread over the lines of that product
            share = min(quantity, left[position] - wanted[position])
            if share > 0:
                wanted[position] += share
                quantity -= share
        if quantity > 0:
            raise errors.ReturnExceedsQuantity(f"items.{index}: more {item.product_key} than is left to return.")
    for position, quantity in wanted.items():
        if quantity > left[position]:
            raise errors.ReturnExceedsQuantity(
                f"Line {position}: {quantity} returned, only {left[position]} left to return."
            )
    return {pos: qty for pos, qty in wanted.items() if qty > 0}


def _reversed_by_promotion(tx_row: Transaction) -> dict[str, int]:
    return selectors.returned_points(tx_row).by_promotion


def _revoke_vouchers(tx_row: Transaction, rewards, recomputed: dict[str, int], fully: bool, actor: Actor) -> list[str]:
    """Vouchers of promotions the kept items no longer earn go back, where still unused."""
    from vouchers.services import revoke_transaction_vouchers

    revoked: list[str] = []
    for reward in rewards:
        if reward.vouchers and (fully or reward.promotion_key not in recomputed):
            outcome = revoke_transaction_vouchers(
                tx_id=tx_row.tx_id, reason="transaction returned", actor=actor, promotion=reward.promotion_key
            )
            revoked += [voucher.token for voucher in outcome.revoked]
    return revoked
