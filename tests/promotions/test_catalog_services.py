"""The catalog services (every write) and product_facts (what the rules engine reads)."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from loyalty.models import AuditEntry, Event
from loyalty.services import delete_configuration
from promotions import catalog_services as services
from promotions.catalog_selectors import product_facts
from promotions.errors import CategoryValueWrongChannel, InvalidCatalogData, UnknownCategory
from promotions.models import CategoryValue, Channel, MasterCategory, Product, ProductCategory
from tests.promotions.conftest import ACTOR, counts
from tests.promotions.factories import CategoryValueFactory, CustomCategoryFactory, ProductFactory, classify

pytestmark = pytest.mark.django_db


def categories_of(product: Product) -> dict[str, str]:
    return dict(ProductCategory.objects.filter(product=product).values_list("master__key", "value__key"))


# Channels and master categories -----------------------------------------------------------------


def test_channels_and_master_categories_are_saved_as_audited_configuration(sponsor):
    channel = services.save_channel(key="webshop", name="Web shop", kind="webshop", sponsor=sponsor, actor=ACTOR)
    services.save_channel(key="webshop", name="Web shop", kind="webshop", sponsor=sponsor, actor=ACTOR)  # no change
    services.save_channel(key="webshop", name="Our web shop", kind="webshop", sponsor=sponsor, actor=ACTOR)
    assert list(
        AuditEntry.objects.filter(object_type="promotions.channel").order_by("id").values_list("action", flat=True)
    ) == [
        "channel.created",
        "channel.updated",
    ]
    assert Event.objects.filter(type__startswith="channel.").count() == 2
    services.save_master_category(key="department", name="Department", actor=ACTOR)
    assert AuditEntry.objects.filter(action="mastercategory.created").exists()
    assert Event.objects.filter(type="mastercategory.created").exists()
    assert Channel.objects.get().pk == channel.pk


def test_a_channel_with_products_cannot_be_deleted(catalog):
    from loyalty.errors import InvalidInput

    with pytest.raises(InvalidInput) as refused:
        delete_configuration(catalog.webshop, actor=ACTOR)
    assert refused.value.code == "in_use"


def test_a_bad_channel_is_refused_with_field_errors(sponsor):
    from loyalty.errors import InvalidInput

    with pytest.raises(InvalidInput) as refused:
        services.save_channel(key="Web Shop", name="Web", kind="mall", sponsor=sponsor, actor=ACTOR)
    assert {e["field"] for e in refused.value.errors} == {"key", "kind"}
    assert not Channel.objects.exists()


# Products ---------------------------------------------------------------------------------------


def test_a_product_is_created_with_its_categories_then_updated_and_a_repeat_writes_nothing(catalog):
    product = services.save_product(
        channel=catalog.webshop,
        key="COF-002",
        name="Decaf beans",
        brand="Northwind Roasters",
        price="6.99",
        attributes={"organic": True},
        categories={"department": "coffee", "season": "summer"},
        actor=ACTOR,
    )
    assert categories_of(product) == {"department": "coffee", "season": "summer"}
    created = AuditEntry.objects.get(action="product.created")
    assert created.object_repr == "webshop/COF-002"
    assert created.changes["categories"] == [{}, {"department": "coffee", "season": "summer"}]
    assert Event.objects.get(type="product.created").payload["key"] == "COF-002"

    services.save_product(
        channel=catalog.webshop,
        key="COF-002",
        name="Decaf beans",
        brand="Northwind Roasters",
        price="7.49",
        categories={"department": "tea"},
        actor=ACTOR,
    )
    updated = AuditEntry.objects.get(action="product.updated")
    assert updated.changes == {
        "price": ["6.99", "7.49"],
        "categories": [{"department": "coffee", "season": "summer"}, {"department": "tea"}],
    }
    product.refresh_from_db()
    assert product.price == Decimal("7.49") and product.attributes == {"organic": True}  # attributes=None keeps them
    assert categories_of(product) == {"department": "tea"}

    before = counts()
    services.save_product(
        channel=catalog.webshop,
        key="COF-002",
        name="Decaf beans",
        brand="Northwind Roasters",
        price=Decimal("7.49"),
        categories={"department": "tea"},
        actor=ACTOR,
    )
    assert counts() == before


@pytest.mark.parametrize(
    ("categories", "code"),
    [
        ({"colour": "red"}, "unknown_category"),  # no such master category
        ({"department": "bakery"}, "unknown_category"),  # no such value
        ({"department": "coffee", "season": "winter"}, "unknown_category"),
    ],
)
def test_unknown_categories_are_refused_and_nothing_is_written(catalog, categories, code):
    before = counts()
    with pytest.raises(UnknownCategory) as refused:
        services.save_product(channel=catalog.store, key="NEW-1", name="New", categories=categories, actor=ACTOR)
    assert refused.value.code == code
    assert counts() == before


def test_a_product_takes_only_values_of_its_own_channel(catalog):
    # "summer" exists in the web shop only: for a store product it is unknown.
    with pytest.raises(UnknownCategory):
        services.save_product(
            channel=catalog.store, key="COF-001", name="Espresso beans", categories={"season": "summer"}, actor=ACTOR
        )
    with pytest.raises(CategoryValueWrongChannel):
        services.set_product_category(
            product=catalog.store_espresso, master=catalog.season, value=catalog.summer, actor=ACTOR
        )
    assert categories_of(catalog.store_espresso) == {"department": "coffee"}


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"key": "has space"}, "key"),
        ({"price": "-1"}, "price"),
        ({"price": "abc"}, "price"),
        ({"attributes": {"nested": {"a": 1}}}, "attributes"),
        ({"name": ""}, "name"),
    ],
)
def test_invalid_product_data_is_refused_with_the_field(catalog, fields, field):
    values = {"channel": catalog.webshop, "key": "NEW-1", "name": "New", **fields}
    before = counts()
    with pytest.raises(InvalidCatalogData) as refused:
        services.save_product(**values, actor=ACTOR)
    assert field in [e["field"] for e in refused.value.errors]
    assert counts() == before


def test_set_product_category_changes_one_dimension_and_keeps_the_others(catalog):
    services.set_product_category(product=catalog.espresso, master=catalog.department, value=catalog.tea, actor=ACTOR)
    assert categories_of(catalog.espresso) == {"department": "tea", "season": "summer"}
    services.set_product_category(product=catalog.espresso, master=catalog.season, value=None, actor=ACTOR)
    assert categories_of(catalog.espresso) == {"department": "tea"}
    assert AuditEntry.objects.filter(action="product.updated").count() == 2


def test_the_database_refuses_two_values_of_one_master_category_for_a_product(catalog):
    with pytest.raises(IntegrityError), transaction.atomic():
        ProductCategory.objects.create(product=catalog.espresso, master=catalog.department, value=catalog.tea)


def test_the_database_refuses_a_product_key_twice_in_a_channel(catalog):
    with pytest.raises(IntegrityError), transaction.atomic():
        Product.objects.create(channel=catalog.webshop, key="COF-001", name="Again")


# Category values ------------------------------------------------------------------------------


def test_category_values_are_created_renamed_and_deleted_with_audit_and_events(catalog):
    value = services.save_category_value(
        master=catalog.department, channel=catalog.webshop, key="bakery", name="Bakery", actor=ACTOR
    )
    services.save_category_value(
        master=catalog.department, channel=catalog.webshop, key="bakery", name="Bakery", actor=ACTOR
    )
    services.save_category_value(
        master=catalog.department, channel=catalog.webshop, key="bakery", name="Bakery & pastry", actor=ACTOR
    )
    assert list(
        AuditEntry.objects.filter(action__startswith="categoryvalue.").order_by("id").values_list("action", "changes")
    ) == [
        ("categoryvalue.created", {"key": [None, "bakery"], "name": [None, "Bakery"], "channel": [None, "webshop"]}),
        ("categoryvalue.updated", {"name": ["Bakery", "Bakery & pastry"]}),
    ]
    services.delete_category_value(value=catalog.coffee, actor=ACTOR)
    assert categories_of(catalog.espresso) == {"season": "summer"}
    deleted = AuditEntry.objects.get(action="categoryvalue.deleted")
    assert deleted.object_repr == "department:webshop/coffee" and deleted.changes == {"products": [1, 0]}
    assert Event.objects.filter(type__startswith="categoryvalue.").count() == 3
    assert CategoryValue.objects.filter(pk=value.pk).exists()


def test_a_value_in_use_cannot_move_to_another_channel(catalog):
    with pytest.raises(CategoryValueWrongChannel):
        services.save_category_value(
            master=catalog.department, channel=catalog.store, key="tea", name="Tea", value=catalog.tea, actor=ACTOR
        )
    unused = CategoryValueFactory(master=catalog.department, channel=catalog.webshop, key="bakery")
    moved = services.save_category_value(
        master=catalog.department, channel=catalog.store, key="bakery", name="Bakery", value=unused, actor=ACTOR
    )
    assert moved.channel == catalog.store


def test_a_value_key_is_unique_per_master_category_and_channel(catalog):
    with pytest.raises(InvalidCatalogData):
        services.save_category_value(
            master=catalog.department,
            channel=catalog.webshop,
            key="coffee",
            name="Coffee",
            value=catalog.tea,
            actor=ACTOR,
        )


def test_a_master_category_with_values_cannot_be_deleted(catalog):
    from loyalty.errors import InvalidInput

    with pytest.raises(InvalidInput):
        delete_configuration(catalog.department, actor=ACTOR)
    assert MasterCategory.objects.filter(pk=catalog.department.pk).exists()


# Custom categories ----------------------------------------------------------------------------


def test_set_custom_category_refuses_too_many_products(catalog, monkeypatch):
    monkeypatch.setattr(services, "MAX_CUSTOM_CATEGORY_PRODUCTS", 1)
    with pytest.raises(InvalidCatalogData) as refused:
        services.set_custom_category(
            key="x", products=[("webshop", "COF-001"), ("webshop", "TEA-001")], replace=False, actor=ACTOR
        )
    assert refused.value.code == "too_many_products"


def test_set_custom_category_resolves_many_products_in_chunks(catalog, monkeypatch):
    monkeypatch.setattr(services, "LOOKUP_CHUNK", 2)
    for n in range(5):
        ProductFactory(channel=catalog.webshop, key=f"BULK-{n}")
    result = services.set_custom_category(
        key="bulk", products=[("webshop", f"BULK-{n}") for n in range(5)], replace=True, actor=ACTOR
    )
    assert result.created and result.product_count == 5


def test_deleting_a_custom_category_is_audited(catalog):
    services.delete_custom_category(custom_category=catalog.lovers, actor=ACTOR)
    entry = AuditEntry.objects.get(action="customcategory.deleted")
    assert entry.object_repr == "coffee-lovers" and entry.changes == {"products": [2, 0]}
    assert Event.objects.filter(type="customcategory.deleted").exists()
    assert Product.objects.filter(pk=catalog.espresso.pk).exists()


# product_facts ------------------------------------------------------------------------------


def test_product_facts_give_the_categories_custom_categories_brand_and_attributes(catalog):
    Product.objects.filter(pk=catalog.espresso.pk).update(attributes={"organic": True})
    CustomCategoryFactory(key="breakfast", products=[catalog.espresso, catalog.green_tea])
    facts = product_facts("webshop", ["COF-001", "TEA-001", "NOPE-1", "COF-001"])
    assert facts == {
        "COF-001": {
            "known": True,
            "active": True,
            "brand": "Northwind Roasters",
            "categories": {"department": "coffee", "season": "summer"},
            "custom_categories": ["breakfast", "coffee-lovers"],
            "attributes": {"organic": True},
        },
        "TEA-001": {
            "known": True,
            "active": True,
            "brand": "Green Leaf",
            "categories": {"department": "tea"},
            "custom_categories": ["breakfast"],
            "attributes": {},
        },
        "NOPE-1": {
            "known": False,
            "active": False,
            "brand": "",
            "categories": {},
            "custom_categories": [],
            "attributes": {},
        },
    }


def test_product_facts_are_per_channel(catalog):
    assert product_facts("store-amsterdam", ["COF-001", "TEA-001"]) == {
        "COF-001": {
            "known": True,
            "active": True,
            "brand": "Northwind Roasters",
            "categories": {"department": "coffee"},
            "custom_categories": ["coffee-lovers"],
            "attributes": {},
        },
        "TEA-001": product_facts("nowhere", ["TEA-001"])["TEA-001"],
    }
    assert product_facts("nowhere", ["TEA-001"])["TEA-001"]["known"] is False


def test_product_facts_take_three_queries_for_1_or_20_products_and_fewer_when_none_is_known(
    catalog, django_assert_num_queries
):
    keys = []
    for n in range(20):
        product = classify(ProductFactory(channel=catalog.webshop, key=f"BULK-{n}"), catalog.coffee, catalog.summer)
        catalog.lovers.products.add(product)
        keys.append(product.key)
    with django_assert_num_queries(3):
        one = product_facts("webshop", keys[:1])
    with django_assert_num_queries(3):
        twenty = product_facts("webshop", keys)
    assert one[keys[0]] == twenty[keys[0]]
    assert all(f["categories"] == {"department": "coffee", "season": "summer"} for f in twenty.values())
    assert all(f["custom_categories"] == ["coffee-lovers"] for f in twenty.values())
    with django_assert_num_queries(1):
        assert product_facts("webshop", ["NOPE-1", "NOPE-2"])["NOPE-1"]["known"] is False
    with django_assert_num_queries(0):
        assert product_facts("webshop", []) == {}
