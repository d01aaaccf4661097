"""POST /voucher/{token}/revoke: only unused vouchers; points paid come back by a reversal."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from ledger.models import Booking
from ledger.selectors import balance_of
from ledger.verify import verify
from loyalty.models import AuditEntry, Event
from tests.vouchers.conftest import BASE, assert_refused, counts
from tests.vouchers.factories import issue
from vouchers.errors import ReasonRequired
from vouchers.models import VoucherStock
from vouchers.services import convert_voucher, revoke_voucher

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def ledger_stays_consistent(db):
    yield
    assert verify() == []


def revoke(api, token, reason="customer complaint", **extra):
    return api.post(f"{BASE}/{token}/revoke", {"reason": reason}, format="json", **extra)


def test_an_unused_voucher_is_revoked_with_its_reason(api, ten_off, member):
    voucher = issue(ten_off, member)
    response = revoke(api, voucher.token, "sent by mistake")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "revoked" and body["revokeReason"] == "sent by mistake" and body["revokedAt"]
    assert body["refundReceiptId"] is None
    assert [h["action"] for h in body["history"]] == ["issued", "revoked"]
    assert body["history"][1]["reason"] == "sent by mistake"
    assert AuditEntry.objects.filter(action="voucher.revoked", object_id=str(voucher.pk)).exists()
    assert Event.objects.get(type="voucher.revoked").membership_number == member.number
    assert VoucherStock.objects.get(voucher_type=ten_off).issued == 0  # its place in the stock is free again


def test_revoking_a_bought_voucher_refunds_its_points_and_keeps_the_ledger_consistent(
    api, coffee, member, earn, ledger_program
):
    earn(member, 10000)
    bought = api.post(f"{BASE}/coffee/issue", {"recipient": member.number}, format="json").json()
    assert balance_of(member, ledger_program.points).balance == 7500
    body = revoke(api, bought["token"]).json()
    assert body["status"] == "revoked" and body["refundReceiptId"].startswith("V")
    refund = Booking.objects.get(receipt_id=body["refundReceiptId"])
    assert refund.kind == "reversal" and refund.reverses.receipt_id == bought["receiptId"]
    assert balance_of(member, ledger_program.points).balance == 10000
    assert Event.objects.get(type="voucher.revoked").payload["points_refunded"] == "25.00"
    assert verify() == []


def test_a_used_voucher_cannot_be_revoked(api, make_type, coffee, member, earn, system_actor):
    single = issue(make_type(key="single"), member)
    convert_voucher(token=single.token, membership=member, actor=system_actor)
    partly = issue(make_type(key="multi", uses_per_voucher=3), member)
    convert_voucher(token=partly.token, membership=member, actor=system_actor)
    before = counts()
    assert_refused(revoke(api, single.token), 409, "voucher_used")
    assert_refused(revoke(api, partly.token), 409, "voucher_used")
    assert counts() == before


def test_a_revoked_voucher_is_not_revoked_twice_nor_refunded_twice(api, coffee, member, earn, ledger_program):
    earn(member, 10000)
    token = api.post(f"{BASE}/coffee/issue", {"recipient": member.number}, format="json").json()["token"]
    assert revoke(api, token).status_code == 200
    before = counts()
    assert_refused(revoke(api, token), 409, "voucher_revoked")
    assert counts() == before
    assert balance_of(member, ledger_program.points).balance == 10000


def test_an_expired_voucher_cannot_be_revoked(api, ten_off):
    voucher = issue(ten_off)
    with time_machine.travel(timezone.now() + timedelta(days=31)):
        assert_refused(revoke(api, voucher.token), 409, "voucher_expired")


@pytest.mark.parametrize(("reason", "code"), [("", "validation_error"), ("   ", "validation_error")])
def test_a_revocation_needs_a_reason(api, ten_off, reason, code):
    voucher = issue(ten_off)
    before = counts()
    assert_refused(revoke(api, voucher.token, reason), 400, code)
    assert counts() == before


def test_the_service_refuses_a_blank_reason_too(ten_off, system_actor):
    voucher = issue(ten_off)
    with pytest.raises(ReasonRequired):
        revoke_voucher(voucher=voucher, reason="  ", actor=system_actor)


def test_an_unknown_code_is_404(api, ledger_program):
    assert_refused(revoke(api, "NOPE2345NOPE"), 404, "voucher_not_found")


def test_a_repeated_revocation_with_the_same_idempotency_key_answers_alike(api, coffee, member, earn):
    earn(member, 10000)
    token = api.post(f"{BASE}/coffee/issue", {"recipient": member.number}, format="json").json()["token"]
    first = revoke(api, token, HTTP_IDEMPOTENCY_KEY="rv-1")
    again = revoke(api, token, HTTP_IDEMPOTENCY_KEY="rv-1")
    assert first.status_code == again.status_code == 200 and first.json() == again.json()
    assert Booking.objects.filter(kind="reversal").count() == 1


def test_a_revoke_naming_the_recipient_takes_only_their_voucher(api, ten_off, member, make_member):
    other = make_member()
    voucher = issue(ten_off, member)
    before = counts()
    refused = api.post(
        f"{BASE}/{voucher.token}/revoke", {"reason": "mistake", "recipient": other.number}, format="json"
    )
    assert_refused(refused, 409, "wrong_recipient")
    assert counts() == before  # nothing revoked
    missing = api.post(f"{BASE}/{voucher.token}/revoke", {"reason": "mistake", "recipient": "nobody"}, format="json")
    assert_refused(missing, 404, "membership_not_found")
    done = api.post(f"{BASE}/{voucher.token}/revoke", {"reason": "mistake", "recipient": member.number}, format="json")
    assert done.status_code == 200 and done.json()["status"] == "revoked"
