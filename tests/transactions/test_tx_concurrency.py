"""POST /tx under real concurrency, on PostgreSQL with real threads: budgets hold, a txId books once."""

import itertools
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone
from rest_framework.test import APIClient

from ledger.models import Booking, PointType
from ledger.selectors import balance_of
from ledger.verify import verify
from loyalty.models import MembershipType
from loyalty.services import save_configuration
from memberships.services.enrollment import enroll_membership
from promotions.context import Item
from promotions.models import PromotionBudget
from promotions.services import save_promotion
from tests.conftest import run_in_threads
from tests.promotions.conftest import ACTOR
from transactions import services as tx_services
from transactions.models import Transaction, TransactionReward
from transactions.services import TxRequest, book

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 16
LAUNCH_POINTS = 3000  # 30.00 points per transaction, in minor units
BUDGET = 10000  # 100.00 points: three whole bonuses and a cut one of 10.00
BASKET_POINTS = 1587  # base earning on the basket below: 1 point per euro of 15.87
_receipts = itertools.count(1)


@pytest.fixture(autouse=True)
def ledger_stays_consistent():
    yield
    assert verify() == []


@pytest.fixture
def race_program(catalog):
    save_configuration(MembershipType(key="consumer", name="Consumer", is_default=True), actor=ACTOR)
    save_configuration(
        PointType(key="points", name="Points", is_main=True, precision=2, expiry_policy="never"), actor=ACTOR
    )
    save_promotion(
        key="base",
        name="1 point per euro",
        definition={
            "pointType": "points",
            "base": True,
            "effects": [{"type": "perAmount", "points": "1", "per": "1", "lines": "all"}],
        },
        actor=ACTOR,
    )
    return save_promotion(
        key="launch",
        name="Launch bonus",
        definition={
            "pointType": "points",
            "effects": [{"type": "fixed", "points": "30"}],
            "caps": {"budget": str(BUDGET // 100)},
        },
        actor=ACTOR,
    )


@pytest.fixture
def members(race_program):
    return [
        enroll_membership(actor=ACTOR, first_name="Race", last_name=f"Member{n}", email=f"race{n}@example.com")
        for n in range(THREADS)
    ]


def tx_request(member, tx_id: str) -> TxRequest:
    """Two bags of espresso beans (12.98) and a green tea (2.89) in the web shop."""
    items = [
        Item("COF-001", Decimal(2), Decimal("6.49"), Decimal("12.98")),
        Item("TEA-001", Decimal(1), Decimal("2.89"), Decimal("2.89")),
    ]
    return TxRequest(
        membership_key=member.number,
        channel="webshop",
        occurred_at=timezone.now() - timedelta(minutes=1),
        total_amount=Decimal("15.87"),
        currency="EUR",
        items=items,
        receipt_id=f"RACE-{next(_receipts)}",
        tx_id=tx_id,
    )


def launch_given() -> int:
    return TransactionReward.objects.filter(promotion_key="launch").aggregate(s=Sum("amount"))["s"] or 0


def test_sixteen_members_at_once_never_get_more_than_the_budget(members):
    requests = [tx_request(member, f"RACE-T-{n}") for n, member in enumerate(members)]
    results = run_in_threads(THREADS, lambda i: book(requests[i], actor=ACTOR))
    assert not [r for r in results if isinstance(r, Exception)], results
    assert Transaction.objects.count() == THREADS
    # Exactly the budget was given: three whole bonuses and one cut to what was left, nothing more.
    amounts = sorted(TransactionReward.objects.filter(promotion_key="launch").values_list("amount", flat=True))
    assert amounts == [BUDGET - 3 * LAUNCH_POINTS] + [LAUNCH_POINTS] * 3, amounts
    assert launch_given() == PromotionBudget.objects.get().used == BUDGET
    # The answers say the same: the cut one is marked capped, the rest got no launch bonus at all.
    launch = [next((r for r in answer["rewards"] if r["promotion"] == "launch"), None) for answer, _ in results]
    assert sorted(r["amount"] for r in launch if r and r["amount"] != "0.00") == ["10.00", "30.00", "30.00", "30.00"]
    assert sum(1 for r in launch if r and r["capped"] and r["capped"]["cap"] == "budget") == THREADS - 3
    # Every member still got the base earning, and the ledger credited exactly what the rewards say.
    points = PointType.objects.get(key="points")
    credited = sum(balance_of(member, points).balance for member in members)
    assert credited == THREADS * BASKET_POINTS + BUDGET


def test_one_member_at_sixteen_tills_never_passes_the_daily_cap(members):
    save_promotion(
        key="daily",
        name="Daily visit",
        definition={
            "pointType": "points",
            "effects": [{"type": "fixed", "points": "20"}],
            "caps": {"perMember": [{"period": "day", "points": "50"}]},
        },
        actor=ACTOR,
    )
    member = members[0]
    requests = [tx_request(member, f"RACE-D-{n}") for n in range(THREADS)]
    results = run_in_threads(THREADS, lambda i: book(requests[i], actor=ACTOR))
    assert not [r for r in results if isinstance(r, Exception)], results
    daily = TransactionReward.objects.filter(promotion_key="daily").aggregate(s=Sum("amount"))["s"]
    assert daily == 5000


def test_the_budget_overflows_without_the_lock_negative_control(members, monkeypatch):
    """The same race with the budget read unlocked gives too much: the test above can fail."""
    original = tx_services.read_cap_usage

    def unlocked(promotions, membership, occurred_at, *, lock_keys, known=None):
        usage = original(promotions, membership, occurred_at, lock_keys=set())
        time.sleep(0.02)  # widen the window between the read and the write
        return usage

    monkeypatch.setattr(tx_services, "read_cap_usage", unlocked)
    requests = [tx_request(member, f"RACE-N-{n}") for n, member in enumerate(members)]
    results = run_in_threads(THREADS, lambda i: book(requests[i], actor=ACTOR))
    assert not [r for r in results if isinstance(r, Exception)], results
    assert launch_given() == PromotionBudget.objects.get().used
    assert PromotionBudget.objects.get().used > BUDGET, "the budget held without the lock: the control proves nothing"


def test_eight_requests_with_one_tx_id_book_once_and_answer_alike(members, make_key):
    member = members[0]
    raw = make_key()
    body = {
        "txId": "RACE-SAME",
        "receiptId": "RACE-SAME-R",
        "membershipKey": member.number,
        "channel": "webshop",
        "occurredAt": (timezone.now() - timedelta(minutes=1)).isoformat(),
        "totalAmount": "15.87",
        "currency": "EUR",
        "items": [
            {"productKey": "COF-001", "quantity": "2", "unitPrice": "6.49", "amount": "12.98"},
            {"productKey": "TEA-001", "quantity": "1", "unitPrice": "2.89", "amount": "2.89"},
        ],
    }

    def post(_):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
        response = client.post("/api/v1/tx", body, format="json")
        return response.status_code, response.json()

    results = run_in_threads(8, post)
    # The same answer for all; the replays come from a jsonb column, which orders keys its own way.
    assert all(r == results[0] for r in results), results
    assert results[0][0] == 201, results[0]
    assert Transaction.objects.count() == 1
    assert Booking.objects.filter(kind="earn").count() == 1
    assert balance_of(member, PointType.objects.get(key="points")).balance == BASKET_POINTS + LAUNCH_POINTS
    assert PromotionBudget.objects.get().used == LAUNCH_POINTS
