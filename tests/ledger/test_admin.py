import pytest

from ledger.models import Booking
from ledger.selectors import balance_of
from loyalty.models import AuditEntry
from tests.factories import StaffUserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    client.force_login(StaffUserFactory(username="manager"))
    return client


def test_the_adjust_form_books_through_the_service_and_is_audited(staff_client, member, ledger_program):
    response = staff_client.post(
        "/admin/ledger/booking/adjust/",
        {
            "membership": member.number,
            "point_type": ledger_program.points.pk,
            "sponsor": ledger_program.fuel.pk,
            "points": "12.50",
            "reason": "complaint 4711",
        },
    )
    assert response.status_code == 302
    assert balance_of(member, ledger_program.points).balance == 1250
    entry = AuditEntry.objects.get(action="points.adjusted")
    assert entry.actor_label == "user:manager"


def test_the_adjust_form_shows_refusals(staff_client, member, ledger_program):
    response = staff_client.post(
        "/admin/ledger/booking/adjust/",
        {
            "membership": member.number,
            "point_type": ledger_program.points.pk,
            "sponsor": ledger_program.fuel.pk,
            "points": "-5",
            "reason": "oops",
        },
    )
    assert response.status_code == 200
    page = response.content.decode()
    # In points and words, once, without the machine code.
    assert page.count("Only 0.00 Points are redeemable; 5.00 asked.") == 1
    assert "insufficient_points" not in page
    assert not Booking.objects.exists()


def test_ledger_admin_pages_open(staff_client, member, earn):
    earn(member, 500)
    booking = Booking.objects.get()
    for url in [
        "/admin/ledger/booking/",
        f"/admin/ledger/booking/{booking.pk}/change/",
        f"/admin/ledger/booking/?q={member.number}",
        "/admin/ledger/booking/liability/",
        "/admin/ledger/booking/liability/?since=2020-01-01&until=2040-01-01",
        "/admin/ledger/pointtype/",
        "/admin/ledger/pointtype/add/",
    ]:
        assert staff_client.get(url).status_code == 200, url
    assert b"Shop" in staff_client.get("/admin/ledger/booking/liability/?since=2020-01-01").content


def test_bookings_cannot_be_edited_or_deleted_in_the_admin(staff_client, member, earn):
    earn(member, 500)
    booking = Booking.objects.get()
    assert staff_client.post(f"/admin/ledger/booking/{booking.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Booking.objects.count() == 1


def test_point_type_changes_are_audited(staff_client, ledger_program):
    staff_client.post(
        f"/admin/ledger/pointtype/{ledger_program.status.pk}/change/",
        {
            "key": "status",
            "name": "Tier points",
            "redeemable": "",
            "transferable": "",
            "precision": 0,
            "maturation_days": 0,
            "expiry_policy": "never",
            "expiry_months": 24,
            "active": "on",
        },
    )
    assert AuditEntry.objects.get(action="pointtype.updated").changes["name"] == ["Status", "Tier points"]


def test_the_adjust_form_opened_from_the_member_page_shows_the_balances_and_goes_back(
    staff_client, member, ledger_program, earn
):
    earn(member, 255_453)
    page = f"/admin/memberships/membership/{member.pk}/change/"
    form = staff_client.get("/admin/ledger/booking/adjust/", {"membership": member.number, "next": page})
    content = form.content.decode()
    assert "2,554.53" in content and member.number in content
    response = staff_client.post(
        "/admin/ledger/booking/adjust/",
        {
            "membership": member.number,
            "point_type": ledger_program.points.pk,
            "sponsor": ledger_program.shop.pk,
            "points": "1000",
            "reason": "goodwill",
            "next": page,
        },
    )
    assert response.status_code == 302 and response["Location"] == page
    assert balance_of(member, ledger_program.points).balance == 355_453
    assert "3,554.53" in staff_client.get(page).content.decode()


def test_the_adjust_form_goes_back_only_to_a_page_of_this_site(staff_client, member, ledger_program):
    response = staff_client.post(
        "/admin/ledger/booking/adjust/",
        {
            "membership": member.number,
            "point_type": ledger_program.points.pk,
            "sponsor": ledger_program.shop.pk,
            "points": "1",
            "reason": "test",
            "next": "https://evil.example.com/",
        },
    )
    assert response.status_code == 302 and response["Location"] == f"/admin/ledger/booking/?q={member.number}"


def test_cancelling_from_the_member_page_says_what_is_forfeited_then_forfeits_it(staff_client, member, earn):
    from memberships.models import Membership

    earn(member, 255_453)
    page = f"/admin/memberships/membership/{member.pk}/change/"
    assert f"/admin/memberships/membership/{member.pk}/cancel/" in staff_client.get(page).content.decode()
    confirm = staff_client.get(f"/admin/memberships/membership/{member.pk}/cancel/").content.decode()
    assert "2,554.53 Points will be forfeited" in confirm
    assert Membership.objects.get(pk=member.pk).status == "active"  # asking changes nothing
    refused = staff_client.post(f"/admin/memberships/membership/{member.pk}/cancel/", {"reason": ""})
    assert refused.status_code == 200 and Membership.objects.get(pk=member.pk).status == "active"
    done = staff_client.post(f"/admin/memberships/membership/{member.pk}/cancel/", {"reason": "moved abroad"})
    assert done.status_code == 302 and done["Location"] == page
    assert Membership.objects.get(pk=member.pk).status == "cancelled"
    assert Booking.objects.filter(membership=member, kind="forfeit").count() == 1
    closed = staff_client.get(page).content.decode()
    assert "/cancel/" not in closed and "0.00" in closed


def test_the_cancel_action_lists_what_each_selected_member_forfeits(staff_client, make_member, earn):
    alice, bob = make_member(), make_member()
    earn(alice, 1_000)
    response = staff_client.post(
        "/admin/memberships/membership/",
        {"action": "cancel_selected", "_selected_action": [alice.pk, bob.pk]},
    )
    page = response.content.decode()
    assert "10.00 Points will be forfeited" in page and "No points to forfeit." in page


def test_a_bookings_page_shows_its_postings_in_words_and_points(staff_client, member, earn, ledger_program):
    earn(member, 255_453, sponsor=ledger_program.fuel)
    booking = Booking.objects.get()
    page = staff_client.get(f"/admin/ledger/booking/{booking.pk}/change/").content.decode()
    postings = page[page.index('id="postings-group"') :]
    assert f"Points of {member.number}" in postings and "Points issued by Fuel" in postings
    assert "2,554.53" in postings and "-2,554.53" in postings
    assert "issued:" not in postings and "255453" not in postings
    # The details name the point type and show its points, not its id and minor units.
    details = page[page.index("field-details") : page.index('id="postings-group"')]
    assert "2,554.53 Points" in details and "255453" not in details


def test_the_adjust_form_reads_full_width_digits_as_a_person_typed_them(staff_client, member, ledger_program):
    """An input method types full-width digits; the form understands them (the API takes ASCII only)."""
    response = staff_client.post(
        "/admin/ledger/booking/adjust/",
        {
            "membership": member.number,
            "point_type": ledger_program.points.pk,
            "sponsor": ledger_program.shop.pk,
            "points": "\uff11\uff12.\uff15",  # full-width digits
            "reason": "goodwill",
        },
    )
    assert response.status_code == 302
    assert balance_of(member, ledger_program.points).balance == 1_250
