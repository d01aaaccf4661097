"""The member page's points panel: balances as GET /memberships/{key}/accounts gives them, in points;
blocked and soon-expiring points with their dates. Its statement tab and the whole statement on a
page of its own: bookings with the balance after each, newest first, paginated. Numbers of queries
that do not grow with the member's history."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ledger.back_office import STATEMENT_PAGE, points_panel, statement_panel
from ledger.services import adjust_points, redeem_points
from tests.factories import StaffUserFactory
from tests.ledger.conftest import ACTOR

pytestmark = pytest.mark.django_db


def request_of(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


@pytest.fixture
def manager():
    return StaffUserFactory(is_superuser=True)


def test_the_balances_are_those_of_the_accounts_endpoint_in_points(api, member, earn, ledger_program, manager):
    earn(member, 255_453)
    earn(member, 10_000, matures_in_days=14)
    earn(member, 1_000, expires_at=timezone.now() + timedelta(days=20))
    earn(member, 7, point_type=ledger_program.status)
    panel = points_panel(member, request_of(manager))
    accounts = api.get(f"/api/v1/memberships/{member.number}/accounts").json()
    by_name = {b["name"]: b for b in panel["balances"]}
    for account in accounts:
        shown = by_name[account["name"]]
        assert shown["balance"].replace(",", "") == account["balance"]
        if account["redeemableType"]:
            assert shown["redeemable"].replace(",", "") == account["redeemable"]
    points = by_name["Points"]
    assert (points["balance"], points["redeemable"], points["blocked"]) == ("2,664.53", "2,564.53", "100.00")
    assert [amount for _, amount in points["blocked_until"]] == ["100.00"]
    assert [amount for _, amount in points["expiring"]] == ["10.00"]
    assert by_name["Status"]["redeemable"] is None and by_name["Status"]["balance"] == "7"


def test_the_latest_bookings_show_the_balance_after_each_newest_first(member, earn, ledger_program, manager):
    earn(member, 5_000, receipt="R-1")
    adjust_points(
        membership=member,
        points=-1_250,
        point_type=ledger_program.points,
        sponsor=ledger_program.shop,
        reason="complaint 4711",
        actor=ACTOR,
    )
    redeem_points(
        membership=member,
        points=500,
        point_type=ledger_program.points,
        sponsor=ledger_program.shop,
        actor=ACTOR,
        reference="POS-9",
    )
    statement = statement_panel(member, request_of(manager))["statement"]
    assert [(line["what"], line["amount"], line["balance"]) for line in statement] == [
        ("Redeemed: POS-9", "-5.00", "32.50"),
        ("Adjustment: complaint 4711", "-12.50", "37.50"),
        ("Purchase: receipt R-1", "50.00", "50.00"),
    ]
    assert statement[0]["sponsor"] == "Shop"


def test_the_panel_costs_the_same_queries_however_long_the_history(member, earn, manager):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            points_panel(member, request_of(manager))
            statement_panel(member, request_of(manager))
        return len(captured)

    earn(member, 100)
    few = queries()
    for n in range(30):
        earn(member, 100 + n, matures_in_days=n % 3)
    assert queries() == few


def test_the_panel_is_left_out_for_someone_who_may_not_see_bookings_and_adjusting_needs_its_permission(member, earn):
    viewer = StaffUserFactory(is_superuser=False)
    assert points_panel(member, request_of(viewer)) is None
    assert statement_panel(member, request_of(viewer)) is None
    viewer.user_permissions.add(Permission.objects.get(codename="view_booking"))
    viewer = type(viewer).objects.get(pk=viewer.pk)  # permissions are cached per user object
    panel = points_panel(member, request_of(viewer))
    assert panel is not None and panel["adjust_url"] is None
    viewer.user_permissions.add(Permission.objects.get(codename="add_booking"))
    viewer = type(viewer).objects.get(pk=viewer.pk)
    assert f"membership={member.number}" in points_panel(member, request_of(viewer))["adjust_url"]


def statement(client, member, **params):
    response = client.get(f"/admin/ledger/booking/statement/{member.pk}/", params)
    assert response.status_code == 200
    return response.context


def test_the_whole_statement_pages_back_with_the_right_balance_after_each_line(
    client, member, earn, ledger_program, manager
):
    total = STATEMENT_PAGE * 2 + 5
    for n in range(total):  # points 1.00, 2.00, ...: the balance after line n is the sum of 1..n
        earn(member, 100 * (n + 1), receipt=f"R-{n + 1}")
    earn(member, 9, point_type=ledger_program.status, receipt="S-1")
    client.force_login(manager)
    first = statement(client, member)
    assert first["page"].paginator.count == total + 1
    assert first["lines"][0]["point_type"] == "Status" and first["lines"][0]["balance"] == "9"
    assert first["lines"][1]["what"] == f"Purchase: receipt R-{total}"
    assert first["lines"][1]["balance"] == f"{total * (total + 1) // 2:,}.00"
    third = statement(client, member, page=3)
    assert [line["what"] for line in third["lines"]][-1] == "Purchase: receipt R-1"
    n = total - 2 * STATEMENT_PAGE + 1  # the newest purchase on page 3 (one status line came first)
    assert third["lines"][0]["what"] == f"Purchase: receipt R-{n}"
    assert third["lines"][0]["balance"] == f"{n * (n + 1) // 2:,}.00"
    assert third["lines"][-1]["balance"] == "1.00"
    only_status = statement(client, member, point_type="status")
    assert [line["amount"] for line in only_status["lines"]] == ["9"]
    page = client.get(f"/admin/ledger/booking/statement/{member.pk}/", {"page": 2}).content.decode()
    assert "Page 2 of 3" in page and "Balance after" in page and member.number in page


def test_the_statement_costs_the_same_queries_on_every_page_and_needs_bookings_seen(client, member, earn, manager):
    for n in range(STATEMENT_PAGE + 3):
        earn(member, 100, receipt=f"R-{n}")
    client.force_login(manager)

    def queries(**params) -> int:
        with CaptureQueriesContext(connection) as captured:
            statement(client, member, **params)
        return len(captured)

    assert queries(page=2) == queries(page=1) + 1  # the sum of the newer lines
    for n in range(STATEMENT_PAGE):
        earn(member, 100, receipt=f"S-{n}")
    assert queries(page=3) == queries(page=2)
    client.force_login(StaffUserFactory(is_superuser=False))
    assert client.get(f"/admin/ledger/booking/statement/{member.pk}/").status_code == 403


def test_the_cancel_preview_says_in_points_what_cancelling_forfeits_and_cancelling_does_that(
    make_member, earn, ledger_program
):
    from ledger.back_office import forfeit_preview
    from ledger.models import Booking, Posting
    from ledger.services.reversal import reverse_earn
    from memberships.services.lifecycle import cancel_membership

    rich, poor, empty = make_member(), make_member(), make_member()
    earn(rich, 255_453)
    earn(rich, 10_000, matures_in_days=14)  # blocked points are forfeited too
    earn(rich, 15, point_type=ledger_program.status)
    earn(poor, 500)
    redeem_points(
        membership=poor, points=500, point_type=ledger_program.points, sponsor=ledger_program.shop, actor=ACTOR
    )
    # A return after spending leaves a debt.
    reverse_earn(booking=Booking.objects.filter(membership=poor, kind="earn").get(), actor=ACTOR)
    with CaptureQueriesContext(connection) as queries:
        preview = forfeit_preview([rich, poor, empty])
    assert len(queries) == 1
    assert preview == {
        rich.pk: ["2,654.53 Points and 15 Status will be forfeited (back to the sponsors that issued them)."],
        poor.pk: ["A debt of 5.00 Points will be written off."],
        empty.pk: ["No points to forfeit."],
    }
    cancel_membership(membership=rich, reason="moved abroad", actor=ACTOR)
    forfeited = Posting.objects.filter(booking__kind="forfeit", booking__membership=rich, amount__lt=0)
    assert sorted(p.amount for p in forfeited) == [-265_453, -15]  # per account: what the preview said
