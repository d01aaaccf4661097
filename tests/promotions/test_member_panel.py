"""The member page's tier panel: the tier, the status points of the qualification window and what
the next tier takes, in points; nothing for a program without tiers."""

import pytest
from django.test import RequestFactory

from loyalty.models import Tier
from loyalty.services import save_configuration
from promotions.back_office import tier_panel
from promotions.services import save_promotion
from tests.factories import StaffUserFactory
from tests.promotions.conftest import ACTOR, STATUS, purchase

pytestmark = pytest.mark.django_db


def panel_of(member):
    request = RequestFactory().get("/admin/")
    request.user = StaffUserFactory()
    return tier_panel(member, request)


def test_the_panel_says_the_tier_and_what_the_next_one_takes(api, member):
    assert panel_of(member) is None  # no tiers yet
    save_promotion(key="status", name="Status points", definition=STATUS, actor=ACTOR)
    save_configuration(Tier(key="silver", name="Silver", rank=1, qualification_threshold=10), actor=ACTOR)
    save_configuration(Tier(key="gold", name="Gold", rank=2, qualification_threshold=1000), actor=ACTOR)
    panel = panel_of(member)
    assert (panel["tier"], panel["status_points"], panel["next_tier"], panel["to_next"]) == (
        "No tier yet",
        "0.00",
        "Silver",
        "10.00",
    )
    api.post("/api/v1/tx", purchase(member, tx_id="T-TIER"), format="json")  # 15.87 status points
    member.refresh_from_db()
    panel = panel_of(member)
    assert (panel["tier"], panel["status_points"], panel["next_tier"], panel["to_next"]) == (
        "Silver",
        "15.87",
        "Gold",
        "984.13",
    )
    assert panel["percent"] == 2 and panel["to_keep"] is None
