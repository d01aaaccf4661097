"""A promotion's results page: points given and rewards per day from the summary of booked rewards, the
budget used as it went, in a number of queries that does not grow with the purchases."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from promotions.models import Promotion
from promotions.services import save_promotion
from tests.factories import StaffUserFactory
from tests.promotions.conftest import ACTOR, buy, new_member

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager() -> Client:
    client = Client()
    client.force_login(StaffUserFactory())
    return client


def test_the_results_add_up_the_rewards_and_follow_the_budget(manager, tx_program):
    coffee = Promotion.objects.get(key="coffee-double")
    save_promotion(
        key="coffee-double",
        name=coffee.name,
        definition={**coffee.definition, "caps": {"budget": "100"}},
        actor=ACTOR,
    )
    member = new_member()
    with time_machine.travel(timezone.now() - timedelta(days=3)):  # rows count on the day they are written
        buy(member, [("COF-001", "2", "6.49")], days_ago=0.01)
    buy(member, [("COF-001", "1", "6.49"), ("TEA-001", "1", "2.89")], days_ago=0.01)
    url = f"/admin/promotions/promotion/{coffee.pk}/results/"

    with CaptureQueriesContext(connection) as few:
        page = manager.get(url).content.decode()
    assert re.search(r"Points given</div><div class=\"value\">19.47<", page)  # 12.98 + 6.49
    assert re.search(r"Rewards</div><div class=\"value\">2<", page)
    assert "19.47 of 100.00 used (19.5 %)" in page
    budget = page.split("<desc>")[3].split("</desc>")[0]  # the budget used at the end of each day
    assert budget.endswith("13 %, 13 %, 13 %, 19 %")  # 12.98 three days ago, 19.47 today
    for _ in range(3):
        buy(member, [("COF-001", "1", "6.49")])
    with CaptureQueriesContext(connection) as many:
        assert manager.get(url, {"period": "12m"}).status_code == 200
    assert len(many) <= len(few) + 1


def test_a_promotion_that_gave_nothing_reads_zero(manager, tx_program):
    weekend = save_promotion(
        key="never",
        name="Never",
        definition=Promotion.objects.get(key="coffee-double").definition,
        active=False,
        actor=ACTOR,
    )
    page = manager.get(f"/admin/promotions/promotion/{weekend.pk}/results/").content.decode()
    assert re.search(r"Points given</div><div class=\"value\">0.00<", page)


def test_members_reached_count_each_member_once_from_the_hourly_snapshot(manager, tx_program):
    from loyalty import rollups
    from transactions.selectors import MEMBERS_REACHED

    coffee = Promotion.objects.get(key="coffee-double")
    anna, bert = new_member(), new_member()
    buy(anna, [("COF-001", "1", "6.49")], days_ago=0.01)
    buy(anna, [("COF-001", "2", "6.49")], days_ago=0.01)
    buy(bert, [("COF-001", "1", "6.49")], days_ago=0.01)
    buy(new_member(), [("TEA-001", "1", "2.89")], days_ago=0.01)  # no coffee: not reached
    url = f"/admin/promotions/promotion/{coffee.pk}/results/"
    live = manager.get(url).content.decode()
    assert re.search(r"Members reached</div><div class=\"value\">2<", live)
    rollups.take_snapshot(MEMBERS_REACHED, timezone.now() - timedelta(minutes=20))
    buy(new_member(), [("COF-001", "1", "6.49")], days_ago=0.01)  # after the snapshot
    stored = manager.get(url, {"period": "90d"}).content.decode()
    assert re.search(r"Members reached</div><div class=\"value\">2<", stored)  # as of the snapshot
    assert "as of " in stored
