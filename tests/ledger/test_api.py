"""The /deposits endpoints through HTTP with an API key."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from ledger.models import Booking
from ledger.verify import verify

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def ledger_stays_consistent(db):
    yield
    assert verify() == []


def test_redeem_answers_with_a_receipt_and_the_new_balance(api, member, earn):
    earn(member, 12000)
    response = api.post(
        f"/api/v1/deposits/{member.number}/redeem", {"points": "20.50", "reference": "order-7"}, format="json"
    )
    body = response.json()
    assert response.status_code == 201, body
    assert body["receiptId"].startswith("R") and body["balance"] == "99.50" and body["points"] == "-20.50"
    assert body["pointType"] == "points" and body["kind"] == "redeem"
    assert Booking.objects.get(receipt_id=body["receiptId"]).reference == "order-7"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"points": "500.00"}, 409, "insufficient_points"),
        ({"points": "1.001"}, 400, "invalid_amount"),
        ({"points": "-1"}, 400, "validation_error"),
        ({"points": "abc"}, 400, "validation_error"),
        ({"points": "1", "pointType": "nope"}, 400, "unknown_point_type"),
        ({"points": "1", "sponsor": "nope"}, 400, "unknown_sponsor"),
        ({"points": "1", "pointType": "status"}, 409, "not_redeemable"),
        ({"points": "1", "extra": 1}, 400, "validation_error"),
        ({}, 400, "validation_error"),
    ],
)
def test_bad_redeems_are_refused_with_their_code_and_book_nothing(api, member, earn, body, status, code):
    earn(member, 10000)
    before = Booking.objects.count()
    response = api.post(f"/api/v1/deposits/{member.number}/redeem", body, format="json")
    assert (response.status_code, response.json()["code"]) == (status, code)
    assert Booking.objects.count() == before


def test_unknown_members_are_404(api, ledger_program):
    response = api.post("/api/v1/deposits/0000000000/redeem", {"points": "1"}, format="json")
    assert response.status_code == 404 and response.json()["code"] == "membership_not_found"
    assert api.get("/api/v1/deposits/0000000000/redeemable").status_code == 404


def test_redeemable_shows_balance_blocked_and_redeemable(api, member, earn, ledger_program):
    earn(member, 10000)
    earn(member, 2500, matures_in_days=14)
    body = api.get(f"/api/v1/deposits/{member.number}/redeemable").json()
    assert body == {"pointType": "points", "balance": "125.00", "blocked": "25.00", "redeemable": "100.00"}
    earn(member, 40, point_type=ledger_program.status)
    status = api.get(f"/api/v1/deposits/{member.number}/redeemable?pointType=status").json()
    assert status == {"pointType": "status", "balance": "40", "blocked": "0", "redeemable": "0"}
    assert api.get(f"/api/v1/deposits/{member.number}/redeemable?colour=red").status_code == 400


def test_adjust_credits_and_debits_with_a_reason(api, member):
    url = f"/api/v1/deposits/{member.number}/adjust"
    credit = api.post(url, {"points": "10", "reason": "goodwill", "sponsor": "fuel"}, format="json")
    assert credit.status_code == 201 and credit.json()["balance"] == "10.00"
    debit = api.post(url, {"points": "-4", "reason": "correction"}, format="json")
    assert debit.status_code == 201 and debit.json()["balance"] == "6.00"
    too_much = api.post(url, {"points": "-40", "reason": "x"}, format="json")
    assert too_much.status_code == 409 and too_much.json()["code"] == "insufficient_points"
    no_reason = api.post(url, {"points": "5"}, format="json")
    assert no_reason.status_code == 400
    zero = api.post(url, {"points": "0", "reason": "x"}, format="json")
    assert zero.status_code == 400 and zero.json()["code"] == "invalid_amount"


def test_a_redemption_reversal_returns_the_points_once(api, member, earn):
    earn(member, 10000)
    receipt = api.post(f"/api/v1/deposits/{member.number}/redeem", {"points": "30"}, format="json").json()["receiptId"]
    reversed_ = api.post("/api/v1/deposits/redeem/reversal", {"receiptId": receipt}, format="json")
    assert reversed_.status_code == 201 and reversed_.json()["balance"] == "100.00"
    assert reversed_.json()["reverses"] == receipt
    again = api.post("/api/v1/deposits/redeem/reversal", {"receiptId": receipt}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "already_reversed"
    unknown = api.post("/api/v1/deposits/redeem/reversal", {"receiptId": "R-NOPE"}, format="json")
    assert unknown.status_code == 404 and unknown.json()["code"] == "receipt_not_found"


def test_transfer_moves_points_between_members(api, make_member, earn):
    giver, taker = make_member(), make_member()
    earn(giver, 5000)
    url = f"/api/v1/deposits/{giver.number}/transfer/{taker.number}"
    response = api.post(url, {"points": "20"}, format="json")
    assert response.status_code == 201
    assert response.json()["balance"] == "30.00" and response.json()["targetBalance"] == "20.00"
    too_much = api.post(url, {"points": "31"}, format="json")
    assert too_much.json()["code"] == "insufficient_points"
    to_self = api.post(f"/api/v1/deposits/{giver.number}/transfer/{giver.number}", {"points": "1"}, format="json")
    assert to_self.json()["code"] == "same_membership"
    status = api.post(url, {"points": "1", "pointType": "status"}, format="json")
    assert status.json()["code"] == "not_transferable"


def test_the_statement_shows_opening_entries_with_running_balance_closing_blocked_and_expiring(
    api, member, earn, django_assert_max_num_queries
):
    start = timezone.now()
    expiry = start + timedelta(days=40)
    earn(member, 1000, expires_at=expiry)
    earn(member, 2000)
    earn(member, 500, matures_in_days=10)
    api.post(f"/api/v1/deposits/{member.number}/redeem", {"points": "7"}, format="json")

    url = f"/api/v1/deposits/{member.number}/statement"
    page = api.get(url, {"limit": 2}).json()
    assert page["openingBalance"] == "0.00" and page["closingBalance"] == "28.00"
    assert [(e["kind"], e["amount"], e["runningBalance"]) for e in page["entries"]] == [
        ("earn", "10.00", "10.00"),
        ("earn", "20.00", "30.00"),
    ]
    with django_assert_max_num_queries(16):
        rest = api.get(url, {"limit": 2, "cursor": page["next"]}).json()
    assert [(e["kind"], e["runningBalance"]) for e in rest["entries"]] == [("earn", "35.00"), ("redeem", "28.00")]
    assert rest["next"] is None
    assert [b["amount"] for b in page["blocked"]] == ["5.00"]
    assert sum(float(e["amount"]) for e in page["expiring"]) == 3.0  # 7 of the 10 were redeemed first

    later = api.get(url, {"since": (timezone.now() - timedelta(seconds=0)).isoformat()}).json()
    assert later["entries"] == [] and later["openingBalance"] == later["closingBalance"] == "28.00"
    assert api.get(url, {"cursor": "garbage!"}).status_code == 400
    bad_period = api.get(url, {"since": "2030-01-01T00:00:00Z", "until": "2029-01-01T00:00:00Z"})
    assert bad_period.status_code == 400


def test_the_statement_covers_a_period(api, member, earn):
    import time_machine

    with time_machine.travel(datetime(2030, 1, 10, tzinfo=UTC), tick=False):
        earn(member, 1000)
    with time_machine.travel(datetime(2030, 2, 10, tzinfo=UTC), tick=False):
        earn(member, 300)
    with time_machine.travel(datetime(2030, 3, 10, tzinfo=UTC), tick=False):
        earn(member, 50)
    body = api.get(
        f"/api/v1/deposits/{member.number}/statement",
        {"since": "2030-02-01T00:00:00Z", "until": "2030-03-01T00:00:00Z"},
    ).json()
    assert (body["openingBalance"], body["closingBalance"]) == ("10.00", "13.00")
    assert [e["amount"] for e in body["entries"]] == ["3.00"]


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!",
        "aGVsbG8=",  # "hello"
        "LTE=",  # "-1"
        "MTE4MDU5MTYyMDcxNzQxMTMwMzQyNA==",  # 2**70, beyond any id: the database would overflow on it
        "__4=",  # bytes that are not text
    ],
)
def test_the_statement_refuses_a_cursor_it_did_not_hand_out_with_invalid_cursor_as_the_logs_do(api, member, cursor):
    response = api.get(f"/api/v1/deposits/{member.number}/statement", {"cursor": cursor})
    body = response.json()
    assert response.status_code == 400, body
    assert body["code"] == "validation_error"
    assert [(e["field"], e["code"]) for e in body["errors"]] == [("cursor", "invalid_cursor")]
