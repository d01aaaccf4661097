"""The admin in headless Chromium: an agent finds a member by card, adds a remark, cancels the membership."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from loyalty.models import AuditEntry, Event
from memberships.models import Card, Membership, Remark
from tests.memberships.factories import CardFactory, MembershipFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
CARD = "611122223333"


def test_an_agent_finds_a_member_by_card_adds_a_remark_and_cancels(admin_page, admin_page_user, live_server):
    member = MembershipFactory(first_name="Ann", last_name="Smith", email="ann@example.com")
    CardFactory(membership=member, number=CARD)
    MembershipFactory(first_name="Bob", last_name="Jones")  # someone the search must not show
    page = admin_page

    # Find the member by the card number the caller reads out.
    page.goto(reverse("admin:memberships_membership_changelist"))
    page.fill("#searchbar", CARD)
    page.press("#searchbar", "Enter")
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(member.number)
    expect(rows.first).to_contain_text("Ann Smith")
    rows.first.get_by_role("link", name=member.number).click()

    # The member's page: the card is there; add a remark.
    page.get_by_role("tab", name="Member data, cards and remarks").click()
    expect(page.locator("#member-data")).to_contain_text(CARD)
    page.locator("textarea[name='remarks-2-0-text']").fill("Caller lost the card; asked to cancel.")
    page.click("input[name=_continue]")
    expect(page.locator(".messagelist .success")).to_be_visible()
    expect(page.locator("#member-data")).to_be_visible()  # back on the tab where the change was made
    expect(page.locator("#member-data")).to_contain_text("Caller lost the card; asked to cancel.")
    remark = Remark.objects.get(membership=member)
    assert remark.author_user_id == admin_page_user.pk

    # Cancel it from the list with a reason.
    page.goto(reverse("admin:memberships_membership_changelist") + f"?q={member.number}")
    page.locator("#result_list tbody tr").first.locator("input.action-select").check()
    page.select_option("select[name=action]", "cancel_selected")
    page.click("button[name=index]")
    expect(page.locator("h1")).to_contain_text("Cancel memberships")
    page.fill("textarea[name=reason]", "Asked by phone")
    page.click("input[type=submit][value='Cancel these memberships']")
    expect(page.locator(".messagelist .success")).to_contain_text(f"Cancelled: {member.number}")
    expect(page.locator("#result_list tbody tr").first).to_contain_text("Cancelled")

    member.refresh_from_db()
    assert member.status == "cancelled" and member.cancel_reason == "Asked by phone"
    assert Card.objects.get(number=CARD).status == "inactive"
    assert AuditEntry.objects.filter(action="membership.cancelled", actor_user=admin_page_user).count() == 1
    assert Event.objects.filter(type="membership.cancelled", membership_number=member.number).count() == 1
    assert Membership.objects.filter(status="active").count() == 1  # Bob is untouched
