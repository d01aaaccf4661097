"""The services other apps call: the promotion effect and its return, expiry, and membership merges."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from ledger.selectors import balance_of
from ledger.verify import verify
from loyalty.models import AuditEntry, Event
from memberships.services import merge_memberships
from tests.ledger.conftest import ACTOR
from tests.vouchers.conftest import BASE
from tests.vouchers.factories import issue
from vouchers.errors import InvalidVoucherType
from vouchers.models import Voucher, VoucherType
from vouchers.services import (
    convert_voucher,
    expire_vouchers,
    issue_promotion_voucher,
    revoke_transaction_vouchers,
    update_voucher_type,
)
from vouchers.tasks import expire_vouchers as expire_task

pytestmark = pytest.mark.django_db


# Voucher types ---------------------------------------------------------------------------------


def test_a_type_change_is_audited_and_leaves_issued_vouchers_as_they_were(make_type, member):
    voucher_type = make_type(key="change", uses_per_voucher=1, valid_days=30)
    before = issue(voucher_type, member)
    update_voucher_type(voucher_type=voucher_type, actor=ACTOR, uses_per_voucher=3, valid_days=5, name="Renamed")
    assert AuditEntry.objects.filter(action="vouchertype.updated", object_id=str(voucher_type.pk)).exists()
    after = issue(voucher_type, member)
    before.refresh_from_db()
    assert (before.uses_total, after.uses_total) == (1, 3)
    assert before.valid_until - before.valid_from > after.valid_until - after.valid_from


def test_an_invalid_change_is_refused_with_the_field(make_type):
    voucher_type = make_type(key="strict")
    with pytest.raises(InvalidVoucherType) as refused:
        update_voucher_type(voucher_type=voucher_type, actor=ACTOR, code_length=6)
    assert {e["field"] for e in refused.value.errors} == {"code_length"}
    assert VoucherType.objects.get(pk=voucher_type.pk).code_length == 12


# The promotions engine's effect ---------------------------------------------------------------


def test_a_promotion_issues_a_free_voucher_once_per_transaction(make_type, coffee, member, earn, ledger_program):
    earn(member, 10000)
    first = issue_promotion_voucher(voucher_type="coffee", recipient=member, tx_id="tx-1", promotion="p1", actor=ACTOR)
    again = issue_promotion_voucher(voucher_type=coffee, recipient=member, tx_id="tx-1", promotion="p1", actor=ACTOR)
    assert first.voucher is not None and first.refused == "" and again.voucher.pk == first.voucher.pk
    assert first.voucher.source == "promotion:p1" and first.voucher.reference == "tx-1"
    assert first.voucher.points_paid == 0 and first.voucher.receipt_id == ""  # a gift, even of a priced type
    assert balance_of(member, ledger_program.points).balance == 10000
    other = issue_promotion_voucher(voucher_type=coffee, recipient=member, tx_id="tx-2", promotion="p1", actor=ACTOR)
    assert other.voucher.pk != first.voucher.pk


@pytest.mark.parametrize(
    ("type_fields", "code"),
    [({"stock": 0}, "out_of_stock"), ({"active": False}, "voucher_type_inactive"), (None, "voucher_type_not_found")],
)
def test_a_refused_promotion_voucher_is_an_answer_not_an_error(make_type, member, type_fields, code):
    voucher_type = make_type(key="gift", **type_fields) if type_fields is not None else "missing"
    before = (Voucher.objects.count(), AuditEntry.objects.count(), Event.objects.count())
    result = issue_promotion_voucher(
        voucher_type=voucher_type, recipient=member, tx_id="tx-1", promotion="p1", actor=ACTOR
    )
    assert result.voucher is None and result.refused == code and result.detail
    assert (Voucher.objects.count(), AuditEntry.objects.count(), Event.objects.count()) == before


def test_a_returned_transaction_takes_back_its_unused_vouchers_and_keeps_used_ones(make_type, member):
    gift = make_type(key="gift")
    other = make_type(key="other")
    unused = issue_promotion_voucher(voucher_type=gift, recipient=member, tx_id="tx-1", promotion="p1", actor=ACTOR)
    used = issue_promotion_voucher(voucher_type=other, recipient=member, tx_id="tx-1", promotion="p2", actor=ACTOR)
    unrelated = issue_promotion_voucher(voucher_type=gift, recipient=member, tx_id="tx-2", promotion="p1", actor=ACTOR)
    convert_voucher(token=used.voucher.token, membership=member, actor=ACTOR)

    result = revoke_transaction_vouchers(tx_id="tx-1", reason="transaction returned", actor=ACTOR)
    assert [v.pk for v in result.revoked] == [unused.voucher.pk]
    assert [(v.pk, code) for v, code in result.kept] == [(used.voucher.pk, "voucher_used")]
    unused.voucher.refresh_from_db()
    unrelated.voucher.refresh_from_db()
    assert unused.voucher.status == "revoked" and unused.voucher.revoke_reason == "transaction returned"
    assert unrelated.voucher.status == "issued"
    again = revoke_transaction_vouchers(tx_id="tx-1", reason="again", actor=ACTOR)
    assert again.revoked == [] and {code for _, code in again.kept} == {"voucher_used", "voucher_revoked"}


def test_vouchers_issued_through_the_api_are_not_taken_back_by_a_return(api, ten_off, member):
    api.post(f"{BASE}/ten-off/issue", {"recipient": member.number, "reference": "tx-1"}, format="json")
    assert revoke_transaction_vouchers(tx_id="tx-1", reason="returned", actor=ACTOR).revoked == []


# Expiry ---------------------------------------------------------------------------------------


def test_the_expiry_job_marks_due_vouchers_once_with_an_event_each(make_type, member):
    short = make_type(key="short", valid_days=1)
    long = make_type(key="long", valid_days=60)
    due = [issue(short, member), issue(short)]
    keep = issue(long, member)
    used = issue(short)
    convert_voucher(token=used.token, actor=ACTOR)
    with time_machine.travel(timezone.now() + timedelta(days=2)):
        assert expire_task.apply().get() == 2
        assert expire_vouchers(actor=ACTOR) == 0  # a second run finds nothing
    statuses = dict(Voucher.objects.values_list("token", "status"))
    assert {statuses[v.token] for v in due} == {"expired"}
    assert statuses[keep.token] == "issued" and statuses[used.token] == "converted"
    events = Event.objects.filter(type="voucher.expired")
    assert {e.payload["token"] for e in events} == {v.token for v in due}
    assert {e.membership_number for e in events} == {member.number, ""}
    assert AuditEntry.objects.filter(action="voucher.expired", actor_label="system:expire_vouchers").count() == 1
    assert Voucher.objects.get(token=due[0].token).expired_at is not None


def test_the_expiry_job_works_in_batches(make_type):
    short = make_type(key="short", valid_days=1)
    issue(short, count=7)
    with time_machine.travel(timezone.now() + timedelta(days=2)):
        assert expire_vouchers(actor=ACTOR, batch_size=3) == 7
    assert AuditEntry.objects.filter(action="voucher.expired").count() == 3


def test_run_job_knows_the_task_by_its_import_path():
    from celery.utils.imports import symbol_by_name

    assert symbol_by_name("vouchers.tasks.expire_vouchers").name == "vouchers.tasks.expire_vouchers"


# Merges ---------------------------------------------------------------------------------------


def test_a_merge_moves_the_source_members_vouchers_to_the_target(
    api, make_type, make_member, coffee, earn, ledger_program
):
    source, target = make_member(), make_member()
    earn(source, 10000)
    ten = make_type(key="ten")
    held = [issue(ten, source), issue(ten, source)]
    bought = issue(coffee, source)
    keep = issue(ten, target)
    merge_memberships(source=source, target=target, actor=ACTOR)
    assert set(Voucher.objects.filter(recipient=target).values_list("pk", flat=True)) == {
        v.pk for v in [*held, bought, keep]
    }
    assert not Voucher.objects.filter(recipient=source).exists()
    assert AuditEntry.objects.filter(action="vouchers.merged", object_id=str(target.pk)).exists()
    # The old number leads to the survivor, who may use the moved vouchers.
    response = api.post(f"{BASE}/{held[0].token}/convert", {"membershipKey": source.number}, format="json")
    assert response.status_code == 200 and response.json()["history"][-1]["membership"] == target.number
    # And revoking the bought one refunds the survivor, who now holds the points.
    assert balance_of(target, ledger_program.points).balance == 7500
    assert api.post(f"{BASE}/{bought.token}/revoke", {"reason": "r"}, format="json").status_code == 200
    assert balance_of(target, ledger_program.points).balance == 10000
    assert balance_of(source, ledger_program.points).balance == 0
    assert verify() == []


def test_a_merge_without_vouchers_records_nothing_for_them(make_member):
    merge_memberships(source=make_member(), target=make_member(), actor=ACTOR)
    assert not AuditEntry.objects.filter(action="vouchers.merged").exists()
