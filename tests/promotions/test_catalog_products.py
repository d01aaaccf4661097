"""GET /promos/product/data (search) and GET /promos/product/{channelKey}/{productKey}/details."""

from datetime import timedelta
from decimal import Decimal
from urllib.parse import quote

import pytest
from django.utils import timezone

from promotions.models import Product
from tests.promotions.conftest import BASE, assert_refused, query_count, results
from tests.promotions.factories import CategoryValueFactory, ProductFactory, classify

pytestmark = pytest.mark.django_db
SEARCH = f"{BASE}/product/data"


def details_url(channel: str, product: str) -> str:
    return f"{BASE}/product/{channel}/{product}/details"


def keys(response) -> list[str]:
    return [f"{p['channel']}/{p['key']}" for p in results(response)]


def test_a_product_comes_with_its_categories_and_custom_categories(api, catalog):
    body = results(api.get(f"{SEARCH}?channel=webshop&key=COF-001"))
    assert body == [
        {
            "channel": "webshop",
            "key": "COF-001",
            "name": "Espresso beans",
            "brand": "Northwind Roasters",
            "price": "6.49",
            "active": True,
            "attributes": {},
            "categories": {"department": "coffee", "season": "summer"},
            "customCategories": ["coffee-lovers"],
            "updatedAt": body[0]["updatedAt"],
        }
    ]


def test_products_are_listed_by_channel_then_key(api, catalog):
    assert keys(api.get(SEARCH)) == ["webshop/COF-001", "webshop/TEA-001", "store-amsterdam/COF-001"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("q=cof", ["webshop/COF-001", "store-amsterdam/COF-001"]),  # start of a key, any case
        ("q=BEANS", ["webshop/COF-001", "store-amsterdam/COF-001"]),  # text in the name
        ("q=green leaf", ["webshop/TEA-001"]),  # text in the brand
        ("q=001", []),  # the middle of a key is not a key search
        ("channel=store-amsterdam", ["store-amsterdam/COF-001"]),
        ("key=COF-001", ["webshop/COF-001", "store-amsterdam/COF-001"]),
        ("brand=green%20LEAF", ["webshop/TEA-001"]),
        ("category=department:coffee", ["webshop/COF-001", "store-amsterdam/COF-001"]),
        ("category=season:summer", ["webshop/COF-001"]),
        ("category=department:coffee&channel=webshop", ["webshop/COF-001"]),
        ("customCategory=coffee-lovers", ["webshop/COF-001", "store-amsterdam/COF-001"]),
        ("customCategory=nothing", []),
        ("minPrice=3&maxPrice=6.50", ["webshop/COF-001"]),
        ("maxPrice=3", ["webshop/TEA-001"]),
        ("active=false", []),
        ("ordering=-price", ["store-amsterdam/COF-001", "webshop/COF-001", "webshop/TEA-001"]),
        ("ordering=name", ["webshop/COF-001", "store-amsterdam/COF-001", "webshop/TEA-001"]),
    ],
)
def test_product_search_filters(api, catalog, query, expected):
    assert keys(api.get(f"{SEARCH}?{query}")) == expected


def test_updated_since_finds_the_products_changed_since_a_time(api, catalog):
    Product.objects.exclude(pk=catalog.green_tea.pk).update(updated_at=timezone.now() - timedelta(days=2))
    since = quote((timezone.now() - timedelta(days=1)).isoformat())
    assert keys(api.get(f"{SEARCH}?updatedSince={since}")) == ["webshop/TEA-001"]


def test_inactive_products_are_found_and_marked(api, catalog):
    Product.objects.filter(pk=catalog.green_tea.pk).update(active=False)
    assert keys(api.get(f"{SEARCH}?active=false")) == ["webshop/TEA-001"]
    assert results(api.get(f"{SEARCH}?active=false"))[0]["active"] is False


def test_product_search_paginates_with_a_count(api, catalog):
    body = api.get(f"{SEARCH}?limit=1&offset=1").json()
    assert body["count"] == 3
    assert [p["key"] for p in body["results"]] == ["TEA-001"]


@pytest.mark.parametrize(
    "query",
    [
        "colour=red",
        "category=coffee",
        "category=department:",
        "category=Department:Coffee",
        "minPrice=cheap",
        "maxPrice=-1",
        "minPrice=1e400",
        "updatedSince=yesterday",
        "ordering=colour",
        "active=perhaps",
    ],
)
def test_unknown_or_malformed_search_parameters_are_a_400(api, catalog, query):
    assert_refused(api.get(f"{SEARCH}?{query}"), 400, "validation_error")


def test_the_search_takes_as_many_queries_for_20_products_as_for_1(api, catalog):
    url = f"{SEARCH}?channel=store-amsterdam"
    api.get(url)
    one = query_count(lambda: api.get(url))
    other = CategoryValueFactory(master=catalog.season, channel=catalog.store, key="winter")
    for _ in range(19):
        product = classify(ProductFactory(channel=catalog.store), catalog.store_coffee, other)
        catalog.lovers.products.add(product)
    assert len(results(api.get(url))) == 20
    assert query_count(lambda: api.get(url)) == one


# Details ---------------------------------------------------------------------------------------


def test_the_details_show_the_channel_the_category_values_and_the_custom_categories(api, catalog):
    response = api.get(details_url("webshop", "COF-001"))
    assert response.status_code == 200
    body = response.json()
    assert body["key"] == "COF-001" and body["channel"] == "webshop"
    assert body["price"] == "6.49"
    assert body["categories"] == {"department": "coffee", "season": "summer"}
    assert body["channelDetails"]["kind"] == "webshop" and body["channelDetails"]["sponsor"] == "northwind"
    assert body["categoryValues"] == [
        {"masterCategory": "department", "masterCategoryName": "Department", "value": "coffee", "valueName": "Coffee"},
        {"masterCategory": "season", "masterCategoryName": "Season", "value": "summer", "valueName": "Summer"},
    ]
    assert body["customCategoryDetails"] == [{"key": "coffee-lovers", "name": "Coffee lovers"}]
    assert body["createdAt"]


def test_the_same_key_in_another_channel_is_another_product(api, catalog):
    body = api.get(details_url("store-amsterdam", "COF-001")).json()
    assert body["price"] == "6.99"
    assert body["categories"] == {"department": "coffee"}


def test_details_of_an_unknown_channel_or_product_are_404_with_their_codes(api, catalog):
    assert_refused(api.get(details_url("nowhere", "COF-001")), 404, "channel_not_found")
    assert_refused(api.get(details_url("webshop", "NOPE-1")), 404, "product_not_found")
    assert_refused(api.get(details_url("store-amsterdam", "TEA-001")), 404, "product_not_found")
    assert_refused(api.get(details_url("webshop", "x" * 300)), 404, "product_not_found")


def test_details_refuse_query_parameters(api, catalog):
    assert_refused(api.get(details_url("webshop", "COF-001") + "?verbose=1"), 400, "validation_error")


def test_details_take_a_fixed_number_of_queries(api, catalog):
    url = details_url("webshop", "COF-001")
    api.get(url)
    before = query_count(lambda: api.get(url))
    for _ in range(5):
        catalog.lovers.products.add(ProductFactory(channel=catalog.webshop))
    extra = CategoryValueFactory(channel=catalog.webshop)
    classify(catalog.espresso, extra)
    assert query_count(lambda: api.get(url)) == before
    assert api.get(url).json()["price"] == str(Decimal("6.49"))
