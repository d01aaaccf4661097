"""The transactions screens (Django's test client): read-only, found by receipt and membership,
in bounded queries; staff only; the old address under the `loyalty` app still leads there."""

import pytest
from django.test import Client

from tests.factories import StaffUserFactory
from tests.promotions.conftest import buy, new_member
from transactions.models import Transaction

pytestmark = pytest.mark.django_db
ADMIN = "/admin/transactions/transaction"


@pytest.fixture
def staff_client() -> Client:
    client = Client()
    client.force_login(StaffUserFactory(password=None))
    return client


def test_the_transactions_list_and_detail_render_in_bounded_queries(
    staff_client, tx_program, django_assert_max_num_queries
):
    member = new_member()
    for _ in range(6):
        buy(member, [("COF-001", "2", "6.49"), ("TEA-001", "1", "2.89")])
    tx = Transaction.objects.first()
    with django_assert_max_num_queries(9):
        listing = staff_client.get("/admin/transactions/transaction/")
    assert listing.status_code == 200
    assert member.number in listing.content.decode()
    with django_assert_max_num_queries(9):
        detail = staff_client.get(f"/admin/transactions/transaction/{tx.pk}/change/")
    assert detail.status_code == 200
    page = detail.content.decode()
    assert "coffee-double" in page and "12.98" in page and "15.87" in page
    assert "held: at least one line must match: lines 1 matched" in page
    assert "COF-001" in page and "TEA-001" in page
    assert 'name="_save"' not in page  # read-only


def test_transactions_are_found_by_receipt_and_membership_and_cannot_be_added(staff_client, tx_program):
    alice, bob = new_member(), new_member()
    buy(alice, [("COF-001", "1", "6.49")])
    buy(bob, [("TEA-001", "1", "2.89")])
    found = staff_client.get("/admin/transactions/transaction/", {"q": bob.number})
    assert [t.membership_id for t in found.context["cl"].result_list] == [bob.pk]
    receipt = Transaction.objects.get(membership=alice).receipt_id
    found = staff_client.get("/admin/transactions/transaction/", {"q": receipt})
    assert [t.receipt_id for t in found.context["cl"].result_list] == [receipt]
    assert staff_client.get("/admin/transactions/transaction/", {"status__exact": "booked"}).status_code == 200
    assert staff_client.get("/admin/transactions/transaction/add/").status_code == 403
    tx = Transaction.objects.first()
    assert staff_client.get(f"/admin/transactions/transaction/{tx.pk}/delete/").status_code == 403


def test_the_old_address_of_the_transactions_screens_leads_to_the_new_one(staff_client, tx_program):
    buy(new_member(), [("COF-001", "1", "6.49")])
    tx = Transaction.objects.get()
    response = staff_client.get("/admin/loyalty/transaction/", {"q": tx.receipt_id})
    assert response.status_code == 301
    assert response["Location"] == f"{ADMIN}/?q={tx.receipt_id}"
    response = staff_client.get(f"/admin/loyalty/transaction/{tx.pk}/change/", follow=True)
    assert response.redirect_chain == [(f"{ADMIN}/{tx.pk}/change/", 301)]
    assert response.status_code == 200 and tx.tx_id in response.content.decode()


def test_people_who_are_not_staff_are_sent_to_the_login(tx_program, django_user_model):
    member_user = django_user_model.objects.create(username="not-staff", is_staff=False)
    logged_in = Client()
    logged_in.force_login(member_user)
    for client in (Client(), logged_in):
        response = client.get(f"{ADMIN}/")
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")


def test_a_members_card_finds_their_transactions_and_bookings(staff_client, tx_program):
    from memberships.services.identifiers import issue_card
    from tests.promotions.conftest import ACTOR

    alice, bob = new_member(), new_member()
    issue_card(membership=alice, number="6010009999", actor=ACTOR)
    buy(alice, [("COF-001", "1", "6.49")])
    buy(bob, [("TEA-001", "1", "2.89")])
    found = staff_client.get(f"{ADMIN}/", {"q": "6010009999"})
    assert [t.membership_id for t in found.context["cl"].result_list] == [alice.pk]
    assert "6.49 EUR" in found.content.decode()
    bookings = staff_client.get("/admin/ledger/booking/", {"q": "6010009999"})
    assert {b.membership_id for b in bookings.context["cl"].result_list} == {alice.pk}
    assert staff_client.get(f"{ADMIN}/", {"q": "no-such-key"}).context["cl"].result_list.count() == 0


def test_a_transaction_shows_its_cap_usage_in_points_by_promotion_name(staff_client, tx_program):
    from promotions.services import save_promotion
    from tests.promotions.conftest import ACTOR

    save_promotion(
        key="daily-bonus",
        name="Daily bonus",
        definition={
            "pointType": "points",
            "effects": [{"type": "fixed", "points": "5"}],
            "caps": {"perMember": [{"period": "day", "points": "12.5"}], "budget": "1000"},
        },
        actor=ACTOR,
    )
    member = new_member()
    buy(member, [("TEA-001", "1", "2.89")])
    buy(member, [("TEA-001", "1", "2.89")])
    second = Transaction.objects.order_by("-id").first()
    page = staff_client.get(f"{ADMIN}/{second.pk}/change/").content.decode()
    cap_usage = page.split("Cap usage:", 1)[1].split("</table>", 1)[0]
    assert "Daily bonus" in cap_usage and "daily-bonus" not in cap_usage
    assert "budget (all members)" in cap_usage and "per member, that day" in cap_usage
    assert cap_usage.count("5.00") == 2 and "500" not in cap_usage.replace("5.00", "")  # points, not minor units
