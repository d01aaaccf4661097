"""The member page shows the panels other apps register (memberships.hooks), in their order, and
leaves out those whose context says no."""

import pytest
from django.test import RequestFactory

from memberships import hooks
from tests.factories import StaffUserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def clean_panels(monkeypatch):
    monkeypatch.setattr(hooks, "_member_panels", {})


def test_panels_come_in_their_order_and_one_that_says_no_is_left_out(clean_panels):
    seen = []

    def context(name):
        return lambda membership, request: seen.append(name) or {"name": name}

    hooks.register_member_panel(hooks.MemberPanel("b", "B", 20, "b.html", context("b")))
    hooks.register_member_panel(hooks.MemberPanel("a", "A", 10, "a.html", context("a")))
    hooks.register_member_panel(hooks.MemberPanel("hidden", "Hidden", 5, "h.html", lambda m, r: None))
    hooks.register_member_panel(hooks.MemberPanel("b", "B again", 30, "b2.html", context("b2")))  # replaces b
    request = RequestFactory().get("/")
    shown = hooks.member_panels(object(), request)
    assert [(panel.title, ctx) for panel, ctx in shown] == [("A", {"name": "a"}), ("B again", {"name": "b2"})]
    hooks.unregister_member_panel("a")
    assert [panel.key for panel, _ in hooks.member_panels(object(), request)] == ["b"]


def test_the_apps_register_points_tier_and_transactions_panels():
    assert [key for key in ("points", "tier", "transactions") if key in hooks._member_panels] == [
        "points",
        "tier",
        "transactions",
    ]
    orders = [hooks._member_panels[key].order for key in ("points", "tier", "transactions")]
    assert orders == sorted(orders)


def test_a_member_page_shows_the_panels_above_the_member_data(client, clean_panels):
    from loyalty.actors import Actor
    from memberships.services.enrollment import enroll_membership

    member = enroll_membership(actor=Actor.for_system("tests"), first_name="Pia", last_name="Panel", email="p@x.org")
    hooks.register_member_panel(
        hooks.MemberPanel("extra", "Extra facts", 10, "admin/ledger/member_points.html", lambda m, r: {"balances": []})
    )
    client.force_login(StaffUserFactory())
    page = client.get(f"/admin/memberships/membership/{member.pk}/change/").content.decode()
    assert page.index('id="panel-extra"') < page.index('id="member-data"') < page.index('name="first_name"')
    assert "Extra facts" in page and "The program has no point types yet." in page
