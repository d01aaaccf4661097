"""create_products, the bulk form of save_product for new products: the same row, audit entry and
event, and whatever save_product might refuse or update is left to it (None)."""

import pytest

from loyalty.actors import Actor
from loyalty.models import AuditEntry, Event
from promotions.catalog_services import create_products, save_product
from promotions.models import Product
from tests.promotions.factories import ChannelFactory

pytestmark = pytest.mark.django_db
ACTOR = Actor.for_system("tests")


def test_create_products_writes_what_save_product_writes():
    channel = ChannelFactory(key="webshop")
    values = {"name": "Beans", "price": "6.5", "brand": "B", "attributes": {"size": "1kg"}, "active": True}
    [bulk] = create_products(actor=ACTOR, products=[{"channel": channel, "key": "A-1", **values}])
    reference = save_product(channel=channel, key="A-2", actor=ACTOR, **values)
    ignored = {"id", "key", "created_at", "updated_at"}
    rows = [
        {k: v for k, v in Product.objects.filter(pk=p.pk).values()[0].items() if k not in ignored}
        for p in (bulk, reference)
    ]
    assert rows[0] == rows[1]
    audits = [
        AuditEntry.objects.filter(object_type="promotions.product", object_id=str(p.pk))
        .values("action", "changes")
        .get()
        for p in (bulk, reference)
    ]
    assert audits[0] == audits[1]
    payloads = list(Event.objects.filter(type="product.created").order_by("id").values_list("payload", flat=True))
    assert payloads == [{**payloads[1], "key": "A-1"}, payloads[1]]


def test_create_products_leaves_updates_duplicates_categories_and_bad_values_to_save_product():
    channel = ChannelFactory(key="webshop")
    save_product(channel=channel, key="OLD", name="Old", actor=ACTOR)
    results = create_products(
        actor=ACTOR,
        products=[
            {"channel": channel, "key": "NEW", "name": "New"},
            {"channel": channel, "key": "OLD", "name": "Renamed"},
            {"channel": channel, "key": "TWICE", "name": "One"},
            {"channel": channel, "key": "TWICE", "name": "Two"},
            {"channel": channel, "key": "CAT", "name": "Cat", "categories": {"department": "coffee"}},
            {"channel": channel, "key": "bad key!", "name": "Bad"},
        ],
    )
    assert [r is not None for r in results] == [True, False, False, False, False, False]
    assert Product.objects.get(key="OLD").name == "Old"
