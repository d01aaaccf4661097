"""The member page's actions: redeem, transfer, change tier, merge and issue a voucher, each through its
service, with a confirmation in numbers where points move, and only for those allowed."""

import re

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from backoffice.roles import SUPPORT_AGENT
from ledger.models import Booking
from ledger.selectors import balance_of
from loyalty.models import AuditEntry, Tier
from tests.factories import StaffUserFactory
from tests.vouchers.factories import VoucherTypeFactory
from vouchers.models import Voucher

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager(client):
    client.force_login(StaffUserFactory())
    return client


@pytest.fixture
def two(make_member, earn, ledger_program):
    anna, bert = make_member(), make_member()
    earn(anna, 10_000)  # 100.00 Points
    return anna, bert


def url(member, action: str) -> str:
    return reverse("admin:memberships_membership_action", args=[member.pk, action])


def confirmation(response) -> list[str]:
    html = response.content.decode()
    return re.findall(r'<li class="warning">([^<]*)</li>', html)


def digest(response) -> str:
    return re.search(r'name="confirmed" value="([0-9a-f]+)"', response.content.decode()).group(1)


def test_a_transfer_is_confirmed_in_points_before_anything_moves(manager, two, ledger_program):
    anna, bert = two
    form = {"target": bert.number, "point_type": ledger_program.points.pk, "points": "25"}

    asked = manager.post(url(anna, "transfer"), form)

    assert confirmation(asked)[0] == (
        f"25.00 Points will move from {anna.number} (100.00 redeemable now) to {bert.number} ({bert.full_name})."
    )
    assert balance_of(bert, ledger_program.points).balance == 0  # nothing yet

    changed = manager.post(url(anna, "transfer"), {**form, "points": "90", "confirmed": digest(asked)})
    assert "90.00 Points will move" in confirmation(changed)[0]  # other values: asked again
    assert balance_of(bert, ledger_program.points).balance == 0

    done = manager.post(url(anna, "transfer"), {**form, "confirmed": digest(asked)})
    assert done.status_code == 302 and done["Location"] == reverse(
        "admin:memberships_membership_change", args=[anna.pk]
    )
    assert balance_of(anna, ledger_program.points).balance == 7_500
    assert balance_of(bert, ledger_program.points).balance == 2_500


def test_a_refused_redemption_says_why_once_and_books_nothing(manager, two, ledger_program):
    anna, _ = two
    form = {"point_type": ledger_program.points.pk, "sponsor": ledger_program.shop.pk, "points": "150"}
    asked = manager.post(url(anna, "redeem"), form)
    assert confirmation(asked) == [
        f"150.00 Points will be redeemed at Shop; {anna.number} has 100.00 Points redeemable now."
    ]
    refused = manager.post(url(anna, "redeem"), {**form, "confirmed": digest(asked)})
    html = refused.content.decode()
    assert html.count("Only 100.00 Points are redeemable; 150.00 asked.") == 1
    assert not Booking.objects.filter(kind="redeem").exists()


def test_the_tier_changes_at_once_with_its_reason_in_the_audit_log(manager, two):
    anna, _ = two
    gold = Tier.objects.create(key="gold", name="Gold", rank=2)
    response = manager.post(url(anna, "change-tier"), {"tier": gold.pk, "reason": "Compensation for a complaint"})
    assert response.status_code == 302
    anna.refresh_from_db()
    assert anna.tier == gold
    entry = AuditEntry.objects.filter(object_id=str(anna.pk), action="tier.changed").get()
    assert entry.changes["reason"] == "Compensation for a complaint"


def test_a_merge_says_which_points_move_and_that_it_cannot_be_undone(manager, two, ledger_program):
    anna, bert = two
    asked = manager.post(url(anna, "merge"), {"target": bert.number})
    sentences = confirmation(asked)
    assert sentences[1] == "Points that move: 100.00 Points."
    assert "This cannot be undone." in sentences[2]
    done = manager.post(url(anna, "merge"), {"target": bert.number, "confirmed": digest(asked)})
    assert done.status_code == 302
    anna.refresh_from_db()
    assert anna.status == "merged" and balance_of(bert, ledger_program.points).balance == 10_000


def test_a_free_voucher_is_issued_at_once(manager, two):
    anna, _ = two
    kind = VoucherTypeFactory(name="Free coffee")
    response = manager.post(url(anna, "issue-voucher"), {"voucher_type": kind.pk})
    assert response.status_code == 302
    assert Voucher.objects.get(recipient=anna).voucher_type == kind


def test_the_member_page_offers_the_actions_a_user_may_take(client, manager, two):
    anna, _ = two
    page = manager.get(reverse("admin:memberships_membership_change", args=[anna.pk])).content.decode()
    for title in (
        "Redeem points",
        "Transfer points",
        "Change tier",
        "Issue a voucher",
        "Merge into another membership",
    ):
        assert f">{title}</a>" in page, title

    agent = StaffUserFactory(is_superuser=False)
    agent.groups.add(Group.objects.get(name=SUPPORT_AGENT))
    client.force_login(agent)
    page = client.get(reverse("admin:memberships_membership_change", args=[anna.pk])).content.decode()
    assert ">Transfer points</a>" not in page and ">Merge into another membership</a>" not in page
    assert client.get(url(anna, "transfer")).status_code == 403
    assert client.get(url(anna, "no-such-action")).status_code == 404


def test_the_member_page_shows_the_members_vouchers_and_history(manager, two):
    anna, _ = two
    kind = VoucherTypeFactory(name="Free coffee")
    manager.post(url(anna, "issue-voucher"), {"voucher_type": kind.pk})
    manager.post(
        url(anna, "change-tier"), {"tier": Tier.objects.create(key="gold", name="Gold", rank=2).pk, "reason": "VIP"}
    )

    page = manager.get(reverse("admin:memberships_membership_change", args=[anna.pk])).content.decode()

    vouchers = page.split('id="panel-vouchers"', 1)[1].split("</section>", 1)[0]
    assert "1 voucher, 1 still usable." in vouchers and "Free coffee" in vouchers
    history = page.split('id="panel-history"', 1)[1].split("</section>", 1)[0]
    assert "Tier changed" in history and "tier: (empty) → gold; reason: VIP" not in history
    assert "tier: gold; reason: VIP" in history  # a first tier reads as set, not as changed from empty
    assert "membership type id" not in history
    enrolled = AuditEntry.objects.get(action="membership.enrolled", object_id=str(anna.pk))
    entry = manager.get(reverse("admin:loyalty_auditentry_change", args=[enrolled.pk])).content.decode()
    assert f"membership type: {anna.membership_type.name}" in entry and "membership type id" not in entry
    link = re.search(r'href="([^"]*object_id=[^"]*)"', history).group(1).replace("&amp;", "&")
    entries = manager.get(link).content.decode()
    assert "Tier changed" in entries and "Membership enrolled" in entries


def test_an_anonymous_card_is_claimed_for_its_holder_or_joins_an_existing_member(manager, two, ledger_program, earn):
    from memberships.services.enrollment import create_anonymous_membership
    from tests.ledger.conftest import ACTOR

    anna, _ = two
    card = create_anonymous_membership(card_number="6009000000011", actor=ACTOR)
    other = create_anonymous_membership(card_number="6009000000012", actor=ACTOR)
    earn(other, 500)

    incomplete = manager.post(url(card, "claim"), {"first_name": "Cleo"})
    assert "Give the holder&#x27;s first name, last name and e-mail" in incomplete.content.decode()
    done = manager.post(url(card, "claim"), {"first_name": "Cleo", "last_name": "Holder", "email": "cleo@example.com"})
    assert done.status_code == 302
    card.refresh_from_db()
    assert (card.status, card.email) == ("active", "cleo@example.com")

    asked = manager.post(url(other, "claim"), {"into": anna.number})
    assert confirmation(asked) == [
        f"{other.number} joins {anna.number} ({anna.full_name}): its cards and points (5.00 Points) move there, "
        "and its number leads there from now on."
    ]
    manager.post(url(other, "claim"), {"into": anna.number, "confirmed": digest(asked)})
    assert balance_of(anna, ledger_program.points).balance == 10_500
    page = manager.get(reverse("admin:memberships_membership_change", args=[anna.pk])).content.decode()
    assert ">Claim for its holder</a>" not in page  # only anonymous memberships are claimed
