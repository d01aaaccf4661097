"""Catalog fixtures: a program with a default sponsor, and a small classified catalog; the /tx
program (points, status points, base earning, double on coffee), a member and a basket."""

import itertools
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from ledger.models import PointType
from loyalty.actors import Actor
from loyalty.models import AuditEntry, Event, MembershipType, Program, Sponsor
from loyalty.services import save_configuration
from memberships.services.enrollment import enroll_membership
from promotions.context import Item
from promotions.models import CategoryValue, Channel, CustomCategory, MasterCategory, Product, ProductCategory
from promotions.services import save_promotion
from tests.promotions.factories import (
    CategoryValueFactory,
    ChannelFactory,
    CustomCategoryFactory,
    MasterCategoryFactory,
    ProductFactory,
    classify,
)
from transactions.services import TxRequest, book

ACTOR = Actor.for_system("tests")
BASE = "/api/v1/promos"


@pytest.fixture(autouse=True)
def program(db):
    return Program.current()


@pytest.fixture
def sponsor(db):
    return Sponsor.objects.create(key="northwind", name="Northwind", is_default=True)


@dataclass
class Catalog:
    webshop: Channel
    store: Channel
    department: MasterCategory
    season: MasterCategory
    coffee: CategoryValue
    tea: CategoryValue
    store_coffee: CategoryValue
    summer: CategoryValue
    espresso: Product
    green_tea: Product
    store_espresso: Product
    lovers: CustomCategory


@pytest.fixture
def catalog(sponsor) -> Catalog:
    webshop = ChannelFactory(key="webshop", name="Web shop", kind="webshop", sponsor=sponsor)
    store = ChannelFactory(key="store-amsterdam", name="Amsterdam", kind="store", sponsor=sponsor)
    department = MasterCategoryFactory(key="department", name="Department")
    season = MasterCategoryFactory(key="season", name="Season")
    coffee = CategoryValueFactory(master=department, channel=webshop, key="coffee", name="Coffee")
    tea = CategoryValueFactory(master=department, channel=webshop, key="tea", name="Tea")
    store_coffee = CategoryValueFactory(master=department, channel=store, key="coffee", name="Coffee")
    summer = CategoryValueFactory(master=season, channel=webshop, key="summer", name="Summer")
    espresso = classify(
        ProductFactory(
            channel=webshop, key="COF-001", name="Espresso beans", brand="Northwind Roasters", price=Decimal("6.49")
        ),
        coffee,
        summer,
    )
    green_tea = classify(
        ProductFactory(channel=webshop, key="TEA-001", name="Green tea", brand="Green Leaf", price=Decimal("2.89")),
        tea,
    )
    store_espresso = classify(
        ProductFactory(
            channel=store, key="COF-001", name="Espresso beans", brand="Northwind Roasters", price=Decimal("6.99")
        ),
        store_coffee,
    )
    lovers = CustomCategoryFactory(key="coffee-lovers", name="Coffee lovers", products=[espresso, store_espresso])
    return Catalog(
        webshop,
        store,
        department,
        season,
        coffee,
        tea,
        store_coffee,
        summer,
        espresso,
        green_tea,
        store_espresso,
        lovers,
    )


def counts() -> dict[str, int]:
    """Rows of each kind: a refused request must leave these unchanged."""
    return {
        "channels": Channel.objects.count(),
        "products": Product.objects.count(),
        "values": CategoryValue.objects.count(),
        "links": ProductCategory.objects.count(),
        "custom": CustomCategory.objects.count(),
        "custom_links": CustomCategory.products.through.objects.count(),
        "audit": AuditEntry.objects.count(),
        "events": Event.objects.count(),
    }


def assert_refused(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code, body
    assert body["status"] == status
    assert body["detail"]
    return body


def results(response) -> list[dict]:
    assert response.status_code == 200, response.content
    return response.json()["results"]


def query_count(call) -> int:
    """How many queries `call()` runs."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        call()
    return len(captured)


# The /tx program --------------------------------------------------------------------------------

_names = itertools.count(1)
_receipts = itertools.count(1)

BASE_EARNING = {
    "pointType": "points",
    "base": True,
    "effects": [{"type": "perAmount", "points": "1", "per": "1", "lines": "all"}],
}
COFFEE = {"fact": "line.category.department", "op": "eq", "value": "coffee"}
COFFEE_DOUBLE = {
    "pointType": "points",
    "condition": {"lines": "any", "where": COFFEE},
    "effects": [{"type": "multiplier", "factor": "2", "lines": "qualifying"}],
}
STATUS = {
    "pointType": "status",
    "effects": [{"type": "perAmount", "points": "1", "per": "1", "lines": "all"}],
}


@pytest.fixture
def tx_program(catalog):
    save_configuration(MembershipType(key="consumer", name="Consumer", is_default=True), actor=ACTOR)
    save_configuration(
        PointType(key="points", name="Points", is_main=True, precision=2, expiry_policy="never"), actor=ACTOR
    )
    save_configuration(
        PointType(key="status", name="Status", redeemable=False, transferable=False, counts_for_tiers=True),
        actor=ACTOR,
    )
    save_promotion(key="base", name="1 point per euro", definition=BASE_EARNING, actor=ACTOR)
    save_promotion(key="coffee-double", name="Double on coffee", definition=COFFEE_DOUBLE, actor=ACTOR)
    return catalog


@pytest.fixture
def member(tx_program):
    n = next(_names)
    return enroll_membership(actor=ACTOR, first_name="Tx", last_name=f"Member{n}", email=f"tx{n}@example.com")


def purchase(member, *, tx_id=None, items=None, **fields):
    """A web-shop basket: two bags of espresso beans (12.98) and a green tea (2.89)."""
    items = items or [
        {"productKey": "COF-001", "quantity": "2", "unitPrice": "6.49", "amount": "12.98"},
        {"productKey": "TEA-001", "quantity": "1", "unitPrice": "2.89", "amount": "2.89"},
    ]
    body = {
        "receiptId": fields.pop("receipt_id", f"R-{next(_receipts)}"),
        "membershipKey": member.number if hasattr(member, "number") else member,
        "channel": "webshop",
        "occurredAt": (timezone.now() - timedelta(minutes=1)).isoformat(),
        "totalAmount": str(sum(Decimal(i["amount"]) for i in items)),
        "currency": "EUR",
        "items": items,
        **fields,
    }
    if tx_id:
        body["txId"] = tx_id
    return body


def points(answer, point_type="points"):
    return {p["pointType"]: p["amount"] for p in answer["points"]}.get(point_type)


_admin_names = itertools.count(1)
_admin_receipts = itertools.count(1)


def new_member():
    n = next(_admin_names)
    return enroll_membership(actor=ACTOR, first_name="Admin", last_name=f"Member{n}", email=f"adm{n}@example.com")


def buy(member, items, *, days_ago: float = 1):
    """Book a web-shop purchase of `items` [(product, quantity, unit price)]."""
    lines = [
        Item(key, Decimal(q), Decimal(p), (Decimal(q) * Decimal(p)).quantize(Decimal("0.01"))) for key, q, p in items
    ]
    n = next(_admin_receipts)
    request = TxRequest(
        membership_key=member.number,
        channel="webshop",
        occurred_at=timezone.now() - timedelta(days=days_ago),
        total_amount=sum((line.amount for line in lines), Decimal(0)),
        currency="EUR",
        items=lines,
        receipt_id=f"ADM-R-{n}",
        tx_id=f"ADM-T-{n}",
    )
    return book(request, actor=ACTOR)[0]
