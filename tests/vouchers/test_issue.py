"""POST /voucher/{type}/issue: recipients, stock, limits, bulk codes, points-paid vouchers."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from ledger.models import Booking
from ledger.selectors import balance_of
from ledger.verify import verify
from loyalty.models import AuditEntry, Event
from memberships.services import cancel_membership
from tests.ledger.conftest import ACTOR
from tests.vouchers.conftest import BASE, assert_refused, counts
from vouchers.codes import SAFE_ALPHABET
from vouchers.models import IssueBatch, Voucher, VoucherStock

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def ledger_stays_consistent(db):
    yield
    assert verify() == []


def issue(api, type_key, body=None, **extra):
    return api.post(f"{BASE}/{type_key}/issue", body or {}, format="json", **extra)


def test_a_voucher_is_issued_to_a_member_and_answers_with_its_token(api, ten_off, member):
    response = issue(api, "ten-off", {"recipient": member.number, "reference": "mailing-7"})
    body = response.json()
    assert response.status_code == 201, body
    voucher = Voucher.objects.get(token=body["token"])
    assert voucher.recipient == member and voucher.status == "issued" and voucher.source == "api"
    assert body["recipient"] == member.number and body["status"] == "issued" and body["usesLeft"] == 1
    assert body["voucherType"] == "ten-off" and body["kind"] == "percent_off" and body["value"] == "10.00"
    assert body["tokens"] == [body["token"]] and body["count"] == 1 and body["reference"] == "mailing-7"
    assert len(body["token"]) == 12 and set(body["token"]) <= set(SAFE_ALPHABET)
    assert VoucherStock.objects.get(voucher_type=ten_off).issued == 1
    assert AuditEntry.objects.filter(action="voucher.issued", object_id=str(voucher.pk)).exists()
    event = Event.objects.get(type="voucher.issued")
    assert event.membership_number == member.number and event.payload["tokens"] == [voucher.token]


def test_a_voucher_without_recipient_belongs_to_nobody(api, ten_off):
    body = issue(api, "ten-off").json()
    assert body["recipient"] is None and Voucher.objects.get(token=body["token"]).recipient is None


def test_the_recipient_is_any_membership_key(api, ten_off, make_member):
    member = make_member(card_number="6000000000001")
    body = issue(api, "ten-off", {"recipient": "6000000000001"}).json()
    assert body["recipient"] == member.number


def test_validity_is_n_days_from_issue_capped_by_the_type_window(api, make_type):
    now = timezone.now()
    make_type(key="days", valid_days=10)
    make_type(key="window", valid_days=10, valid_until=now + timedelta(days=3))
    make_type(key="later", valid_days=10, valid_from=now + timedelta(days=5))
    make_type(key="open", valid_days=None)
    days = issue(api, "days").json()
    assert datetime.fromisoformat(days["validUntil"]) - datetime.fromisoformat(days["validFrom"]) == timedelta(days=10)
    window = issue(api, "window").json()
    assert datetime.fromisoformat(window["validUntil"]) == now + timedelta(days=3)
    later = issue(api, "later").json()
    assert datetime.fromisoformat(later["validFrom"]) == now + timedelta(days=5)
    assert datetime.fromisoformat(later["validUntil"]) == now + timedelta(days=15)
    assert issue(api, "open").json()["validUntil"] is None


def test_codes_follow_the_type_format(api, make_type):
    make_type(key="shaped", code_prefix="NW-", code_suffix="-X", code_pattern="####-####-##")
    token = issue(api, "shaped").json()["token"]
    assert token.startswith("NW-") and token.endswith("-X") and len(token) == len("NW-####-####-##-X")
    body = token[3:-2]
    assert body[4] == "-" and body[9] == "-" and set(body.replace("-", "")) <= set(SAFE_ALPHABET)


def test_bulk_issue_makes_n_distinct_codes_in_one_batch(api, make_type):
    make_type(key="bulk", stock=500)
    response = issue(api, "bulk", {"count": 300, "reference": "flyer"})
    body = response.json()
    assert response.status_code == 201, body
    assert body["count"] == 300 and len(set(body["tokens"])) == 300 and body["batch"] is not None
    batch = IssueBatch.objects.get()
    assert batch.count == 300 and batch.vouchers.count() == 300 and batch.reference == "flyer"
    assert VoucherStock.objects.get(voucher_type__key="bulk").issued == 300
    assert Event.objects.filter(type="voucher.issued").count() == 1  # one event per issue, listing the batch
    assert AuditEntry.objects.filter(action="voucher.issued").count() == 1


def test_bulk_codes_keep_every_field_whatever_characters_the_reference_has(api, make_type, member):
    make_type(key="odd", uses_per_voucher=2)
    reference = "tab\there back\\slash\nnew line \u00e9"
    body = issue(api, "odd", {"count": 3, "recipient": member.number, "reference": reference}).json()
    stored = list(Voucher.objects.filter(token__in=body["tokens"]))
    assert len(stored) == 3
    for voucher in stored:
        assert voucher.reference == reference and voucher.recipient == member and voucher.uses_left == 2
        assert voucher.status == "issued" and voucher.revoked_at is None and voucher.receipt_id == ""
        assert voucher.valid_until is not None and voucher.issued_at <= voucher.updated_at


def test_the_last_of_the_stock_is_issued_and_then_refused_with_nothing_written(api, make_type, member):
    make_type(key="scarce", stock=3)
    assert issue(api, "scarce", {"count": 2}).status_code == 201
    before = counts()
    assert_refused(issue(api, "scarce", {"count": 2}), 409, "out_of_stock")
    assert counts() == before
    assert issue(api, "scarce", {"recipient": member.number}).status_code == 201
    assert_refused(issue(api, "scarce"), 409, "out_of_stock")
    assert api.get(f"{BASE}/types").json()["results"][0]["stockLeft"] == 0


def test_the_per_member_limit_counts_what_the_member_holds_but_not_revoked_ones(api, make_type, member, make_member):
    make_type(key="once", limit_per_member=1)
    first = issue(api, "once", {"recipient": member.number}).json()
    before = counts()
    assert_refused(issue(api, "once", {"recipient": member.number}), 409, "member_limit_reached")
    assert counts() == before
    assert issue(api, "once", {"recipient": make_member().number}).status_code == 201  # another member may
    assert issue(api, "once").status_code == 201  # unassigned vouchers do not count for anyone
    api.post(f"{BASE}/{first['token']}/revoke", {"reason": "wrong member"}, format="json")
    assert issue(api, "once", {"recipient": member.number}).status_code == 201


@pytest.mark.parametrize(
    ("type_fields", "body", "status", "code"),
    [
        ({"active": False}, {}, 409, "voucher_type_inactive"),
        ({"valid_until": datetime(2020, 1, 1, tzinfo=UTC)}, {}, 409, "voucher_type_ended"),
        ({}, {"recipient": "0000000000"}, 404, "membership_not_found"),
        ({}, {"count": 0}, 400, "validation_error"),
        ({}, {"count": 10_001}, 400, "validation_error"),
        ({}, {"recipent": "typo"}, 400, "validation_error"),
    ],
)
def test_refused_issues_write_nothing(api, make_type, type_fields, body, status, code):
    make_type(key="t", **type_fields)
    before = counts()
    assert_refused(issue(api, "t", body), status, code)
    assert counts() == before


@pytest.mark.parametrize("key", ["nope", "nul%00key", "k" * 300])
def test_an_unknown_type_is_404(api, ledger_program, key):
    assert_refused(issue(api, key), 404, "voucher_type_not_found")


def test_a_cancelled_member_gets_no_vouchers(api, ten_off, member):
    cancel_membership(membership=member, reason="moved away", actor=ACTOR)
    before = counts()
    assert_refused(issue(api, "ten-off", {"recipient": member.number}), 409, "membership_not_active")
    assert counts() == before


def test_a_points_priced_voucher_redeems_its_price_in_the_same_step(api, coffee, member, earn, ledger_program):
    earn(member, 10000)
    response = issue(api, "coffee", {"recipient": member.number})
    body = response.json()
    assert response.status_code == 201, body
    assert body["pointsPaid"] == "25.00" and body["pointType"] == "points" and body["receiptId"].startswith("R")
    booking = Booking.objects.get(receipt_id=body["receiptId"])
    assert booking.kind == "redeem" and booking.sponsor == coffee.sponsor and body["token"] in booking.reference
    assert balance_of(member, ledger_program.points).balance == 7500
    assert Event.objects.get(type="voucher.issued").payload["receipt_id"] == body["receiptId"]


def test_not_enough_points_leaves_neither_a_voucher_nor_a_booking(api, coffee, member, earn, ledger_program):
    earn(member, 2000)
    before = counts()
    assert_refused(issue(api, "coffee", {"recipient": member.number}), 409, "insufficient_points")
    assert counts() == before
    assert balance_of(member, ledger_program.points).balance == 2000


@pytest.mark.parametrize(
    ("body", "code"),
    [({}, "recipient_required"), ({"count": 2, "recipient": "MEMBER"}, "bulk_priced_type")],
)
def test_points_priced_vouchers_need_one_paying_recipient(api, coffee, member, earn, body, code):
    earn(member, 10000)
    if body.get("recipient"):
        body["recipient"] = member.number
    before = counts()
    assert_refused(issue(api, "coffee", body), 400, code)
    assert counts() == before


def test_a_repeat_with_the_same_idempotency_key_issues_once_and_answers_alike(api, coffee, member, earn):
    earn(member, 10000)
    first = issue(api, "coffee", {"recipient": member.number}, HTTP_IDEMPOTENCY_KEY="buy-1")
    again = issue(api, "coffee", {"recipient": member.number}, HTTP_IDEMPOTENCY_KEY="buy-1")
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    assert Voucher.objects.count() == 1 and Booking.objects.filter(kind="redeem").count() == 1
    assert_refused(
        issue(api, "coffee", {"recipient": member.number, "reference": "x"}, HTTP_IDEMPOTENCY_KEY="buy-1"),
        409,
        "idempotency_key_reused",
    )


def test_a_refusal_is_replayed_for_the_same_idempotency_key(api, coffee, member, earn):
    earn(member, 1000)
    first = issue(api, "coffee", {"recipient": member.number}, HTTP_IDEMPOTENCY_KEY="buy-2")
    earn(member, 10000)
    again = issue(api, "coffee", {"recipient": member.number}, HTTP_IDEMPOTENCY_KEY="buy-2")
    assert first.json()["code"] == again.json()["code"] == "insufficient_points"
    assert issue(api, "coffee", {"recipient": member.number}, HTTP_IDEMPOTENCY_KEY="buy-3").status_code == 201


def test_a_type_starting_at_the_end_of_time_issues_without_overflow(api, make_type):
    make_type(key="far", valid_from=datetime(9999, 12, 31, tzinfo=UTC), valid_days=30)
    body = issue(api, "far").json()
    assert body["validFrom"].startswith("9999-12-31") and body["validUntil"] is None


def test_vouchers_are_not_issued_after_the_type_ends(api, make_type):
    make_type(key="xmas", valid_until=datetime(2031, 1, 1, tzinfo=UTC), valid_days=None)
    with time_machine.travel(datetime(2030, 12, 31, tzinfo=UTC)):
        assert issue(api, "xmas").status_code == 201
    with time_machine.travel(datetime(2031, 1, 2, tzinfo=UTC)):
        assert_refused(issue(api, "xmas"), 409, "voucher_type_ended")
