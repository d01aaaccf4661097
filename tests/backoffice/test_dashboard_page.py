"""The admin's first page: the dashboard, its filters, its words, and a fixed number of queries
whatever the data (no figure is read per sponsor, channel, promotion or day)."""

import re

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from loyalty.charts import Series, line_chart, nice_ceiling, nice_step
from loyalty.models import Sponsor
from memberships.services.enrollment import enroll_membership
from promotions.services import save_promotion
from tests.backoffice.conftest import COFFEE, NOW, TEA, local
from tests.factories import StaffUserFactory
from tests.promotions.conftest import ACTOR, buy


@pytest.fixture
def manager(client, db):
    client.force_login(StaffUserFactory())
    return client


def get(client, query=""):
    with time_machine.travel(NOW, tick=False), CaptureQueriesContext(connection) as queries:
        response = client.get(f"/admin/{query}")
    assert response.status_code == 200
    return response, len(queries)


def kpi(html: str, label: str) -> str:
    match = re.search(rf'<div class="label">{re.escape(label)}</div><div class="value">([^<]*)</div>', html)
    assert match, label
    return match.group(1)


def test_the_first_page_is_the_dashboard_in_words(manager, shop):
    response, _ = get(manager, "?period=7d")
    html = response.content.decode()
    assert "<title>Dashboard" in html
    assert kpi(html, "Members") == "3"
    assert kpi(html, "New members") == "2"
    assert kpi(html, "Members who bought") == "2"
    assert kpi(html, "Points redeemed") == "3.00"  # 300 minor units, in points
    assert kpi(html, "Vouchers issued") == "2"
    assert "1 Dec 2026 \u2013 7 Dec 2026, days in Europe/Amsterdam" in html
    assert 'aria-current="true">Last 7 days</a>' in html
    assert "Northwind" in html and "northwind" not in html.replace('value="northwind"', "")
    assert "Membership cancelled" in html  # recent actions: every service action, in words
    assert "{" not in re.sub(r"<style>.*?</style>", "", html, flags=re.S)  # no raw JSON or dicts


def test_the_number_of_queries_does_not_grow_with_the_data(manager, shop):
    _, small = get(manager, "?period=30d")
    more = Sponsor.objects.create(key="fuel", name="Bright Fuel")
    save_promotion(
        key="tea-bonus",
        name="Tea bonus",
        definition={"pointType": "points", "effects": [{"type": "fixed", "points": "5"}]},
        actor=ACTOR,
    )
    for day in (2, 3, 5):
        with time_machine.travel(local(2026, 12, day, 15, 0), tick=False):
            member = enroll_membership(
                actor=ACTOR, first_name="More", last_name=f"M{day}", email=f"m{day}@example.com", sponsor=more
            )
            buy(member, COFFEE + TEA, days_ago=0.01)
    _, large = get(manager, "?period=30d")
    assert large == small
    assert small <= 48  # about 45: each figure one or a few aggregates, whatever the data


def test_a_sponsor_and_a_period_narrow_the_page(manager, shop):
    Sponsor.objects.create(key="fuel", name="Bright Fuel")
    response, _ = get(manager, "?period=12m&sponsor=fuel")
    html = response.content.decode()
    assert '<option value="fuel" selected>Bright Fuel</option>' in html
    assert kpi(html, "Purchases") == "0"
    assert "1 Jan 2026 \u2013 7 Dec 2026" in html


def test_only_staff_see_the_dashboard(client, db):
    response = client.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_charts_are_drawn_on_the_server_with_their_figures_in_words():
    svg = line_chart(["1 Dec", "2 Dec"], [Series("<b>Earned</b>", [0, 1500])], title="Points & more", fmt=str)
    assert svg.startswith("<svg") and "<b>" not in svg
    assert "&lt;b&gt;Earned&lt;/b&gt;: 0, 1500" in svg and "<title>Points &amp; more</title>" in svg
    assert [nice_ceiling(v) for v in (0, 3, 7, 12, 86, 101, 2600)] == [4, 4, 8, 20, 100, 200, 4000]
    assert [nice_step(v) for v in (0.04, 0.75, 21.6, 30)] == [0.05, 1, 25, 50]
