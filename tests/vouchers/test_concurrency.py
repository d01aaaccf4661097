"""Vouchers under real concurrency, on PostgreSQL with real threads: no oversell, one winner per
single use, points-paid issues that never overdraw, and no deadlocks between the lock orders."""

import time

import pytest
from django.db import connections, transaction
from rest_framework.test import APIClient

from ledger.errors import InsufficientPoints
from ledger.models import Booking
from ledger.selectors import balance_of
from ledger.services import redeem_points
from ledger.verify import verify
from loyalty.errors import DomainError
from memberships.services import merge_memberships
from tests.conftest import run_in_threads
from tests.ledger.conftest import ACTOR
from tests.vouchers.conftest import BASE
from tests.vouchers.factories import issue
from vouchers.models import Conversion, Voucher, VoucherStock
from vouchers.services import convert_voucher, issue_voucher, revoke_voucher

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def ledger_stays_consistent():
    yield
    assert verify() == []


@pytest.fixture
def raw_key(make_key):
    return make_key()


def client_for(raw_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw_key}")
    return client


def code_of(response) -> str:
    return "ok" if response.status_code in (200, 201) else response.json()["code"]


def test_the_last_item_of_stock_goes_to_exactly_one_of_many_callers(make_type, make_member, raw_key):
    voucher_type = make_type(key="last", stock=5)
    issue(voucher_type, count=4)
    members = [make_member() for _ in range(24)]

    def call(i):
        return code_of(client_for(raw_key).post(f"{BASE}/last/issue", {"recipient": members[i].number}, format="json"))

    results = run_in_threads(24, call)
    assert results.count("ok") == 1 and results.count("out_of_stock") == 23, results
    assert Voucher.objects.filter(voucher_type=voucher_type).count() == 5
    assert VoucherStock.objects.get(voucher_type=voucher_type).issued == 5


def test_bulk_issues_racing_for_the_stock_never_oversell(make_type):
    voucher_type = make_type(key="bulk", stock=100)

    def call(_):
        try:
            return issue_voucher(voucher_type=voucher_type, actor=ACTOR, count=15).count
        except DomainError as exc:
            return exc.code

    results = run_in_threads(10, call)
    assert results.count(15) == 6 and results.count("out_of_stock") == 4, results
    assert Voucher.objects.filter(voucher_type=voucher_type).count() == 90


def test_the_per_member_limit_holds_under_concurrent_issues(make_type, member, raw_key):
    make_type(key="twice", limit_per_member=2)

    def call(_):
        return code_of(client_for(raw_key).post(f"{BASE}/twice/issue", {"recipient": member.number}, format="json"))

    results = run_in_threads(12, call)
    assert results.count("ok") == 2 and results.count("member_limit_reached") == 10, results


def test_a_single_use_voucher_converted_by_twenty_callers_has_one_winner(make_type, member, raw_key):
    voucher = issue(make_type(key="once"), member)

    def call(i):
        response = client_for(raw_key).post(
            f"{BASE}/{voucher.token}/convert", {"membershipKey": member.number, "reference": f"tx-{i}"}, format="json"
        )
        return code_of(response)

    results = run_in_threads(20, call)
    assert results.count("ok") == 1 and results.count("voucher_used") == 19, results
    voucher.refresh_from_db()
    assert voucher.status == "converted" and voucher.uses_left == 0 and Conversion.objects.count() == 1


def test_a_multi_use_voucher_is_used_exactly_as_often_as_it_allows(make_type):
    voucher = issue(make_type(key="five", uses_per_voucher=5))

    def call(_):
        try:
            convert_voucher(token=voucher.token, actor=ACTOR)
            return "ok"
        except DomainError as exc:
            return exc.code

    results = run_in_threads(16, call)
    assert results.count("ok") == 5 and results.count("voucher_used") == 11, results
    assert Conversion.objects.filter(voucher=voucher).count() == 5


def test_a_conversion_without_the_row_lock_lets_several_win_negative_control(make_type):
    """The same race read-then-write without select_for_update: the test above can fail."""
    voucher = issue(make_type(key="naive"))

    def naive_convert(_):
        with transaction.atomic():
            current = Voucher.objects.get(pk=voucher.pk)  # read without a lock
            time.sleep(0.01)
            if current.uses_left > 0:
                Voucher.objects.filter(pk=voucher.pk).update(uses_left=current.uses_left - 1)
                return "ok"
        return "used"

    results = run_in_threads(12, naive_convert)
    assert results.count("ok") > 1, "no double use: the control proves nothing"


def test_points_paid_issues_racing_redemptions_never_overdraw_and_pay_for_every_voucher(
    coffee, member, earn, ledger_program, raw_key
):
    """Balance 100.00; coffee costs 25.00; six buy vouchers while six redeem 25.00 directly."""
    earn(member, 10000)

    def work(i):
        if i % 2:
            return code_of(
                client_for(raw_key).post(f"{BASE}/coffee/issue", {"recipient": member.number}, format="json")
            )
        try:
            redeem_points(
                membership=member,
                points=2500,
                point_type=ledger_program.points,
                sponsor=ledger_program.shop,
                actor=ACTOR,
            )
            return "ok"
        except InsufficientPoints:
            return "insufficient_points"

    results = run_in_threads(12, work)
    assert results.count("ok") == 4 and results.count("insufficient_points") == 8, results
    assert balance_of(member, ledger_program.points).balance == 0
    bought = list(Voucher.objects.filter(voucher_type=coffee))
    assert len(bought) == sum(1 for i, r in enumerate(results) if i % 2 and r == "ok")
    receipts = set(Booking.objects.filter(kind="redeem").values_list("receipt_id", flat=True))
    assert all(v.receipt_id in receipts and v.points_paid == 2500 for v in bought)
    assert Booking.objects.filter(kind="redeem").count() == 4  # no booking without its voucher


def test_revoke_racing_convert_lets_exactly_one_through(make_type, coffee, member, earn, ledger_program):
    earn(member, 25000)
    vouchers = [issue(coffee, member) for _ in range(10)]

    def work(i):
        voucher = vouchers[i // 2]
        try:
            if i % 2:
                revoke_voucher(voucher=voucher, reason="race", actor=ACTOR)
            else:
                convert_voucher(token=voucher.token, membership=member, actor=ACTOR)
            return "ok"
        except DomainError as exc:
            return exc.code

    results = run_in_threads(20, work)
    for index in range(10):
        pair = results[2 * index : 2 * index + 2]
        assert sorted(pair) in (["ok", "voucher_used"], ["ok", "voucher_revoked"]), pair
    revoked = Voucher.objects.filter(voucher_type=coffee, status="revoked").count()
    assert balance_of(member, ledger_program.points).balance == 25000 - 10 * 2500 + revoked * 2500
    assert Booking.objects.filter(kind="reversal").count() == revoked


def test_merges_racing_issues_and_revocations_do_not_deadlock(make_type, coffee, make_member, earn, ledger_program):
    pairs = [(make_member(), make_member()) for _ in range(4)]
    held = []
    for source, _ in pairs:
        earn(source, 10000)
        held += [issue(coffee, source), issue(coffee, source)]
    gift = make_type(key="gift")

    def work(i):
        try:
            if i < 4:
                source, target = pairs[i]
                merge_memberships(source=source, target=target, actor=ACTOR)
            elif i < 12:
                revoke_voucher(voucher=held[i - 4], reason="race", actor=ACTOR)
            else:
                issue_voucher(voucher_type=gift, recipient=pairs[i % 4][0], actor=ACTOR)
            return "ok"
        except DomainError as exc:
            return exc.code
        finally:
            connections.close_all()

    results = run_in_threads(16, work)
    assert not any(isinstance(r, Exception) for r in results), results
    assert results[:4] == ["ok"] * 4 and results[4:12] == ["ok"] * 8, results
    # A gift issued before its member was merged moved with the merge; one issued after went to the survivor.
    assert not Voucher.objects.filter(recipient__in=[s for s, _ in pairs]).exists()
    for _, target in pairs:
        assert balance_of(target, ledger_program.points).balance == 10000


def test_codes_registered_by_racing_imports_are_stored_once(make_type):
    """Eight imports of the same 20 codes, each under its own type (so no stock row serializes them):
    the unique index does, and every code ends up stored exactly once, the others refused."""
    from vouchers.services import GivenCode, register_vouchers

    types = [make_type(key=f"race-{i}") for i in range(8)]
    codes = [GivenCode(f"RACE-CODE-{n:06d}") for n in range(20)]

    def call(i):
        result = register_vouchers(voucher_type=types[i], codes=codes, actor=ACTOR)
        return result.count, sorted({exc.code for exc in result.refused.values()})

    results = run_in_threads(8, call)
    assert sum(count for count, _ in results) == 20, results
    assert all(codes_ in ([], ["voucher_code_taken"]) for _, codes_ in results), results
    assert Voucher.objects.filter(token__startswith="RACE-CODE-").count() == 20
    assert sum(VoucherStock.objects.filter(voucher_type__in=types).values_list("issued", flat=True)) == 20


def _wait_for_a_lock_wait(timeout: float = 10.0) -> None:
    """Until another backend of this database waits for a row lock (the activity view is read afresh each
    time: inside a transaction PostgreSQL would keep showing its first snapshot)."""
    from django.db import connection

    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.02)
    raise AssertionError("the other caller never waited for a lock")


@pytest.mark.parametrize("entry", ["issue", "register", "revoke"])
def test_voucher_writers_wait_for_the_member_before_they_take_the_stock(entry, make_type, member):
    """A booking (POST /tx) holds its member, then its issueVoucher effect locks the type's stock row.
    An issue, a code registration or a revocation for that member must queue on the member without
    holding the stock row: holding it while waiting would deadlock with the booking."""
    import threading

    from memberships.models import Membership
    from vouchers.services import GivenCode, register_vouchers

    voucher_type = make_type(key="lock-order")
    held = issue(voucher_type, member) if entry == "revoke" else None
    VoucherStock.objects.get_or_create(voucher_type=voucher_type)
    outcome = {}

    def writer():
        try:
            if entry == "issue":
                outcome["result"] = issue_voucher(voucher_type=voucher_type, recipient=member, actor=ACTOR).count
            elif entry == "register":
                codes = [GivenCode("LOCK-ORDER-1", recipient=member)]
                outcome["result"] = register_vouchers(voucher_type=voucher_type, codes=codes, actor=ACTOR).count
            else:
                outcome["result"] = revoke_voucher(voucher=held, reason="lock order", actor=ACTOR).status
        except Exception as exc:  # reported by the assertion below
            outcome["result"] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=writer)
    with transaction.atomic():
        Membership.objects.select_for_update().get(pk=member.pk)  # the booking holds its member
        thread.start()
        _wait_for_a_lock_wait()
        # The booking's issueVoucher effect: the stock row is free (NOWAIT raises if the writer holds it).
        assert VoucherStock.objects.select_for_update(nowait=True).filter(voucher_type=voucher_type).exists()
    thread.join(30)
    assert outcome["result"] in (1, "revoked"), outcome
