"""GET /promos/product/categories and GET /promos/product/categories/{channelKey}/{key}/values."""

import pytest

from tests.promotions.conftest import BASE, assert_refused, query_count, results
from tests.promotions.factories import (
    CategoryValueFactory,
    ChannelFactory,
    MasterCategoryFactory,
    ProductFactory,
    classify,
)

pytestmark = pytest.mark.django_db
MASTERS = f"{BASE}/product/categories"


def values_url(channel: str, master: str) -> str:
    return f"{BASE}/product/categories/{channel}/{master}/values"


def test_master_categories_are_listed_by_key_with_their_value_count(api, catalog):
    body = results(api.get(MASTERS))
    assert [(m["key"], m["name"], m["valueCount"]) for m in body] == [
        ("department", "Department", 3),
        ("season", "Season", 1),
    ]
    assert set(body[0]) == {"key", "name", "description", "valueCount", "updatedAt"}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("key=season", ["season"]),
        ("q=DEPART", ["department"]),
        ("channel=store-amsterdam", ["department"]),
        ("channel=webshop", ["department", "season"]),
        ("channel=nowhere", []),
    ],
)
def test_master_categories_filter_by_key_text_and_channel(api, catalog, query, expected):
    assert [m["key"] for m in results(api.get(f"{MASTERS}?{query}"))] == expected


def test_master_categories_refuse_unknown_parameters(api, catalog):
    assert_refused(api.get(f"{MASTERS}?colour=red"), 400, "validation_error")


def test_the_master_category_list_takes_as_many_queries_for_20_as_for_1(api, sponsor):
    MasterCategoryFactory()
    api.get(MASTERS)
    one = query_count(lambda: api.get(MASTERS))
    channel = ChannelFactory(sponsor=sponsor)
    for _ in range(19):
        CategoryValueFactory(master=MasterCategoryFactory(), channel=channel)
    assert len(results(api.get(MASTERS))) == 20
    assert query_count(lambda: api.get(MASTERS)) == one


def test_values_of_a_master_category_in_a_channel_with_their_product_counts(api, catalog):
    body = results(api.get(values_url("webshop", "department")))
    assert body == [
        {
            "key": "coffee",
            "name": "Coffee",
            "masterCategory": "department",
            "channel": "webshop",
            "productCount": 1,
            "updatedAt": body[0]["updatedAt"],
        },
        {
            "key": "tea",
            "name": "Tea",
            "masterCategory": "department",
            "channel": "webshop",
            "productCount": 1,
            "updatedAt": body[1]["updatedAt"],
        },
    ]
    assert [v["key"] for v in results(api.get(values_url("store-amsterdam", "department")))] == ["coffee"]
    assert results(api.get(values_url("store-amsterdam", "season"))) == []


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("value=tea", ["tea"]),
        ("q=COF", ["coffee"]),
        ("hasProducts=false", ["empty"]),
        ("hasProducts=true", ["coffee", "tea"]),
    ],
)
def test_values_filter_by_key_text_and_use(api, catalog, query, expected):
    CategoryValueFactory(master=catalog.department, channel=catalog.webshop, key="empty", name="Nothing here")
    assert [v["key"] for v in results(api.get(f"{values_url('webshop', 'department')}?{query}"))] == expected


def test_values_of_an_unknown_channel_or_master_category_are_404_with_their_codes(api, catalog):
    assert_refused(api.get(values_url("nowhere", "department")), 404, "channel_not_found")
    assert_refused(api.get(values_url("webshop", "colour")), 404, "category_not_found")


def test_values_refuse_unknown_or_malformed_parameters(api, catalog):
    assert_refused(api.get(f"{values_url('webshop', 'department')}?colour=red"), 400, "validation_error")
    assert_refused(api.get(f"{values_url('webshop', 'department')}?hasProducts=some"), 400, "validation_error")


def test_the_value_list_takes_as_many_queries_for_20_as_for_1(api, catalog):
    url = values_url("store-amsterdam", "season")
    CategoryValueFactory(master=catalog.season, channel=catalog.store)
    api.get(url)
    one = query_count(lambda: api.get(url))
    for _ in range(19):
        value = CategoryValueFactory(master=catalog.season, channel=catalog.store)
        classify(ProductFactory(channel=catalog.store), value)
    assert len(results(api.get(url))) == 20
    assert query_count(lambda: api.get(url)) == one
