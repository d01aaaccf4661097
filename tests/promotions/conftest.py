"""Catalog fixtures: a program with a default sponsor, and a small classified catalog."""

from dataclasses import dataclass
from decimal import Decimal

import pytest

from loyalty.actors import Actor
from loyalty.models import AuditEntry, Event, Program, Sponsor
from promotions.models import CategoryValue, Channel, CustomCategory, MasterCategory, Product, ProductCategory
from tests.promotions.factories import (
    CategoryValueFactory,
    ChannelFactory,
    CustomCategoryFactory,
    MasterCategoryFactory,
    ProductFactory,
    classify,
)

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
