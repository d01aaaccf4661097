"""The demo promotions and purchases: booked through /tx's service, a consistent ledger, and a second
run of seed_demo's step changes nothing."""

from datetime import timedelta

import pytest
from django.db.models import Count, Sum
from django.utils import timezone

from ledger import demo as ledger_demo
from ledger.models import Booking
from ledger.verify import verify
from loyalty import demo as loyalty_demo
from loyalty.actors import Actor
from loyalty.models import Tier
from memberships.models import Membership
from memberships.services.enrollment import enroll_membership
from promotions import demo as catalog_demo
from promotions.models import Promotion, PromotionBudget, PromotionVersion
from transactions import demo
from transactions.models import Transaction, TransactionReward

pytestmark = pytest.mark.django_db

ACTOR = Actor.for_system("seed_demo")
PURCHASES = 80


@pytest.fixture
def demo_program():
    """The apps' demos the purchases need (loyalty, ledger point types, catalog), and a few members
    with demo cards instead of the 300 of the memberships demo, to keep the test quick."""
    loyalty_demo.seed(ACTOR)
    for n in range(12):
        enroll_membership(
            actor=ACTOR,
            first_name="Demo",
            last_name=f"Shopper{n}",
            email=f"shopper{n}@example.com",
            card_number=f"6010{n + 1:08d}",
            enrolled_at=timezone.now() - timedelta(days=100 + 30 * n),
        )
    ledger_demo.seed(ACTOR)
    catalog_demo.seed(ACTOR)


def rows() -> tuple[int, ...]:
    return (
        Transaction.objects.count(),
        TransactionReward.objects.count(),
        Booking.objects.count(),
        PromotionVersion.objects.count(),
    )


def test_the_demo_books_purchases_under_its_promotions_and_a_second_run_changes_nothing(demo_program):
    demo.seed(ACTOR, transactions=PURCHASES)

    keys = {"base-earning", "status-earning", "coffee-double", "weekend-bonus", "tier-bonus", "welcome-bonus"}
    assert set(Promotion.objects.filter(active=True).values_list("key", flat=True)) == keys
    assert Transaction.objects.filter(tx_id__startswith="DEMO-TX-").count() == PURCHASES
    assert Booking.objects.filter(kind="earn", tx_id__startswith="DEMO-TX-").count() == PURCHASES
    given = dict(
        TransactionReward.objects.values("promotion_key").annotate(n=Count("id")).values_list("promotion_key", "n")
    )
    assert given["base-earning"] == given["status-earning"] == PURCHASES
    assert given.get("coffee-double") and given.get("weekend-bonus")
    # The welcome bonus: at most once per member, and its budget counts exactly what it gave.
    welcome = TransactionReward.objects.filter(promotion_key="welcome-bonus")
    assert welcome.values("transaction__membership").distinct().count() == welcome.count() > 0
    assert PromotionBudget.objects.get(promotion__key="welcome-bonus").used == welcome.aggregate(s=Sum("amount"))["s"]
    # Purchases lie in the last 90 days, and the tiers are the loyalty demo's, on the status points.
    moments = Transaction.objects.values_list("occurred_at", flat=True)
    assert timezone.now() - timedelta(days=91) < min(moments) < max(moments) < timezone.now()
    assert {t.key for t in Tier.objects.all()} >= {"silver", "gold"}
    assert Membership.objects.exclude(tier=None).exists()
    assert verify() == []

    before = rows()
    demo.seed(ACTOR, transactions=PURCHASES)
    assert rows() == before


def test_without_the_other_demos_the_purchase_demo_does_nothing():
    demo.seed(ACTOR, transactions=5)
    assert not Promotion.objects.exists() and not Transaction.objects.exists()
