"""The demo catalog: seeded through the services, and a second run changes nothing."""

import pytest

from loyalty import demo as loyalty_demo
from loyalty.actors import Actor
from loyalty.models import AuditEntry, Event
from promotions import demo
from promotions.catalog_selectors import product_facts
from promotions.models import CategoryValue, Channel, CustomCategory, MasterCategory, Product

pytestmark = pytest.mark.django_db


def rows() -> tuple[int, ...]:
    return (
        Channel.objects.count(),
        Product.objects.count(),
        CategoryValue.objects.count(),
        CustomCategory.objects.count(),
        AuditEntry.objects.count(),
        Event.objects.count(),
    )


def test_the_demo_catalog_has_four_channels_200_classified_products_and_is_idempotent():
    actor = Actor.for_system("seed_demo")
    loyalty_demo.seed(actor)
    demo.seed(actor)
    channels = dict(Channel.objects.values_list("key", "sponsor__key"))
    assert channels == {
        "webshop": "northwind",
        "store-amsterdam": "northwind",
        "store-utrecht": "northwind",
        "brightfuel-stations": "brightfuel",
    }
    assert Product.objects.count() == 200
    assert set(MasterCategory.objects.values_list("key", flat=True)) == {"department", "brand", "season"}
    assert not Product.objects.exclude(category_links__master__key="department").exists()
    lovers = CustomCategory.objects.get(key="coffee-lovers")
    assert lovers.products.values("channel").distinct().count() == 4
    facts = product_facts("webshop", ["NW-COF-001"])["NW-COF-001"]
    assert facts["categories"]["department"] == "coffee" and "coffee-lovers" in facts["custom_categories"]
    assert AuditEntry.objects.filter(action="product.created").count() == 200

    before = rows()
    demo.seed(actor)
    assert rows() == before


def test_without_the_demo_sponsors_the_catalog_demo_does_nothing():
    demo.seed(Actor.for_system("seed_demo"))
    assert not Channel.objects.exists()
