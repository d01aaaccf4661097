"""A promotion's lifecycle (promotions/lifecycle.py) and the promotion list: status at its boundaries,
scope, caps and dates in words, results of the last 30 days, filters, copies as drafts."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from promotions.lifecycle import caps_in_words, scope_in_words, status_of
from promotions.models import Promotion
from promotions.services import save_promotion
from tests.factories import StaffUserFactory
from tests.promotions.conftest import ACTOR, buy, new_member

pytestmark = pytest.mark.django_db
ADMIN = "/admin/promotions/promotion/"
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
DECEMBER = {"from": "2026-12-01T00:00:00+01:00", "until": "2026-12-31T00:00:00+01:00"}


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=AMSTERDAM)


@pytest.mark.parametrize(
    ("active", "activated", "now", "status"),
    [
        (False, None, at(2026, 11, 15), "draft"),
        (True, True, at(2026, 11, 30, 23, 59), "scheduled"),  # a minute before it starts (Amsterdam time)
        (True, True, at(2026, 12, 1, 0, 0), "active"),  # from its first moment
        (True, True, datetime(2026, 11, 30, 23, 0, tzinfo=UTC), "active"),  # the same moment in UTC
        (False, True, at(2026, 12, 10), "paused"),
        (True, True, at(2026, 12, 30, 23, 59), "active"),
        (True, True, at(2026, 12, 31, 0, 0), "ended"),  # its end is not included
        (False, None, at(2027, 1, 5), "ended"),  # an end in the past wins over the flag
    ],
)
def test_the_status_follows_the_flag_the_first_activation_and_the_dates(active, activated, now, status):
    activated_at = at(2026, 11, 1) if activated else None
    definition = {"validity": DECEMBER}
    assert status_of(active=active, activated_at=activated_at, definition=definition, now=now) == status


def test_scope_and_caps_read_in_words():
    names = {"channels": {"webshop": "Web shop"}, "tiers": {"gold": "Gold"}}
    assert scope_in_words({}, names) == "Everywhere, every member"
    assert scope_in_words({"scope": {"channels": ["webshop"], "tiers": ["gold"]}}, names) == (
        "Channels: Web shop; Tiers: Gold"
    )
    caps = {"perTransaction": "500", "perMember": [{"period": "month", "points": "2000"}], "budget": "1000000"}
    assert caps_in_words({"caps": caps}) == "500 per purchase; 2,000 per member a month; budget 1,000,000"
    assert caps_in_words({}) == "none"


def test_activating_a_draft_records_when_and_a_paused_promotion_is_no_draft(tx_program):
    definition = Promotion.objects.get(key="coffee-double").definition
    draft = save_promotion(key="later", name="Later", definition=definition, active=False, actor=ACTOR)
    assert draft.activated_at is None
    active = save_promotion(key="later", name="Later", definition=definition, active=True, actor=ACTOR)
    first = active.activated_at
    assert first is not None
    save_promotion(key="later", name="Later", definition=definition, active=False, actor=ACTOR)
    again = save_promotion(key="later", name="Later", definition=definition, active=True, actor=ACTOR)
    assert again.activated_at == first  # the first activation stays


@pytest.fixture
def manager() -> Client:
    client = Client()
    client.force_login(StaffUserFactory())
    return client


def rows(client: Client, **params) -> dict[str, str]:
    """The list's rows by promotion key, as text."""
    import re

    html = client.get(ADMIN, params).content.decode()
    body = html.split('id="result_list"', 1)[1].split("</table>", 1)[0]
    found = {}
    for row in body.split("<tr")[2:]:
        text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip()
        key = re.search(r'class="quiet">([^<]+)<', row).group(1)
        found[key] = text
    return found


def test_the_list_shows_status_dates_scope_results_budget_and_caps(manager, tx_program):
    from loyalty.models import Program

    program = Program.current()
    program.time_zone = "Europe/Amsterdam"
    program.save()
    definition = Promotion.objects.get(key="coffee-double").definition
    save_promotion(
        key="december",
        name="December bonus",
        definition={
            **definition,
            "validity": DECEMBER,
            "scope": {"channels": ["webshop"]},
            "caps": {"budget": "1000"},
        },
        active=True,
        actor=ACTOR,
    )
    member = new_member()
    with time_machine.travel(at(2026, 12, 7, 12, 0), tick=False):
        buy(member, [("COF-001", "2", "6.49")], days_ago=1)  # coffee: both coffee promotions give
        listed = rows(manager)
    december = listed["december"]
    assert "Active" in december and "1 Dec 2026 – 30 Dec 2026" in december  # until 31 Dec 00:00
    assert "Channels: Web shop" in december and "budget 1,000" in december
    assert "12.98 Points in 1 rewards" in december and "1.3 % of 1,000.00" in december
    assert "Everywhere, every member" in listed["coffee-double"] and "always" in listed["coffee-double"]
    with time_machine.travel(at(2027, 1, 2, 12, 0), tick=False):
        manager.force_login(StaffUserFactory())  # a session of today: the one of December has expired
        assert "Ended" in rows(manager)["december"]
        assert list(rows(manager, status="ended")) == ["december"]
    assert "december" not in rows(manager, channel="store-amsterdam")  # scoped to the web shop only
    assert {"december", "coffee-double"} <= set(rows(manager, channel="webshop"))  # everywhere ones too


def test_the_list_reads_in_a_fixed_number_of_queries(manager, tx_program):
    definition = Promotion.objects.get(key="coffee-double").definition

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert manager.get(ADMIN).status_code == 200
        return len(captured)

    few = queries()
    for n in range(5):
        save_promotion(key=f"extra-{n}", name=f"Extra {n}", definition=definition, active=bool(n % 2), actor=ACTOR)
    assert queries() == few


def test_a_copy_is_a_draft_with_the_same_rules_and_a_free_key(manager, tx_program):
    original = Promotion.objects.get(key="coffee-double")
    for expected in ("coffee-double-copy", "coffee-double-copy-2"):
        response = manager.post(ADMIN, {"action": "clone", "_selected_action": [original.pk]})
        copy = Promotion.objects.get(key=expected)
        assert response.status_code == 302 and response["Location"].endswith(f"/{copy.pk}/change/")
        assert copy.definition == original.definition and copy.name == f"Copy of {original.name}"
        assert copy.active is False and copy.activated_at is None
    assert "Draft" in rows(manager)["coffee-double-copy"]


def test_a_copy_needs_the_permission_to_add(tx_program, django_user_model):
    from django.contrib.auth.models import Permission

    user = StaffUserFactory(is_superuser=False)
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_promotion", "change_promotion"]))
    client = Client()
    client.force_login(user)
    original = Promotion.objects.get(key="coffee-double")
    client.post(ADMIN, {"action": "clone", "_selected_action": [original.pk]})
    assert not Promotion.objects.filter(key__startswith="coffee-double-copy").exists()


def test_an_activation_asked_for_reads_as_awaiting_approval_until_it_ends():
    now = at(2026, 12, 10)
    pending = {"active": False, "activated_at": None, "now": now, "approval_requested": True}
    assert status_of(definition={"validity": DECEMBER}, **pending) == "pending"
    assert status_of(definition={"validity": DECEMBER}, **{**pending, "now": at(2027, 1, 2)}) == "ended"
