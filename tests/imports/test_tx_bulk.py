"""Transactions imported in bulk (book_many) give exactly what booking them one by one gives: the same
outcome and error code per record, the same stored transactions and answers, ledger bookings, lots
and balances, cap usage, tiers, audit entries and events, whatever the chunk holds. Each import runs
inside a savepoint that is rolled back, so both ways start from the same database."""

from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from imports.registry import get_type
from ledger.models import Account, Booking, Lot, PointType
from ledger.services import redeem_points, reverse_earn
from ledger.verify import verify
from loyalty.configuration import forget
from loyalty.models import AuditEntry, Event, Tier
from loyalty.services import save_configuration
from memberships.models import Membership
from memberships.services import block_membership
from promotions.models import PromotionBudget, PromotionMemberUsage
from promotions.services import save_promotion
from tests.imports.conftest import ACTOR, records_by_line
from transactions.models import Transaction, TransactionReward

pytestmark = pytest.mark.django_db

DAILY = {  # 5 points a purchase, at most 8 a day per member
    "pointType": "points",
    "effects": [{"type": "fixed", "points": "5"}],
    "caps": {"perMember": [{"period": "day", "points": "8"}]},
}
BUDGET = {  # 4 points a purchase until 10 are given
    "pointType": "points",
    "effects": [{"type": "fixed", "points": "4"}],
    "caps": {"budget": "10"},
}
STATUS = {"pointType": "status", "effects": [{"type": "perAmount", "points": "1", "per": "1", "lines": "all"}]}


@pytest.fixture
def scene(program, make_member, earn):
    status = PointType.objects.get(key="status")
    status.counts_for_tiers = True
    save_configuration(status, actor=ACTOR)
    save_configuration(Tier(key="silver", name="Silver", rank=1, qualification_threshold=20), actor=ACTOR)
    save_promotion(key="daily", name="Daily visit", definition=DAILY, actor=ACTOR)
    save_promotion(key="launch", name="Launch budget", definition=BUDGET, actor=ACTOR)
    save_promotion(key="status", name="Status points", definition=STATUS, actor=ACTOR)
    members = {name: make_member() for name in "ABCDE"}
    block_membership(membership=members["D"], actor=ACTOR, reason="test")
    # E owes points: an earn spent, then reversed, leaves a debt the next earn pays first.
    booking = earn(members["E"], 300)
    redeem_points(membership=members["E"], points=300, point_type=program.points, sponsor=program.shop, actor=ACTOR)
    reverse_earn(booking=booking, actor=ACTOR)
    return members


def tx(member, tx_id: str, amount: str = "12.98", **fields) -> dict[str, Any]:
    key = member.number if hasattr(member, "number") else member
    return {
        "txId": tx_id,
        "receiptId": f"R-{tx_id}",
        "membershipKey": key,
        "channel": "webshop",
        "occurredAt": (timezone.now() - timedelta(hours=1)).isoformat(),
        "totalAmount": amount,
        "currency": "EUR",
        "items": [{"productKey": "COF-001", "quantity": "1", "unitPrice": amount, "amount": amount}],
        **fields,
    }


def chunk(m) -> list[dict[str, Any]]:
    first = tx(m["A"], "T1")
    return [
        first,
        tx(m["B"], "T2", "25.00"),  # B crosses the silver threshold
        tx(m["A"], "T3"),  # A again: the daily cap cuts it to 3
        tx("no-such-member", "T4"),  # an unknown card: an anonymous membership (the program allows it)
        tx(m["C"], "T5", currency="USD"),  # wrong_currency
        first,  # the same txId and payload: replays T1
        tx(m["D"], "T6"),  # blocked: membership_not_active
        tx(m["C"], "T7"),  # the budget is used up by now: no launch points
        tx(m["E"], "T8", "6.49"),  # pays E's debt first
        tx(m["C"], "T9", channel="nowhere"),  # unknown_channel
        tx(m["B"], "T10", "3.00"),
        tx(m["C"], "T7-bis", receiptId="R-T7"),  # the receipt of T7 under another txId
        tx(m["E"], "T11", "30.00"),
        {**first, "paymentMethod": "cash"},  # T1 again with another payload: tx_id_reused
    ]


def snapshot(import_json, records, *, one_by_one: bool, monkeypatch, members) -> dict[str, Any]:
    kind = get_type("transactions")
    names = {m.pk: name for name, m in members.items()}
    numbers = {m.number: name for name, m in members.items()}
    with monkeypatch.context() as patch:
        if one_by_one:
            patch.setattr(kind, "apply_bulk", None)
        with transaction.atomic():
            last_audit = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0
            last_event = Event.objects.order_by("-id").values_list("id", flat=True).first() or 0
            last_booking = Booking.objects.order_by("-id").values_list("id", flat=True).first() or 0
            _, batch = import_json("transactions", records)
            outcomes = {
                line: (r.status, r.error_code, r.result.get("points") if r.result else None)
                for line, r in records_by_line(batch).items()
            }
            bookings = Booking.objects.filter(id__gt=last_booking)
            state = {
                "outcomes": outcomes,
                "transactions": sorted(
                    (t.tx_id, names.get(t.membership_id, "new"), t.response["points"], t.member_context, t.cap_usage)
                    for t in Transaction.objects.all()
                ),
                "rewards": sorted(
                    (r.transaction.tx_id, r.promotion_key, r.amount, bool(r.capped), repr(r.trace))
                    for r in TransactionReward.objects.select_related("transaction")
                ),
                "bookings": sorted(
                    (b.kind, names.get(b.membership_id, "new"), b.tx_id, b.receipt_id, repr(b.metadata.get("lines")))
                    for b in bookings
                ),
                "balances": sorted(
                    (names.get(a.membership_id, "new"), a.point_type.key, a.balance)
                    for a in Account.objects.filter(kind="member").select_related("point_type")
                ),
                "lots": sorted(
                    (names.get(lot.account.membership_id, "new"), lot.original, lot.remaining, lot.state, lot.line_ref)
                    for lot in Lot.objects.select_related("account")
                ),
                "usage": sorted(
                    [("budget", b.promotion.key, b.used) for b in PromotionBudget.objects.select_related("promotion")]
                    + [
                        (names.get(u.membership_id, "new"), u.promotion.key, u.period, u.used)
                        for u in PromotionMemberUsage.objects.select_related("promotion")
                    ]
                ),
                "tiers": sorted(
                    (names[m.pk], m.tier.key if m.tier_id else "")
                    for m in Membership.objects.filter(pk__in=names).select_related("tier")
                ),
                "audit": Counter(AuditEntry.objects.filter(id__gt=last_audit).values_list("action", flat=True)),
                "events": Counter(
                    (e.type, numbers.get(e.membership_number, "new"), repr(e.payload.get("points")))
                    for e in Event.objects.filter(id__gt=last_event)
                ),
                "violations": verify(),
            }
            transaction.set_rollback(True)
    # The import's on_commit callbacks ran inside this rolled-back block (the test captures and runs
    # them); what the process remembered from them (system accounts) goes with the rollback.
    forget()
    return state


@pytest.mark.parametrize("copy_from", [50, 1], ids=["insert", "copy"])
def test_a_chunk_booked_in_bulk_matches_booking_it_one_by_one(scene, import_json, monkeypatch, copy_from):
    from loyalty import bulk

    monkeypatch.setattr(bulk, "COPY_FROM", copy_from)  # 1: every insert through COPY on PostgreSQL
    records = chunk(scene)
    bulk = snapshot(import_json, records, one_by_one=False, monkeypatch=monkeypatch, members=scene)
    each = snapshot(import_json, records, one_by_one=True, monkeypatch=monkeypatch, members=scene)
    for part in each:
        assert bulk[part] == each[part], part
    assert bulk["violations"] == []
    codes = {line: code for line, (status, code, _) in bulk["outcomes"].items() if status == "failed"}
    assert codes == {
        5: "wrong_currency",
        7: "membership_not_active",
        10: "unknown_channel",
        12: "receipt_already_booked",
        14: "tx_id_reused",
    }
    assert bulk["outcomes"][6] == bulk["outcomes"][1]  # the replay answers what T1 booked
    assert ("B", "silver") in bulk["tiers"]
    capped = {(tx_id, key) for tx_id, key, _, was_capped, _ in bulk["rewards"] if was_capped}
    assert {("T3", "daily"), ("T3", "launch"), ("T10", "daily")} <= capped  # the budget ran out at T3
    assert not [r for r in bulk["rewards"] if r[0] == "T7" and r[1] == "launch"]


def test_a_chunk_of_distinct_members_is_booked_by_one_bulk_call(scene, import_json, monkeypatch):
    from transactions import import_types

    calls = []
    original = import_types.book_many
    monkeypatch.setattr(
        import_types, "book_many", lambda requests, **kw: calls.append(len(requests)) or original(requests, **kw)
    )
    _, batch = import_json("transactions", [tx(scene[name], f"X{name}") for name in "ABCE"])
    assert {r.status for r in records_by_line(batch).values()} == {"ok"}
    assert calls == [4]
    assert verify() == []
