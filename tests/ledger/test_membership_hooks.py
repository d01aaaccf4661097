"""Merge moves points with their lots; cancel forfeits them; the accounts endpoint shows balances."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from ledger.models import Booking, Lot
from ledger.selectors import balance_of, sponsor_liability
from ledger.services import redeem_points, reverse_earn, reverse_redemption
from ledger.verify import verify
from memberships.errors import MembershipNotActive
from memberships.services.lifecycle import cancel_membership, merge_memberships
from tests.ledger.conftest import ACTOR

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def ledger_stays_consistent(db):
    yield
    assert verify() == []


def test_a_merge_moves_every_lot_with_its_issuer_maturity_and_expiry(make_member, earn, ledger_program):
    source, target = make_member(), make_member()
    expiry = datetime(2031, 5, 1, tzinfo=UTC)
    earn(source, 1000, expires_at=expiry, sponsor=ledger_program.fuel)
    earn(source, 500, matures_in_days=10)
    earn(source, 30, point_type=ledger_program.status)
    earn(target, 200)
    merge_memberships(source=source, target=target, actor=ACTOR)

    assert balance_of(target, ledger_program.points).balance == 1700
    assert balance_of(target, ledger_program.points).blocked == 500
    assert balance_of(target, ledger_program.status).balance == 30
    assert balance_of(source, ledger_program.points).balance == 0
    moved = Lot.objects.get(account__membership=target, expires_at=expiry)
    assert (moved.remaining, moved.sponsor_id) == (1000, ledger_program.fuel.pk)
    assert Booking.objects.filter(kind="merge").count() == 1


def test_a_merge_carries_a_debt_along(make_member, earn, ledger_program):
    source, target = make_member(), make_member()
    first = earn(source, 1000)
    redeem_points(
        membership=source, points=800, point_type=ledger_program.points, sponsor=ledger_program.shop, actor=ACTOR
    )
    reverse_earn(booking=first, actor=ACTOR)
    merge_memberships(source=source, target=target, actor=ACTOR)
    assert balance_of(target, ledger_program.points).balance == -800
    earn(target, 1000)
    assert balance_of(target, ledger_program.points).redeemable == 200


def test_reversals_after_a_merge_book_on_the_survivor(make_member, earn, ledger_program):
    source, target = make_member(), make_member()
    first = earn(source, 1000)
    redemption = redeem_points(
        membership=source, points=300, point_type=ledger_program.points, sponsor=ledger_program.shop, actor=ACTOR
    )
    merge_memberships(source=source, target=target, actor=ACTOR)
    assert balance_of(target, ledger_program.points).balance == 700

    refund = reverse_redemption(receipt_id=redemption.receipt_id, actor=ACTOR)
    assert refund.membership_id == target.pk
    assert balance_of(target, ledger_program.points).balance == 1000
    assert balance_of(source, ledger_program.points).balance == 0

    [taken] = reverse_earn(booking=first, actor=ACTOR)
    assert taken.membership_id == target.pk
    assert balance_of(target, ledger_program.points).balance == 0
    assert balance_of(source, ledger_program.points).balance == 0


def test_the_statement_of_the_survivor_includes_the_merged_history(api, make_member, earn, ledger_program):
    source, target = make_member(), make_member()
    earn(source, 1000)
    earn(target, 500)
    merge_memberships(source=source, target=target, actor=ACTOR)
    body = api.get(f"/api/v1/deposits/{target.number}/statement").json()
    assert body["closingBalance"] == "15.00"
    assert [e["kind"] for e in body["entries"]].count("earn") == 2
    assert api.get(f"/api/v1/deposits/{source.number}/redeemable").json()["balance"] == "15.00"


def test_cancel_forfeits_the_points_to_their_issuers(member, earn, ledger_program):
    earn(member, 1000, sponsor=ledger_program.fuel)
    earn(member, 400, matures_in_days=5)
    cancel_membership(membership=member, reason="moved abroad", actor=ACTOR)
    assert balance_of(member, ledger_program.points).balance == 0
    forfeit = Booking.objects.get(kind="forfeit")
    assert forfeit.reason == "moved abroad"
    by_sponsor = {(r.sponsor_key, r.point_type.key): r for r in sponsor_liability()}
    assert by_sponsor[("fuel", "points")].forfeited == 1000
    assert by_sponsor[("shop", "points")].forfeited == 400
    assert all(r.outstanding == 0 for r in by_sponsor.values())
    with pytest.raises(MembershipNotActive):
        redeem_points(
            membership=member, points=1, point_type=ledger_program.points, sponsor=ledger_program.shop, actor=ACTOR
        )


def test_liability_per_sponsor_for_a_period(make_member, earn, ledger_program):
    member = make_member()
    earn(member, 1000, sponsor=ledger_program.fuel)
    earn(member, 3000)
    redeem_points(
        membership=member, points=1500, point_type=ledger_program.points, sponsor=ledger_program.shop, actor=ACTOR
    )
    rows = {r.sponsor_key: r for r in sponsor_liability() if r.point_type.key == "points"}
    # First to expire first: both lots never expire, so the older fuel lot is spent first.
    assert (rows["fuel"].issued, rows["fuel"].redeemed, rows["fuel"].outstanding) == (1000, 1000, 0)
    assert (rows["shop"].issued, rows["shop"].redeemed, rows["shop"].outstanding) == (3000, 500, 2500)
    future = sponsor_liability(timezone.now() + timedelta(days=1), timezone.now() + timedelta(days=2))
    assert all(r.issued == 0 for r in future)
    assert {r.sponsor_key: r.outstanding for r in future if r.point_type.key == "points"} == {"fuel": 0, "shop": 2500}


def test_the_accounts_endpoint_lists_every_point_type_with_balances(
    api, member, earn, ledger_program, django_assert_max_num_queries
):
    earn(member, 1234)
    earn(member, 100, matures_in_days=3)
    with django_assert_max_num_queries(12):
        response = api.get(f"/api/v1/memberships/{member.number}/accounts")
    assert response.status_code == 200, response.content
    body = response.json()
    rows = body if isinstance(body, list) else body.get("accounts", body.get("results"))
    by_type = {row["pointType"]: row for row in rows}
    assert by_type["points"]["balance"] == "13.34"
    assert by_type["points"]["blocked"] == "1.00"
    assert by_type["points"]["redeemable"] == "12.34"
    assert by_type["status"]["balance"] == "0"
