"""GET /promos/program: the program and what integrators discover from it (the core contract)."""

from decimal import Decimal

import pytest

from ledger.models import PointType
from loyalty.models import MembershipType, Program, Tier
from tests.factories import MembershipTypeFactory, SponsorFactory, TierFactory
from tests.promotions.conftest import BASE, assert_refused, query_count
from tests.promotions.factories import ChannelFactory

pytestmark = pytest.mark.django_db
URL = f"{BASE}/program"


@pytest.fixture
def configured(program, sponsor):
    Program.objects.filter(pk=program.pk).update(
        name="Northwind Rewards", currency="EUR", time_zone="Europe/Amsterdam", points_precision=2, rounding="down"
    )
    SponsorFactory(key="brightfuel", name="Bright Fuel")
    SponsorFactory(key="gone", name="Gone", active=False)
    PointType.objects.create(
        key="points",
        name="Points",
        is_main=True,
        precision=2,
        expiry_policy="end_of_month",
        expiry_months=12,
        maturation_days=14,
    )
    PointType.objects.create(key="status", name="Status", redeemable=False, transferable=False, precision=0)
    PointType.objects.create(key="old", name="Old", active=False)
    Tier.objects.create(key="silver", name="Silver", rank=2, qualification_threshold=Decimal("1000"))
    Tier.objects.create(key="bronze", name="Bronze", rank=1)
    MembershipType.objects.create(key="consumer", name="Consumer", is_default=True)
    MembershipType.objects.create(key="retired", name="Retired", active=False)
    ChannelFactory(key="webshop", name="Web shop", kind="webshop", sponsor=sponsor)
    ChannelFactory(key="closed", sponsor=sponsor, active=False)


def test_the_program_lists_sponsors_point_types_tiers_membership_types_and_channels(api, configured):
    response = api.get(URL)
    assert response.status_code == 200
    body = response.json()
    assert {k: body[k] for k in ("name", "currency", "timeZone", "pointsPrecision", "rounding")} == {
        "name": "Northwind Rewards",
        "currency": "EUR",
        "timeZone": "Europe/Amsterdam",
        "pointsPrecision": 2,
        "rounding": "down",
    }
    assert body["sponsors"] == [
        {"key": "brightfuel", "name": "Bright Fuel", "isDefault": False},
        {"key": "northwind", "name": "Northwind", "isDefault": True},
    ]
    assert body["pointTypes"] == [
        {
            "key": "points",
            "name": "Points",
            "redeemable": True,
            "transferable": True,
            "precision": 2,
            "isMain": True,
            "maturationDays": 14,
            "expiry": {"policy": "end_of_month", "months": 12},
        },
        {
            "key": "status",
            "name": "Status",
            "redeemable": False,
            "transferable": False,
            "precision": 0,
            "isMain": False,
            "maturationDays": 0,
            "expiry": {"policy": "never", "months": None},
        },
    ]
    assert [(t["key"], t["rank"], t["qualificationThreshold"]) for t in body["tiers"]] == [
        ("bronze", 1, "0.0000"),
        ("silver", 2, "1000.0000"),
    ]
    assert body["tiers"][0]["qualificationWindowMonths"] == 12
    assert body["membershipTypes"] == [{"key": "consumer", "name": "Consumer", "isCompany": False, "isDefault": True}]
    assert body["channels"] == [{"key": "webshop", "name": "Web shop", "kind": "webshop", "sponsor": "northwind"}]


def test_the_earning_basics_say_what_exists_and_invent_nothing(api, configured):
    earning = api.get(URL).json()["earning"]
    assert earning == {"unknownProducts": "qualify", "basePromotions": []}


def test_an_empty_program_answers_with_empty_lists(api):
    body = api.get(URL).json()
    assert body["sponsors"] == body["pointTypes"] == body["tiers"] == body["channels"] == []


def test_the_program_refuses_query_parameters(api):
    assert_refused(api.get(f"{URL}?verbose=true"), 400, "validation_error")


def test_the_program_takes_as_many_queries_with_many_rows_as_with_one_each(api, configured):
    api.get(URL)
    few = query_count(lambda: api.get(URL))
    sponsor = SponsorFactory()
    for n in range(20):
        SponsorFactory()
        TierFactory(rank=10 + n)
        MembershipTypeFactory()
        ChannelFactory(sponsor=sponsor)
        PointType.objects.create(key=f"type-{n}", name=f"Type {n}")
    body = api.get(URL).json()
    assert len(body["tiers"]) == 22 and len(body["channels"]) == 21
    assert query_count(lambda: api.get(URL)) == few


def test_the_program_overview_takes_seven_queries(configured, django_assert_num_queries):
    from promotions.catalog_selectors import program_overview
    from promotions.selectors import active_promotions

    active_promotions()  # compiled once per process: afterwards one query checks the generation
    with django_assert_num_queries(7):
        overview = program_overview()
    assert [s.key for s in overview["sponsors"]] == ["brightfuel", "northwind"]


def test_the_earning_basics_list_the_base_promotions_in_words(api, configured):
    from loyalty.actors import Actor
    from promotions.services import save_promotion

    definition = {
        "base": True,
        "pointType": "points",
        "effects": [{"type": "perAmount", "points": "1", "per": "1.00", "lines": "all"}],
    }
    save_promotion(key="base", name="Base earning", definition=definition, actor=Actor.for_system("tests"))
    save_promotion(
        key="bonus",
        name="Bonus",
        definition={"pointType": "points", "effects": [{"type": "fixed", "points": "5"}]},
        actor=Actor.for_system("tests"),
    )
    earning = api.get(URL).json()["earning"]
    assert earning["basePromotions"] == [
        {"key": "base", "name": "Base earning", "pointType": "points", "description": "1 points per EUR 1.00"}
    ]
