"""GET /promos/channel/data: the channels with their keys, filtered and paginated."""

import pytest

from tests.factories import SponsorFactory
from tests.promotions.conftest import BASE, query_count, results
from tests.promotions.factories import ChannelFactory

pytestmark = pytest.mark.django_db
URL = f"{BASE}/channel/data"


def test_the_channels_are_listed_by_key_with_kind_and_sponsor(api, sponsor):
    ChannelFactory(key="webshop", name="Web shop", kind="webshop", sponsor=sponsor)
    ChannelFactory(key="brightfuel-stations", kind="partner", sponsor=SponsorFactory(key="brightfuel", name="Bright"))
    response = api.get(URL)
    body = response.json()
    assert body["count"] == 2
    first, second = body["results"]
    assert [first["key"], second["key"]] == ["brightfuel-stations", "webshop"]
    assert second == {
        "key": "webshop",
        "name": "Web shop",
        "kind": "webshop",
        "sponsor": "northwind",
        "sponsorName": "Northwind",
        "active": True,
        "updatedAt": second["updatedAt"],
    }
    assert first["sponsor"] == "brightfuel"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("kind=store", ["store-a", "store-old"]),
        ("active=false", ["store-old"]),
        ("active=true&kind=store", ["store-a"]),
        ("sponsor=partner", ["fuel"]),
        ("q=OLD", ["store-old"]),
        ("q=web", ["webshop"]),
    ],
)
def test_channels_filter_by_kind_sponsor_activity_and_text(api, sponsor, query, expected):
    ChannelFactory(key="webshop", kind="webshop", sponsor=sponsor, name="Web")
    ChannelFactory(key="store-a", kind="store", sponsor=sponsor, name="Amsterdam")
    ChannelFactory(key="store-old", kind="store", sponsor=sponsor, name="Old store", active=False)
    ChannelFactory(key="fuel", kind="partner", sponsor=SponsorFactory(key="partner"), name="Fuel")
    assert [c["key"] for c in results(api.get(f"{URL}?{query}"))] == expected


def test_channels_paginate_by_limit_and_offset_with_a_count(api, sponsor):
    for n in range(5):
        ChannelFactory(key=f"store-{n}", sponsor=sponsor)
    body = api.get(f"{URL}?limit=2&offset=2").json()
    assert body["count"] == 5
    assert [c["key"] for c in body["results"]] == ["store-2", "store-3"]
    assert body["next"] and body["previous"]


@pytest.mark.parametrize("query", ["colour=red", "kind=shop", "active=maybe", "sponsor=" + "x" * 41])
def test_unknown_or_malformed_channel_filters_are_a_400(api, query):
    response = api.get(f"{URL}?{query}")
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"


def test_the_channel_list_takes_as_many_queries_for_20_rows_as_for_1(api, sponsor):
    ChannelFactory(sponsor=sponsor)
    api.get(URL)
    one = query_count(lambda: api.get(URL))
    for _ in range(19):
        ChannelFactory(sponsor=SponsorFactory())
    assert len(results(api.get(URL))) == 20
    assert query_count(lambda: api.get(URL)) == one
