"""register_vouchers / register_voucher: codes made elsewhere (a partner, a printer) stored as
vouchers with the rules, stock, audit and events of an issue, each bad code refused with its code."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from ledger.models import Booking
from loyalty.models import AuditEntry, Event
from memberships.services import cancel_membership
from tests.ledger.conftest import ACTOR
from tests.vouchers.conftest import BASE, counts
from tests.vouchers.factories import issue
from vouchers.codes import given_code_problem
from vouchers.errors import InvalidVoucherCode, VoucherCodeTaken, VoucherTypeEnded, VoucherTypeInactive
from vouchers.models import IssueBatch, Voucher, VoucherStock
from vouchers.services import GivenCode, register_voucher, register_vouchers

pytestmark = pytest.mark.django_db


def register(voucher_type, *codes, **kwargs):
    given = [c if isinstance(c, GivenCode) else GivenCode(c) for c in codes]
    return register_vouchers(voucher_type=voucher_type, codes=given, actor=ACTOR, **kwargs)


def refusals(result) -> dict[int, str]:
    return {i: exc.code for i, exc in result.refused.items()}


def test_codes_made_elsewhere_are_stored_in_upper_case_with_the_types_rules(ten_off, member):
    result = register(
        ten_off,
        GivenCode(" flyer-7k3f-9qx2 ", recipient=member, reference="flyer-june"),
        "FLYER-0O1I-L000",  # look-alikes are the printer's choice: kept as given
        reference="printer-file-3",
    )
    assert result.refused == {} and result.count == 2
    first, second = result.vouchers
    assert first.token == "FLYER-7K3F-9QX2" and second.token == "FLYER-0O1I-L000"
    assert first.recipient == member and second.recipient is None
    assert first.reference == "flyer-june" and second.reference == "printer-file-3"
    assert first.source == second.source == "import" and first.status == "issued" and first.uses_left == 1
    assert first.valid_until - first.valid_from == timedelta(days=30)  # the type's 30 days
    assert first.batch == second.batch == result.batch and result.batch.count == 2
    assert first.points_paid == 0 and first.receipt_id == ""
    assert VoucherStock.objects.get(pk=ten_off.pk).issued == 2

    # As an issue: an audit entry and a voucher.issued event per recipient (the unassigned ones together).
    events = {e.membership_number: e.payload for e in Event.objects.filter(type="voucher.issued")}
    assert events[member.number]["tokens"] == ["FLYER-7K3F-9QX2"] and events[member.number]["count"] == 1
    assert events[member.number]["given_codes"] is True and events[member.number]["reference"] == "flyer-june"
    assert events[""]["tokens"] == ["FLYER-0O1I-L000"] and events[""]["batch"] == result.batch.pk
    assert AuditEntry.objects.filter(action="voucher.issued", actor_label=ACTOR.label).count() == 2


def test_a_stored_code_is_found_and_converted_case_insensitively(api, ten_off):
    register_voucher(voucher_type=ten_off, code="PARTNER-CODE-0001", actor=ACTOR)
    response = api.post(f"{BASE}/partner-code-0001/convert", {}, format="json")
    assert response.status_code == 200, response.json()
    assert Voucher.objects.get(token="PARTNER-CODE-0001").status == "converted"


@pytest.mark.parametrize(
    "code",
    ["SHORT7", "WITH SPACE 123", "UNDER_SCORE_123", "-LEADINGDASH1", "TRAILINGDASH1-", "X" * 65, "ÄÖÜ12345678", ""],
)
def test_a_code_that_does_not_look_like_a_code_is_refused(ten_off, code):
    before = counts()
    with pytest.raises(InvalidVoucherCode) as refused:
        register_voucher(voucher_type=ten_off, code=code, actor=ACTOR)
    assert refused.value.code == "invalid_voucher_code" and refused.value.detail
    assert counts() == before


def test_the_code_rules_are_the_codes_modules():
    assert given_code_problem("ABCD-1234") == ""
    assert "at least 8" in given_code_problem("AB-CD-12")
    assert "letters, digits" in given_code_problem("abcd1234")  # callers normalize first


def test_a_code_already_stored_or_given_twice_is_refused_and_the_others_are_stored(ten_off, make_type):
    drawn = issue(make_type(key="other"))  # codes are unique across all types
    register(ten_off, "IMPORTED-0000001")
    result = register(
        ten_off,
        "imported-0000001",  # stored before (the case does not matter)
        drawn.token.lower(),
        "NEW-CODE-0000001",
        "new-code-0000001",  # twice in this call: the first wins
        "NEW-CODE-0000002",
    )
    assert refusals(result) == {0: "voucher_code_taken", 1: "voucher_code_taken", 3: "voucher_code_taken"}
    assert result.tokens == ["NEW-CODE-0000001", "NEW-CODE-0000002"]
    assert [v is not None for v in result.vouchers] == [False, False, True, False, True]
    assert "position 3" in result.refused[3].detail
    with pytest.raises(VoucherCodeTaken):
        register_voucher(voucher_type=ten_off, code="NEW-CODE-0000002", actor=ACTOR)
    assert Voucher.objects.filter(voucher_type=ten_off).count() == 3


def test_given_dates_must_fit_the_types_window(make_type):
    now = timezone.now()
    window = make_type(key="summer", valid_from=now - timedelta(days=10), valid_until=now + timedelta(days=60))
    window.valid_days = None
    window.save()
    result = register(
        window,
        GivenCode("DATES-OK-000001", valid_from=now - timedelta(days=5), valid_until=now + timedelta(days=20)),
        GivenCode("DATES-OK-000002"),  # the type's window
        GivenCode("EARLY-START-0001", valid_from=now - timedelta(days=11)),
        GivenCode("LATE-END-000001", valid_until=now + timedelta(days=61)),
        GivenCode("BACKWARDS-00001", valid_from=now + timedelta(days=5), valid_until=now + timedelta(days=4)),
        GivenCode("ENDED-00000001", valid_from=now - timedelta(days=5), valid_until=now - timedelta(days=1)),
    )
    assert refusals(result) == {
        2: "invalid_validity",
        3: "invalid_validity",
        4: "invalid_validity",
        5: "invalid_validity",
    }
    given, default = result.stored
    assert given.valid_until == now + timedelta(days=20) and given.valid_from == now - timedelta(days=5)
    assert default.valid_until == window.valid_until and default.valid_from >= now


def test_a_given_end_may_not_pass_the_types_days(ten_off):
    start = datetime(2030, 1, 1, tzinfo=UTC)
    result = register(
        ten_off,
        GivenCode("DAYS-OK-0000001", valid_from=start),
        GivenCode("DAYS-LONG-000001", valid_from=start, valid_until=start + timedelta(days=31)),
    )
    assert refusals(result) == {1: "invalid_validity"}
    assert result.stored[0].valid_until == start + timedelta(days=30)


def test_stock_and_the_per_member_limit_hold_for_imported_codes(make_type, member, make_member):
    limited = make_type(key="limited", stock=3, limit_per_member=1)
    issue(limited)
    other = make_member()
    result = register(
        limited,
        GivenCode("LIMIT-000000001", recipient=member),
        GivenCode("LIMIT-000000002", recipient=member),  # the member's second
        GivenCode("LIMIT-000000003", recipient=other),
        GivenCode("LIMIT-000000004"),  # stock: 1 issued + 2 stored = 3
    )
    assert refusals(result) == {1: "member_limit_reached", 3: "out_of_stock"}
    assert VoucherStock.objects.get(pk=limited.pk).issued == 3


def test_a_recipient_who_cannot_hold_vouchers_is_refused_per_code(ten_off, member, make_member):
    gone = make_member()
    cancel_membership(membership=gone, reason="moved away", actor=ACTOR)
    result = register(ten_off, GivenCode("HOLDER-00000001", recipient=gone), GivenCode("HOLDER-00000002", member))
    assert refusals(result) == {0: "membership_not_active"} and result.tokens == ["HOLDER-00000002"]


def test_an_inactive_or_ended_type_refuses_the_whole_call_and_stores_nothing(make_type):
    inactive = make_type(key="off", active=False)
    ended = make_type(key="ended", valid_until=timezone.now() - timedelta(days=1))
    before = counts()
    with pytest.raises(VoucherTypeInactive):
        register(inactive, "INACTIVE-000001")
    with pytest.raises(VoucherTypeEnded):
        register(ended, "ENDED-TYPE-00001")
    assert counts() == before


def test_a_call_where_every_code_is_refused_writes_nothing(ten_off):
    before = counts()
    result = register(ten_off, "BAD", "ALSO BAD")
    assert refusals(result) == {0: "invalid_voucher_code", 1: "invalid_voucher_code"} and result.count == 0
    assert counts() == before


def test_imported_vouchers_of_a_priced_type_are_free(coffee, member):
    voucher = register_voucher(voucher_type=coffee, code="FREE-COFFEE-0001", recipient=member, actor=ACTOR)
    assert voucher.points_paid == 0 and voucher.receipt_id == "" and not Booking.objects.exists()


def test_a_single_code_makes_no_batch(ten_off):
    register_voucher(voucher_type=ten_off, code="SINGLE-00000001", actor=ACTOR)
    assert not IssueBatch.objects.exists()


def test_a_code_stored_concurrently_after_the_check_is_refused_and_the_rest_stored(ten_off, monkeypatch):
    """The unique index is the last word: a code another registration stored between our check and
    our insert fails its chunk's savepoint, and the chunk goes again without it."""
    from vouchers.services import register as module

    register(ten_off, "RACED-000000001")
    real = module._taken
    calls = []

    def blind_first(tokens):  # the first check runs before the other registration commits
        calls.append(list(tokens))
        return set() if len(calls) == 1 else real(tokens)

    monkeypatch.setattr(module, "_taken", blind_first)
    result = register(ten_off, "RACED-000000002", "raced-000000001", "RACED-000000003")
    assert refusals(result) == {1: "voucher_code_taken"}
    assert result.tokens == ["RACED-000000002", "RACED-000000003"] and result.batch.count == 2
    assert VoucherStock.objects.get(pk=ten_off.pk).issued == 3
    assert Event.objects.filter(type="voucher.issued").last().payload["count"] == 2
