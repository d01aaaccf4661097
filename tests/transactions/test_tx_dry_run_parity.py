"""POST /tx without a txId (a dry run) answers as the same body with a fresh txId (a booking) does: the
same refusal with the same status, code and field errors, or, for a booking it would make, the same
points, rewards and traces. Random requests over member states, keys, dates, channels, sponsors,
currencies, receipts, baskets, program settings and capped or voucher-issuing promotions; each
pair runs on the same stored state, and the bookings change that state for the next pairs."""

import itertools
import os
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.models import PointType
from ledger.services import EarnLine, earn_points
from loyalty.models import Program, Sponsor
from memberships.services import (
    block_membership,
    cancel_membership,
    create_anonymous_membership,
    enroll_membership,
    merge_memberships,
)
from promotions.services import save_promotion
from tests.promotions.conftest import ACTOR, assert_refused, purchase
from tests.vouchers.factories import VoucherTypeFactory
from transactions.models import Transaction

EXAMPLES = 400 if os.environ.get("HYPOTHESIS_PROFILE") == "ci" else 100

PROMOTIONS = {
    "capped": {
        "pointType": "points",
        "effects": [{"type": "perAmount", "points": "1", "per": "1", "lines": "all"}],
        "caps": {"perTransaction": "10", "perMember": [{"period": "day", "points": "15"}], "budget": "60"},
    },
    "consumers": {
        "pointType": "points",
        "scope": {"membershipTypes": ["consumer"]},
        "effects": [{"type": "fixed", "points": "3"}],
    },
    "anonymous-bonus": {
        "pointType": "points",
        "condition": {"fact": "member.status", "op": "eq", "value": "anonymous"},
        "effects": [{"type": "fixed", "points": "1"}],
    },
    "new-members": {
        "pointType": "points",
        "condition": {"fact": "member.daysSinceEnrollment", "op": "lte", "value": "0"},
        "effects": [{"type": "fixed", "points": "2"}],
    },
    "welcome-voucher": {
        "pointType": "points",
        "condition": {"fact": "tx.totalAmount", "op": "gte", "value": "20"},
        "effects": [{"type": "issueVoucher", "voucherType": "welcome"}],
    },
}

PRODUCTS = {"COF-001": Decimal("6.49"), "TEA-001": Decimal("2.89"), "NOT-IN-CATALOG": Decimal("4.00")}
_fresh = itertools.count(1)


@pytest.fixture
def world(tx_program):
    """Memberships in every state, a second (inactive) sponsor, a receipt only the ledger knows, and
    promotions with caps, a membership type scope, member facts and a voucher."""
    VoucherTypeFactory(key="welcome", stock=3)
    for key, definition in PROMOTIONS.items():
        save_promotion(key=key, name=key, definition=definition, actor=ACTOR)
    Sponsor.objects.create(key="fuel", name="Fuel", active=False)

    def enroll(name, **kwargs):
        return enroll_membership(
            actor=ACTOR, first_name="Parity", last_name=name, email=f"{name}@example.com", **kwargs
        )

    active = enroll("active", card_number="ACTIVE-CARD-1")
    cancelled = enroll("cancelled", card_number="CANCELLED-CARD-1")
    cancel_membership(membership=cancelled, reason="moved away", actor=ACTOR)
    blocked = enroll("blocked")
    block_membership(membership=blocked, actor=ACTOR, reason="dispute")
    merged, survivor = enroll("merged"), enroll("survivor")
    merge_memberships(source=merged, target=survivor, actor=ACTOR)
    anonymous = create_anonymous_membership(card_number="ANON-CARD-1", actor=ACTOR)
    earn_points(
        membership=active,
        sponsor=Sponsor.objects.get(key="northwind"),
        lines=[EarnLine(PointType.objects.get(key="points"), 100)],
        receipt_id="LEDGER-ONLY",
        actor=ACTOR,
    )
    return {
        "keys": [
            active.number,
            "ACTIVE-CARD-1",
            cancelled.number,
            "CANCELLED-CARD-1",  # deactivated by the cancellation
            blocked.number,
            merged.number,  # leads to the survivor
            anonymous.number,
            "ANON-CARD-1",
            "NEW-CARD-",  # a new card each time (with a number appended)
            "NEW-CARD-1",  # the same new card every time: made anonymous by its first booking
            "not a card!",
            "",
        ],
        "receipts": ["LEDGER-ONLY"],  # the receipts of earlier bookings are added as they happen
    }


def lines():
    line = st.tuples(
        st.sampled_from(sorted(PRODUCTS)),
        st.sampled_from([Decimal("1"), Decimal("2"), Decimal("0.5"), Decimal("3")]),
        st.sampled_from(["full", "full", "full", "discount", "discount", "above"]),
    )
    return st.lists(line, min_size=1, max_size=3)


def occurred():
    return st.sampled_from(
        [
            *[timedelta(minutes=-1)] * 10,
            timedelta(days=-200),
            timedelta(days=-364),  # within TX_MAX_AGE_DAYS (365)
            timedelta(days=-400),
            timedelta(minutes=2),  # within the clock tolerance
            timedelta(hours=1),
            timedelta(days=3650),
            "0001-01-01T00:00:00+00:00",  # an unset clock (and out of the calendar west of UTC)
            "1970-01-01T00:00:00+00:00",
            "1999-12-31T23:59:59+00:00",
        ]
    )


@st.composite
def requests(draw, world):
    items = []
    for product, quantity, pricing in draw(lines()):
        price = PRODUCTS[product]
        full = (quantity * price).quantize(Decimal("0.01"))
        amount = {"full": full, "discount": full - Decimal("0.50"), "above": full + Decimal("1.00")}[pricing]
        items.append({"productKey": product, "quantity": str(quantity), "unitPrice": str(price), "amount": str(amount)})
    key = draw(st.sampled_from(world["keys"]))
    if key == "NEW-CARD-":
        key += str(next(_fresh))
    body = purchase(key, items=items)
    when = draw(occurred())
    body["occurredAt"] = when if isinstance(when, str) else (timezone.now() + when).isoformat()
    body["channel"] = draw(st.sampled_from(["webshop"] * 4 + ["store-amsterdam", "nowhere"]))
    body["currency"] = draw(st.sampled_from(["EUR"] * 6 + ["USD"]))
    if draw(st.integers(0, 5)) == 0:
        body["totalAmount"] = str(Decimal(body["totalAmount"]) + Decimal("1.00"))
    sponsor = draw(st.sampled_from([None, None, None, "northwind", "fuel", "nobody"]))
    if sponsor:
        body["sponsor"] = sponsor
    if draw(st.integers(0, 3)) == 0:  # a receipt booked before (picked when the example runs)
        body["receiptId"] = draw(st.integers(0, 1000))
    settings_ = {
        "time_zone": draw(st.sampled_from(["Europe/Amsterdam", "America/New_York", "Pacific/Kiritimati"])),
        "anonymous_on_unknown_card": draw(st.booleans()),
        "unknown_products": draw(st.sampled_from(["earn", "ignore"])),
    }
    return body, settings_


def outcome(response) -> tuple:
    """What both paths must agree on: the refusal, or the answer without what only a booking has
    (txId and booked; a voucher's token or refusal; the number of a membership the booking made)."""
    body = response.json()
    assert response.status_code < 500, body
    if response.status_code >= 400:
        return response.status_code, body["code"], sorted((e["field"], e["code"]) for e in body["errors"])
    assert response.status_code in (200, 201), body
    for reward in body["rewards"]:
        reward["vouchers"] = [v["voucherType"] for v in reward["vouchers"]]
    return "ok", {k: v for k, v in body.items() if k not in ("txId", "booked", "membershipNumber")}


def test_a_dry_run_answers_as_the_booking_of_the_same_request(api, world):
    seen = {"booked": 0, "refused": set()}

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(requests(world))
    def check(example):
        body, program = example
        if isinstance(body["receiptId"], int):
            body["receiptId"] = world["receipts"][body["receiptId"] % len(world["receipts"])]
        Program.objects.update(**program)
        dry = api.post("/api/v1/tx", body, format="json")
        booked = api.post("/api/v1/tx", {**body, "txId": f"PARITY-{next(_fresh)}"}, format="json")
        assert dry.status_code != 201 and booked.status_code != 200
        assert outcome(dry) == outcome(booked), (body, program, dry.json(), booked.json())
        if booked.status_code == 201:
            seen["booked"] += 1
            world["receipts"].append(body["receiptId"])
            assert dry.json()["booked"] is False and dry.json()["txId"] is None
            if dry.json()["membershipNumber"]:
                assert dry.json()["membershipNumber"] == booked.json()["membershipNumber"]
        else:
            seen["refused"].add(booked.json()["code"])

    check()
    # The run met bookings and every kind of refusal the booking path gives.
    assert seen["booked"] >= 5
    assert seen["refused"] >= {
        "membership_not_active",
        "membership_not_found",
        "occurred_in_future",
        "occurred_too_early",
        "unknown_channel",
        "unknown_sponsor",
        "wrong_currency",
        "items_do_not_add_up",
        "receipt_already_booked",
    }, sorted(seen["refused"])


def test_a_dry_run_refuses_a_cancelled_member_as_the_booking_does(api, member):
    cancel_membership(membership=member, reason="moved away", actor=ACTOR)
    body = purchase(member)
    dry = assert_refused(api.post("/api/v1/tx", body, format="json"), 409, "membership_not_active")
    booking = api.post("/api/v1/tx", {**body, "txId": "T-c"}, format="json")
    assert assert_refused(booking, 409, "membership_not_active") == dry


def test_a_dry_run_refuses_a_receipt_the_sponsor_already_booked(api, member):
    body = purchase(member, receipt_id="R-dup")
    assert api.post("/api/v1/tx", {**body, "txId": "T-first"}, format="json").status_code == 201
    assert_refused(api.post("/api/v1/tx", body, format="json"), 409, "receipt_already_booked")
    assert_refused(api.post("/api/v1/tx", {**body, "txId": "T-second"}, format="json"), 409, "receipt_already_booked")
    assert Transaction.objects.count() == 1


def test_a_dry_run_for_a_new_card_evaluates_the_anonymous_membership_a_booking_would_make(api, tx_program):
    """The member facts are those of the membership the booking makes (the default membership type,
    enrolled today), not of nobody; the answer has no membership number, as none exists yet."""
    Program.objects.update(anonymous_on_unknown_card=True)
    save_promotion(key="consumers", name="Consumers", definition=PROMOTIONS["consumers"], actor=ACTOR)
    body = purchase("FRESH-CARD-1")
    dry = api.post("/api/v1/tx", body, format="json")
    assert dry.status_code == 200, dry.content
    assert dry.json()["membershipNumber"] == ""
    assert "consumers" in {r["promotion"] for r in dry.json()["rewards"]}
    assert not Transaction.objects.exists()
    booked = api.post("/api/v1/tx", {**body, "txId": "T-new-card"}, format="json")
    assert outcome(dry) == outcome(booked)


def _days_ago(days: float) -> str:
    return (timezone.now() - timedelta(days=days)).isoformat()


@pytest.mark.parametrize(
    ("occurred_at", "status", "code"),
    [
        ("0001-01-01T00:00:00+00:00", 400, "occurred_too_early"),
        ("1999-12-31T23:59:59+00:00", 400, "occurred_too_early"),
        (lambda: _days_ago(365.01), 400, "occurred_too_early"),
        (lambda: _days_ago(364.99), None, None),
    ],
)
def test_a_purchase_older_than_tx_max_age_days_is_refused_by_both_paths(api, member, occurred_at, status, code):
    """TX_MAX_AGE_DAYS (365) back and no further, even where the program's time zone is west of UTC, where
    year 1 left the calendar (a 500 once)."""
    Program.objects.update(time_zone="America/New_York")
    when = occurred_at() if callable(occurred_at) else occurred_at
    body = {**purchase(member), "occurredAt": when}
    dry, booking = (
        api.post("/api/v1/tx", body, format="json"),
        api.post("/api/v1/tx", {**body, "txId": "T-old"}, format="json"),
    )
    if code is None:
        assert (dry.status_code, booking.status_code) == (200, 201), (dry.content, booking.content)
        return
    refusal = assert_refused(dry, status, code)
    assert refusal["errors"] == [{"field": "occurredAt", "code": "too_early", "message": refusal["detail"]}]
    assert "more than 365 days back" in refusal["detail"]
    refused = assert_refused(booking, status, code)
    # the same refusal; the cut-off in the words is "now" less the days, so the two may differ by a second
    assert [(e["field"], e["code"]) for e in refused["errors"]] == [("occurredAt", "too_early")]
    assert "more than 365 days back" in refused["detail"]
    assert not Transaction.objects.exists()


def test_the_earliest_purchase_follows_the_setting(api, member, settings):
    settings.TX_MAX_AGE_DAYS = 30
    body = {**purchase(member), "occurredAt": _days_ago(31)}
    assert_refused(api.post("/api/v1/tx", body, format="json"), 400, "occurred_too_early")
    assert_refused(api.post("/api/v1/tx", {**body, "txId": "T-31"}, format="json"), 400, "occurred_too_early")
    body["occurredAt"] = _days_ago(29)
    assert api.post("/api/v1/tx", {**body, "txId": "T-29"}, format="json").status_code == 201


def test_a_tx_id_of_null_is_a_dry_run_as_the_answers_say(api, member):
    """An answer says `txId: null` for a dry run; sent back, null means what leaving it out means."""
    body = purchase(member)
    first = api.post("/api/v1/tx", body, format="json")
    assert first.status_code == 200 and first.json()["txId"] is None
    again = api.post("/api/v1/tx", {**body, "txId": first.json()["txId"]}, format="json")
    assert again.status_code == 200, again.content
    assert again.json() == first.json()
    assert not Transaction.objects.exists()
    assert_refused(api.post("/api/v1/tx", {**body, "txId": ""}, format="json"), 400, "validation_error")
