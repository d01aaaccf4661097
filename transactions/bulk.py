"""Booking a chunk of imported transactions at once: the bulk form of services.book.

`book_many` books the longest run of the chunk, from its start, that it can book exactly as `book`
would, one after the other in the chunk's order, with a few statements per table for the whole run.
The first request it cannot book ends the run (it and the rest answer None): the caller books that
one with `book`, so that every refusal and every replay comes from the one-by-one service with its
own code, and then calls `book_many` again with the rest. So the order of the file is kept, which
caps and budgets depend on.

- left to `book`: no txId, a txId or (sponsor, receipt) already stored or repeated in the chunk, a
  request `check_request` refuses, an unknown channel or sponsor, a key that names no membership, several,
  or a merged one, a membership that does not earn, a second transaction of a membership already in
  the chunk, and a transaction whose promotions issue vouchers;
- the same lock order as `book`: the memberships (ascending id), the promotions' budget rows, their
  member usage rows, the ledger accounts (in `earn_many`); then the transaction rows, whose unique
  txId and receipt decide against a concurrent request (an IntegrityError: the caller rolls the chunk
  back and books it one by one);
- the same engine input, cap usage (read under the locks, plus what earlier transactions of the
  chunk took), ledger bookings (`earn_many`), stored rows, tier upgrades, audit entries and events.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import F

from ledger.services.core import EARNING_STATUSES
from ledger.services.earn import Earn, earn_many
from loyalty.actors import Actor
from loyalty.audit import audit_entry, record_audits
from loyalty.bulk import insert_models, insert_rows
from loyalty.errors import DomainError
from loyalty.memo import reads_once
from loyalty.outbox import emit_events, event_row
from promotions.caps import caps_of, periods_at, promotion_ids_by_key
from promotions.context import member_context
from promotions.engine import CapUsage, CompiledPromotion, Evaluation, evaluate
from promotions.models import PromotionBudget, PromotionMemberUsage
from promotions.selectors import active_promotions
from transactions import services
from transactions.models import Transaction, TransactionLine, TransactionReward


@dataclass
class _Candidate:
    index: int
    request: services.TxRequest
    channel: Any
    sponsor: Any
    membership: Any = None
    periods: dict[str, str] = field(default_factory=dict)
    tx: Any = None
    unknown: list[int] = field(default_factory=list)
    facts: dict[str, dict] = field(default_factory=dict)
    member: Any = None
    wanted: set[str] = field(default_factory=set)
    result: Evaluation | None = None
    usage: CapUsage | None = None


@reads_once
def book_many(requests: list[services.TxRequest], *, actor: Actor) -> list[dict[str, Any] | None]:
    """The stored answers of the run booked here, from the start; None from the first request left to
    `book` on."""
    answers: list[dict[str, Any] | None] = [None] * len(requests)
    candidates = _locked(_resolved(_fresh(_checked(requests))))
    if not candidates:
        return answers
    promotions = active_promotions()
    by_key = {p.key: p for p in promotions}
    program = services._program()
    for c in candidates:
        c.periods = periods_at(c.request.occurred_at)
        c.tx, c.unknown, c.facts = services._engine_input(c.request, c.channel, c.sponsor)
        c.member = member_context(c.membership, c.request.occurred_at)

    def run(c: _Candidate, usage: CapUsage) -> Evaluation:
        return evaluate(c.tx, c.member, promotions, usage, rounding=program.rounding, time_zone=program.time_zone)

    usage = _Usage(promotions, candidates)
    for c in candidates:  # first without locks: which capped promotions would reward
        c.wanted = _capped_rewards(run(c, usage.of(c)), by_key)
    usage.lock(candidates)
    booked = []
    for c in candidates:  # then in order, under the locks, each seeing what the ones before took
        c.usage = usage.of(c)
        c.result = run(c, c.usage)
        if not usage.covers(c, _capped_rewards(c.result, by_key)) or any(r.voucher_types for r in c.result.rewards):
            break  # a cap row not locked (usage only grows, so in theory never), or vouchers: `book`
        usage.take(c, services.counted_usage(c.result, by_key))
        booked.append(c)
    if not booked:
        return answers
    _write(booked, by_key, usage, actor, answers)
    return answers


def _prefix(candidates: list[_Candidate], good) -> list[_Candidate]:
    """The candidates up to the first one that is not `good`: the run stops there."""
    found = []
    for c in candidates:
        if not good(c):
            break
        found.append(c)
    return found


def _checked(requests: list[services.TxRequest]) -> list[_Candidate]:
    found, tx_ids, receipts = [], set(), set()
    for index, request in enumerate(requests):
        if not request.tx_id or request.tx_id in tx_ids:
            break
        try:
            services.check_request(request)
            channel, sponsor = services.channel_and_sponsor(request)
        except DomainError:
            break
        if (sponsor.pk, request.receipt_id) in receipts:
            break
        tx_ids.add(request.tx_id)
        receipts.add((sponsor.pk, request.receipt_id))
        found.append(_Candidate(index, request, channel, sponsor))
    return found


def _fresh(candidates: list[_Candidate]) -> list[_Candidate]:
    """Not stored yet: a stored txId replays (or is a conflict) and a stored receipt is refused by `book`."""
    if not candidates:
        return []
    stored = set(
        Transaction.objects.filter(tx_id__in=[c.request.tx_id for c in candidates]).values_list("tx_id", flat=True)
    )
    receipts = set(
        Transaction.objects.filter(
            receipt_id__in={c.request.receipt_id for c in candidates}, sponsor_id__in={c.sponsor.pk for c in candidates}
        ).values_list("sponsor_id", "receipt_id")
    )
    return _prefix(
        candidates, lambda c: c.request.tx_id not in stored and (c.sponsor.pk, c.request.receipt_id) not in receipts
    )


def _resolved(candidates: list[_Candidate]) -> list[_Candidate]:
    """One transaction per membership in a run: a second one (or a key that does not resolve) ends it."""
    from memberships.selectors import membership_ids_by_key

    ids = membership_ids_by_key([c.request.membership_key for c in candidates])
    found, members = [], set()
    for c in candidates:
        pk = ids.get(c.request.membership_key)
        if pk is None or pk in members:
            break
        members.add(pk)
        c.membership = pk
        found.append(c)
    return found


def _locked(candidates: list[_Candidate]) -> list[_Candidate]:
    from memberships.models import Membership

    if not candidates:
        return []
    rows = (
        Membership.objects.select_for_update(of=("self",), no_key=True)
        .select_related("membership_type", "tier")
        .filter(pk__in=[c.membership for c in candidates])
        .order_by("pk")
    )
    locked = {m.pk: m for m in rows}
    found = []
    for c in candidates:
        membership = locked.get(c.membership)
        if membership is None or membership.status not in EARNING_STATUSES:  # merged, blocked...: `book` says so
            break
        c.membership = membership
        found.append(c)
    return found


def _capped_rewards(result: Evaluation, by_key: dict[str, CompiledPromotion]) -> set[str]:
    return {
        r.promotion
        for r in result.rewards
        if (r.amount or r.capped) and {"budget", "perMember"} & caps_of(by_key[r.promotion]).keys()
    }


class _Usage:
    """Cap usage of the chunk's memberships: read, then the rows the rewards need made and locked, then
    counted up as the chunk's transactions take from them, in order."""

    def __init__(self, promotions: list[CompiledPromotion], candidates: list[_Candidate]):
        self.capped = [p for p in promotions if {"budget", "perMember"} & caps_of(p).keys()]
        self.ids = promotion_ids_by_key(self.capped)
        self.budget_keys = {p.key for p in self.capped if "budget" in caps_of(p)}
        self.member_caps = {
            p.key: [cap["period"] for cap in caps_of(p)["perMember"]]
            for p in self.capped
            if caps_of(p).get("perMember")
        }
        self.budget: dict[str, int] = {}
        self.member: dict[tuple[int, int, str, str], int] = {}  # (promotion, membership, period, key)
        self.row_ids: dict[tuple[int, int, str, str], int] = {}
        self.locked_budget: set[str] = set()
        self.locked_member: set[tuple[int, str]] = set()  # (membership, promotion key)
        self.budget_taken: dict[int, int] = defaultdict(int)
        self.member_taken: dict[tuple[int, int, str, str], int] = defaultdict(int)
        if not self.capped:
            return
        by_id = {pk: key for key, pk in self.ids.items()}
        if self.budget_keys:
            rows = PromotionBudget.objects.filter(promotion_id__in=[self.ids[k] for k in self.budget_keys])
            self.budget.update((by_id[pid], used) for pid, used in rows.values_list("promotion_id", "used"))
        if self.member_caps:
            self._read_member(
                [self.ids[k] for k in self.member_caps], [c.membership.pk for c in candidates], candidates, lock=False
            )

    def _read_member(self, promotion_ids, membership_ids, candidates, *, lock: bool) -> None:
        keys = {key for c in candidates for key in c.periods.values()}
        qs = PromotionMemberUsage.objects.filter(
            promotion_id__in=promotion_ids, membership_id__in=membership_ids, period_key__in=keys
        )
        if lock:
            qs = qs.select_for_update().order_by("pk")
        for pk, pid, mid, period, period_key, used in qs.values_list(
            "pk", "promotion_id", "membership_id", "period", "period_key", "used"
        ):
            self.member[(pid, mid, period, period_key)] = used
            self.row_ids[(pid, mid, period, period_key)] = pk

    def of(self, c: _Candidate) -> CapUsage:
        member = {}
        for key, periods in self.member_caps.items():
            for period in periods:
                row = (self.ids[key], c.membership.pk, period, c.periods[period])
                if row in self.member:
                    member[(key, period)] = self.member[row]
        return CapUsage(budget=dict(self.budget), member=member)

    def lock(self, candidates: list[_Candidate]) -> None:
        """Budget rows first, then member usage rows, each in ascending id (as read_cap_usage does)."""
        budget_ids = sorted({self.ids[k] for c in candidates for k in c.wanted & self.budget_keys})
        if budget_ids:
            PromotionBudget.objects.bulk_create(
                [PromotionBudget(promotion_id=pk) for pk in budget_ids], ignore_conflicts=True
            )
            rows = PromotionBudget.objects.select_for_update().filter(promotion_id__in=budget_ids).order_by("pk")
            by_id = {pk: key for key, pk in self.ids.items()}
            for pid, used in rows.values_list("promotion_id", "used"):
                self.budget[by_id[pid]] = used
                self.locked_budget.add(by_id[pid])
        wanted = [
            PromotionMemberUsage(
                promotion_id=self.ids[key], membership=c.membership, period=period, period_key=c.periods[period]
            )
            for c in candidates
            for key in sorted(c.wanted & self.member_caps.keys())
            for period in self.member_caps[key]
        ]
        if wanted:
            PromotionMemberUsage.objects.bulk_create(wanted, ignore_conflicts=True)
            self._read_member(
                sorted({row.promotion_id for row in wanted}),
                sorted({row.membership_id for row in wanted}),
                candidates,
                lock=True,
            )
            by_id = {pk: key for key, pk in self.ids.items()}
            self.locked_member |= {(row.membership_id, by_id[row.promotion_id]) for row in wanted}

    def covers(self, c: _Candidate, keys: set[str]) -> bool:
        return all(
            (k not in self.budget_keys or k in self.locked_budget)
            and (k not in self.member_caps or (c.membership.pk, k) in self.locked_member)
            for k in keys
        )

    def take(self, c: _Candidate, counted: list[dict[str, Any]]) -> None:
        for entry in counted:
            amount, pid, key = entry["amount"], entry["promotion_id"], entry["key"]
            if not amount:
                continue
            if "budget" in entry["caps"]:
                self.budget[key] = self.budget.get(key, 0) + amount
                self.budget_taken[pid] += amount
            for cap in entry["caps"].get("perMember") or []:
                row = (pid, c.membership.pk, cap["period"], c.periods[cap["period"]])
                self.member[row] = self.member.get(row, 0) + amount
                self.member_taken[row] += amount

    def save(self) -> None:
        for pid, amount in self.budget_taken.items():
            PromotionBudget.objects.filter(promotion_id=pid).update(used=F("used") + amount)
        rows = {self.row_ids[row]: amount for row, amount in self.member_taken.items() if amount}
        if not rows:
            return
        if connection.vendor == "postgresql":
            table = PromotionMemberUsage._meta.db_table
            with connection.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {table} AS u SET used = u.used + v.amount "  # noqa: S608
                    "FROM unnest(%s::bigint[], %s::bigint[]) AS v(id, amount) WHERE u.id = v.id",
                    [list(rows), list(rows.values())],
                )
            return
        for pk, amount in rows.items():
            PromotionMemberUsage.objects.filter(pk=pk).update(used=F("used") + amount)


def _write(
    booked: list[_Candidate],
    by_key: dict[str, CompiledPromotion],
    usage: _Usage,
    actor: Actor,
    answers: list[dict[str, Any] | None],
) -> None:
    from promotions.tiers import upgrade_if_qualified

    lines = {c.index: services.earn_lines(c.result, by_key, c.request.occurred_at) for c in booked}
    earning = [c for c in booked if lines[c.index]]
    bookings = earn_many(
        [
            Earn(
                c.membership,
                c.sponsor,
                lines[c.index],
                receipt_id=c.request.receipt_id,
                tx_id=c.request.tx_id,
                metadata={"channel": c.channel.key},
                earned_at=c.request.occurred_at,
            )
            for c in earning
        ],
        actor=actor,
    )
    booking_of = {c.index: booking for c, booking in zip(earning, bookings, strict=True)}
    rows = []
    for c in booked:
        answer = services._answer(c.request, c.membership.number, c.result, booked=True, unknown=c.unknown, vouchers={})
        row = services.transaction_row(c.request, c.membership, c.sponsor, c.channel)
        services.complete_row(row, booking=booking_of.get(c.index), member=c.member, usage=c.usage, answer=answer)
        rows.append(row)
    insert_models(rows, ids=True)
    insert_rows(
        TransactionLine,
        [line for c, row in zip(booked, rows, strict=True) for line in services.line_rows(row, c.request, c.facts)],
    )
    insert_rows(
        TransactionReward,
        [reward for c, row in zip(booked, rows, strict=True) for reward in services.reward_rows(row, c.result, {})],
    )
    usage.save()
    for c in booked:
        if services.earns_status_points(lines[c.index]):
            upgrade_if_qualified(c.membership, actor=actor, at=c.request.occurred_at)
    record_audits(
        [
            audit_entry(actor, "tx.booked", row, **services.booked_audit(row, c.membership, row.response))
            for c, row in zip(booked, rows, strict=True)
        ]
    )
    emit_events(
        [
            event_row("tx.booked", **services.booked_event(row, c.membership, row.response))
            for c, row in zip(booked, rows, strict=True)
        ]
    )
    for c, row in zip(booked, rows, strict=True):
        answers[c.index] = row.response
