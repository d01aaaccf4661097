"""POST /voucher/{token}/convert: every rule, with its own refusal code."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from loyalty.models import AuditEntry, Event
from memberships.services import cancel_membership
from tests.ledger.conftest import ACTOR
from tests.vouchers.conftest import BASE, assert_refused, counts
from tests.vouchers.factories import issue
from vouchers.models import Conversion
from vouchers.services import revoke_voucher

pytestmark = pytest.mark.django_db


def convert(api, token, body=None, **extra):
    return api.post(f"{BASE}/{token}/convert", body or {}, format="json", **extra)


def test_a_single_use_voucher_is_converted_once_and_records_where(api, ten_off, member):
    voucher = issue(ten_off, member)
    response = convert(api, voucher.token, {"membershipKey": member.number, "channel": "web", "reference": "tx-1"})
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "converted" and body["usesLeft"] == 0
    assert [h["action"] for h in body["history"]] == ["issued", "converted"]
    used = body["history"][1]
    assert used["channel"] == "web" and used["reference"] == "tx-1" and used["membership"] == member.number
    conversion = Conversion.objects.get()
    assert conversion.voucher == voucher and conversion.membership == member and conversion.channel == "web"
    assert AuditEntry.objects.filter(action="voucher.converted", object_id=str(voucher.pk)).exists()
    event = Event.objects.get(type="voucher.converted")
    assert event.membership_number == member.number and event.payload["token"] == voucher.token

    before = counts()
    assert_refused(convert(api, voucher.token, {"membershipKey": member.number}), 409, "voucher_used")
    assert counts() == before


def test_a_multi_use_voucher_counts_down_its_uses(api, make_type):
    voucher = issue(make_type(key="three", uses_per_voucher=3))
    assert [convert(api, voucher.token).json()["usesLeft"] for _ in range(3)] == [2, 1, 0]
    assert convert(api, voucher.token).json()["code"] == "voucher_used"
    assert api.get(f"{BASE}/{voucher.token}/info").json()["status"] == "converted"


def test_a_voucher_without_recipient_converts_for_any_member_or_none(api, ten_off, make_member):
    anyone = issue(ten_off)
    assert convert(api, anyone.token, {"membershipKey": make_member().number}).status_code == 200
    assert convert(api, issue(ten_off).token).status_code == 200


def test_the_code_is_read_case_insensitively(api, ten_off):
    voucher = issue(ten_off)
    assert convert(api, f" {voucher.token.lower()} ").status_code == 200


def test_a_revoked_voucher_is_refused(api, ten_off):
    voucher = issue(ten_off)
    revoke_voucher(voucher=voucher, reason="test", actor=ACTOR)
    before = counts()
    assert_refused(convert(api, voucher.token), 409, "voucher_revoked")
    assert counts() == before


def test_an_expired_voucher_is_refused_before_and_after_the_expiry_job(api, ten_off):
    voucher = issue(ten_off)
    with time_machine.travel(timezone.now() + timedelta(days=31)):
        before = counts()
        assert_refused(convert(api, voucher.token), 409, "voucher_expired")
        assert counts() == before
        from vouchers.services import expire_vouchers

        assert expire_vouchers(actor=ACTOR) == 1
        assert_refused(convert(api, voucher.token), 409, "voucher_expired")


def test_a_voucher_is_refused_before_its_start(api, make_type):
    voucher = issue(make_type(key="later", valid_from=timezone.now() + timedelta(days=2)))
    before = counts()
    assert_refused(convert(api, voucher.token), 409, "voucher_not_yet_valid")
    assert counts() == before
    with time_machine.travel(timezone.now() + timedelta(days=3)):
        assert convert(api, voucher.token).status_code == 200


@pytest.mark.parametrize("who", ["nobody", "other"])
def test_a_members_voucher_is_refused_for_anyone_else(api, ten_off, member, make_member, who):
    voucher = issue(ten_off, member)
    body = {} if who == "nobody" else {"membershipKey": make_member().number}
    before = counts()
    assert_refused(convert(api, voucher.token, body), 409, "wrong_recipient")
    assert counts() == before


def test_the_recipient_may_name_themselves_by_card(api, ten_off, make_member):
    member = make_member(card_number="6000000000002")
    voucher = issue(ten_off, member)
    assert convert(api, voucher.token, {"membershipKey": "6000000000002"}).status_code == 200


@pytest.mark.parametrize(("channel", "ok"), [("web", True), ("store-berlin", True), ("app", False), ("", False)])
def test_only_the_allowed_channels_convert(api, make_type, channel, ok):
    voucher = issue(make_type(key="web-only", channels=["web", "store-berlin"]))
    before = counts()
    response = convert(api, voucher.token, {"channel": channel})
    if ok:
        assert response.status_code == 200
    else:
        assert_refused(response, 409, "channel_not_allowed")
        assert counts() == before


def test_a_cancelled_member_cannot_convert(api, ten_off, member):
    voucher = issue(ten_off, member)
    cancel_membership(membership=member, reason="moved away", actor=ACTOR)
    assert_refused(convert(api, voucher.token, {"membershipKey": member.number}), 409, "membership_not_active")


@pytest.mark.parametrize(
    ("token", "body", "status", "code"),
    [
        ("NOPE2345NOPE", {}, 404, "voucher_not_found"),
        ("NUL%00BYTE", {}, 404, "voucher_not_found"),
        ("X" * 300, {}, 404, "voucher_not_found"),
        ("TOKEN", {"membershipKey": "0000000000"}, 404, "membership_not_found"),
        ("TOKEN", {"chanel": "web"}, 400, "validation_error"),
        ("TOKEN", {"channel": "x" * 41}, 400, "validation_error"),
    ],
)
def test_bad_conversions_are_refused_and_write_nothing(api, ten_off, token, body, status, code):
    voucher = issue(ten_off)
    before = counts()
    assert_refused(convert(api, voucher.token if token == "TOKEN" else token, body), status, code)
    assert counts() == before


def test_a_repeated_conversion_with_the_same_idempotency_key_uses_the_voucher_once(api, make_type):
    voucher = issue(make_type(key="two", uses_per_voucher=2))
    first = convert(api, voucher.token, {"reference": "tx-9"}, HTTP_IDEMPOTENCY_KEY="till-42")
    again = convert(api, voucher.token, {"reference": "tx-9"}, HTTP_IDEMPOTENCY_KEY="till-42")
    assert first.status_code == again.status_code == 200 and first.json() == again.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Conversion.objects.count() == 1 and first.json()["usesLeft"] == 1
    assert convert(api, voucher.token, HTTP_IDEMPOTENCY_KEY="till-43").json()["usesLeft"] == 0
