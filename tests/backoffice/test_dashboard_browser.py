"""The dashboard in headless Chromium, as a program manager sees it after logging in: figures that
match the database, a period and a sponsor chosen with a click, a page that fits a 1,366-px screen."""

import re

import pytest
from playwright.sync_api import expect

from ledger.models import PointType
from ledger.selectors import balance_of
from ledger.services import redeem_points
from loyalty.models import Sponsor
from memberships.models import Membership
from tests.promotions.conftest import ACTOR, buy, new_member
from transactions.models import Transaction, TransactionReward

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def points(minor: int) -> str:
    return f"{minor / 100:,.2f}"


def test_a_manager_logs_in_and_sees_figures_that_match_the_database(admin_page, tx_program, screens):
    members = [new_member() for _ in range(3)]
    for days_ago, member in zip((3, 2, 1), members, strict=True):
        buy(member, [("COF-001", "2", "6.49"), ("TEA-001", "1", "2.89")], days_ago=days_ago)
    main = PointType.objects.get(key="points")
    redeem_points(membership=members[0], points=150, point_type=main, sponsor=Sponsor.objects.get(), actor=ACTOR)
    Sponsor.objects.create(key="fuel", name="Bright Fuel")
    earned = sum(TransactionReward.objects.filter(point_type="points").values_list("amount", flat=True))
    held = sum(balance_of(m, main).balance for m in members)
    page = admin_page
    page.set_viewport_size({"width": 1366, "height": 900})

    page.goto("/admin/")

    expect(page.locator("h1")).to_have_text("Dashboard")
    cards = page.locator(".kpi")

    def card(label: str):
        return cards.filter(has=page.locator(".label", has_text=re.compile(f"^{label}$")))

    expect(card("Members").locator(".value")).to_have_text(f"{Membership.objects.count():,}")
    expect(card("Purchases").locator(".value")).to_have_text(str(Transaction.objects.count()))
    expect(card("Points earned").locator(".value")).to_have_text(points(earned))
    expect(card("Points redeemed").locator(".value")).to_have_text("1.50")
    expect(card("Outstanding liability").locator(".value")).to_have_text(points(held))
    expect(page.locator("#liability")).to_contain_text("Northwind")
    expect(page.locator("#channels")).to_contain_text("Web shop")  # the channel's name, not its key
    expect(page.locator("#recent-actions")).to_contain_text("Points redeemed")
    assert page.locator("svg.chart").count() == 5
    blocked = float(card("Blocked").locator(".value").inner_text().replace(",", ""))
    last = page.locator("#blocked-over-time desc").text_content().rsplit(", ", 1)[1]
    assert float(last.replace(",", "")) == blocked  # the chart ends where the figure is
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
    page.screenshot(path=screens / "dashboard.png", full_page=True)

    page.get_by_role("link", name="Last 12 months").click()
    expect(page.locator(".periods a.selected")).to_have_text("Last 12 months")
    page.select_option("select[name=sponsor]", label="Bright Fuel")  # the form follows the choice
    expect(page).to_have_url(re.compile(r"sponsor=fuel"))
    expect(card("Purchases").locator(".value")).to_have_text("0")
    expect(page.locator(".periods a.selected")).to_have_text("Last 12 months")
