"""POST /promos/product/customcategory: create or update a custom category and assign products."""

import pytest

from loyalty.models import AuditEntry, Event
from promotions.models import CustomCategory
from tests.promotions.conftest import BASE, assert_refused, counts

pytestmark = pytest.mark.django_db
URL = f"{BASE}/product/customcategory"


def refs(category: CustomCategory) -> list[str]:
    return sorted(f"{p.channel.key}/{p.key}" for p in category.products.select_related("channel"))


def test_a_new_custom_category_is_created_with_its_products_audited_and_announced(api, catalog):
    body = {
        "key": "breakfast",
        "name": "Breakfast",
        "description": "What people buy before nine.",
        "products": [
            {"channel": "webshop", "productKey": "COF-001"},
            {"channel": "webshop", "productKey": "TEA-001"},
            {"channel": "webshop", "productKey": "TEA-001"},  # twice is once
        ],
    }
    response = api.post(URL, body, format="json")
    assert response.status_code == 201, response.content
    answer = response.json()
    assert answer == {
        "key": "breakfast",
        "name": "Breakfast",
        "description": "What people buy before nine.",
        "created": True,
        "added": 2,
        "removed": 0,
        "productCount": 2,
        "updatedAt": answer["updatedAt"],
    }
    category = CustomCategory.objects.get(key="breakfast")
    assert refs(category) == ["webshop/COF-001", "webshop/TEA-001"]
    entry = AuditEntry.objects.get(action="customcategory.created")
    assert entry.actor_type == "client" and entry.object_id == str(category.pk)
    assert entry.changes["products"] == [0, 2]
    assert entry.changes["products_added"] == ["webshop/COF-001", "webshop/TEA-001"]
    event = Event.objects.get(type="customcategory.created")
    assert event.payload == {"key": "breakfast", "added": 2, "removed": 0, "productCount": 2}


def test_products_are_added_to_those_the_category_has_unless_replace(api, catalog):
    add = {"key": "coffee-lovers", "products": [{"channel": "webshop", "productKey": "TEA-001"}]}
    response = api.post(URL, add, format="json")
    assert response.status_code == 200
    assert response.json()["created"] is False and response.json()["added"] == 1
    assert refs(catalog.lovers) == ["store-amsterdam/COF-001", "webshop/COF-001", "webshop/TEA-001"]
    assert CustomCategory.objects.get(key="coffee-lovers").name == "Coffee lovers"  # not given: unchanged

    replace = {**add, "replace": True}
    answer = api.post(URL, replace, format="json").json()
    assert (answer["added"], answer["removed"], answer["productCount"]) == (0, 2, 1)
    assert refs(catalog.lovers) == ["webshop/TEA-001"]
    entry = AuditEntry.objects.filter(action="customcategory.updated").latest("id")
    assert entry.changes["products"] == [3, 1]
    assert entry.changes["products_removed"] == ["store-amsterdam/COF-001", "webshop/COF-001"]


def test_replace_with_no_products_empties_the_category(api, catalog):
    answer = api.post(URL, {"key": "coffee-lovers", "products": [], "replace": True}, format="json").json()
    assert answer["productCount"] == 0 and answer["removed"] == 2
    assert refs(catalog.lovers) == []


def test_setting_what_is_already_set_writes_nothing(api, catalog):
    body = {
        "key": "coffee-lovers",
        "name": "Coffee lovers",
        "products": [
            {"channel": "webshop", "productKey": "COF-001"},
            {"channel": "store-amsterdam", "productKey": "COF-001"},
        ],
        "replace": True,
    }
    before = counts()
    response = api.post(URL, body, format="json")
    assert response.status_code == 200
    assert (response.json()["added"], response.json()["removed"]) == (0, 0)
    assert counts() == before


def test_a_name_change_alone_is_audited(api, catalog):
    api.post(URL, {"key": "coffee-lovers", "name": "Coffee fans", "products": []}, format="json")
    entry = AuditEntry.objects.get(action="customcategory.updated")
    assert entry.changes == {"name": ["Coffee lovers", "Coffee fans"]}
    assert refs(catalog.lovers) == ["store-amsterdam/COF-001", "webshop/COF-001"]


def test_unknown_products_are_refused_with_each_one_listed_and_nothing_written(api, catalog):
    body = {
        "key": "breakfast",
        "products": [
            {"channel": "webshop", "productKey": "COF-001"},
            {"channel": "webshop", "productKey": "NOPE-1"},
            {"channel": "store-amsterdam", "productKey": "TEA-001"},
            {"channel": "nowhere", "productKey": "COF-001"},
        ],
    }
    before = counts()
    answer = assert_refused(api.post(URL, body, format="json"), 400, "unknown_products")
    assert [(e["field"], e["code"]) for e in answer["errors"]] == [
        ("products.1", "unknown_product"),
        ("products.2", "unknown_product"),
        ("products.3", "unknown_product"),
    ]
    assert "webshop/NOPE-1" in answer["detail"] and "nowhere/COF-001" in answer["detail"]
    assert counts() == before
    assert not CustomCategory.objects.filter(key="breakfast").exists()

    existing = {"key": "coffee-lovers", "products": [{"channel": "webshop", "productKey": "NOPE-1"}], "replace": True}
    assert_refused(api.post(URL, existing, format="json"), 400, "unknown_products")
    assert counts() == before
    assert refs(catalog.lovers) == ["store-amsterdam/COF-001", "webshop/COF-001"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"key": "x", "products": [], "colour": "red"}, "colour"),
        ({"key": "x", "products": [{"channel": "webshop", "productKey": "COF-001", "qty": 1}]}, "products.0.qty"),
        ({"key": "Not A Key", "products": []}, "key"),
        ({"key": "x"}, "products"),
        ({"key": "x", "products": [{"channel": "webshop"}]}, "products.0.productKey"),
        ({"key": "x", "products": "COF-001"}, "products"),
        ({"key": "x", "products": [], "replace": "sometimes"}, "replace"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_changes_nothing(api, catalog, body, field):
    before = counts()
    answer = assert_refused(api.post(URL, body, format="json"), 400, "validation_error")
    assert field in [e["field"] for e in answer["errors"]]
    assert counts() == before


def test_a_retry_with_the_same_idempotency_key_replays_the_first_answer(api, catalog):
    body = {"key": "breakfast", "products": [{"channel": "webshop", "productKey": "TEA-001"}]}
    first = api.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="cc-1")
    again = api.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="cc-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert AuditEntry.objects.filter(action__startswith="customcategory.").count() == 1


def test_a_read_only_key_cannot_set_a_custom_category(make_key, catalog):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {make_key(scopes=['read'])}")
    body = {"key": "breakfast", "products": []}
    assert_refused(client.post(URL, body, format="json"), 403, "insufficient_scope")
