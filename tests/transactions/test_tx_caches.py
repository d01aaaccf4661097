"""What each process caches for /tx (loyalty.configuration): configuration and products' facts are
read once, and every kind of change is seen by the next request."""

import pytest
from django.db import transaction

from loyalty.configuration import cached
from loyalty.memo import reads_once
from loyalty.models import Program, Tier
from loyalty.services import save_configuration
from promotions.catalog_services import (
    create_products,
    delete_category_value,
    save_product,
    set_custom_category,
    set_product_category,
)
from promotions.models import Product
from promotions.services import save_promotion
from tests.promotions.conftest import ACTOR, points, purchase

LOVERS_BONUS = {
    "pointType": "points",
    "condition": {"lines": "any", "where": {"fact": "line.customCategories", "op": "contains", "value": "tea-lovers"}},
    "effects": [{"type": "fixed", "points": "50"}],
}


def dry_run(api, member, **fields) -> dict:
    response = api.post("/api/v1/tx", purchase(member, **fields), format="json")
    assert response.status_code == 200, response.content
    return response.json()


def reads(api, member) -> list[str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        dry_run(api, member)
    return [q["sql"] for q in captured.captured_queries]


def test_configuration_and_product_facts_are_read_once_per_process(api, member):
    dry_run(api, member)
    tables = ("ledger_pointtype", "loyalty_tier", "loyalty_sponsor", "promotions_channel", "promotions_product")
    again = reads(api, member)
    assert [sql for sql in again if any(f'FROM "{t}"' in sql for t in tables)] == []
    assert sum('FROM "loyalty_program"' in sql for sql in again) == 1  # its generations check the caches


def test_a_category_change_reaches_the_next_request(api, member, tx_program):
    assert points(dry_run(api, member)) == "28.85"  # coffee counts double
    set_product_category(product=tx_program.espresso, master=tx_program.department, value=tx_program.tea, actor=ACTOR)
    assert points(dry_run(api, member)) == "15.87"
    set_product_category(
        product=tx_program.espresso, master=tx_program.department, value=tx_program.coffee, actor=ACTOR
    )
    assert points(dry_run(api, member)) == "28.85"
    save_product(
        channel=tx_program.webshop,
        key="COF-001",
        name="Espresso beans",
        price="6.49",
        categories={"department": "tea"},
        actor=ACTOR,
    )
    assert points(dry_run(api, member)) == "15.87"


def test_a_deleted_category_value_reaches_the_next_request(api, member, tx_program):
    assert points(dry_run(api, member)) == "28.85"
    delete_category_value(value=tx_program.coffee, actor=ACTOR)
    assert points(dry_run(api, member)) == "15.87"


def test_a_custom_category_assignment_reaches_the_next_request(api, member, tx_program):
    save_promotion(key="tea-lovers", name="Tea lovers", definition=LOVERS_BONUS, actor=ACTOR)
    assert points(dry_run(api, member)) == "28.85"
    set_custom_category(key="tea-lovers", products=[("webshop", "TEA-001")], replace=True, actor=ACTOR)
    assert points(dry_run(api, member)) == "78.85"
    set_custom_category(key="tea-lovers", products=[], replace=True, actor=ACTOR)
    assert points(dry_run(api, member)) == "28.85"


def test_a_product_created_in_bulk_is_known_to_the_next_request(api, member, tx_program):
    items = [{"productKey": "NEW-1", "quantity": "1", "unitPrice": "5.00", "amount": "5.00"}]
    assert dry_run(api, member, items=items)["unknownProducts"] == [1]
    [created] = create_products(
        actor=ACTOR, products=[{"channel": tx_program.webshop, "key": "NEW-1", "name": "New", "price": "5.00"}]
    )
    assert created is not None and Product.objects.filter(key="NEW-1").exists()
    assert dry_run(api, member, items=items)["unknownProducts"] == []


def test_a_configuration_change_moves_the_generation_and_reloads(db, tx_program):
    before = Program.current().generation
    loads = []

    @reads_once
    def tier_keys() -> list[str]:
        return cached("test-tiers", lambda: loads.append(1) or sorted(Tier.objects.values_list("key", flat=True)))

    assert tier_keys() == [] and tier_keys() == [] and len(loads) == 1
    save_configuration(Tier(key="gold", name="Gold", rank=1, qualification_threshold=100), actor=ACTOR)
    assert Program.current().generation != before
    assert tier_keys() == ["gold"] and len(loads) == 2


def test_a_rolled_back_change_leaves_nothing_cached_behind(db, tx_program):
    @reads_once
    def tier_keys() -> list[str]:
        return cached("test-tiers", lambda: sorted(Tier.objects.values_list("key", flat=True)))

    assert tier_keys() == []
    with pytest.raises(RuntimeError), transaction.atomic():
        save_configuration(Tier(key="ghost", name="Ghost", rank=1, qualification_threshold=100), actor=ACTOR)
        assert tier_keys() == ["ghost"]  # cached under the generation the rollback takes back
        raise RuntimeError
    assert tier_keys() == []
    # A later change gets a new random generation, never the rolled-back one: the ghost stays gone.
    save_configuration(Tier(key="gold", name="Gold", rank=1, qualification_threshold=100), actor=ACTOR)
    assert tier_keys() == ["gold"]
