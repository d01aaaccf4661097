"""The ledger under real concurrency, on PostgreSQL with real threads (LEDGER.md, "Tests that prove it")."""

import contextlib
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import time_machine
from django.db import DatabaseError, IntegrityError, OperationalError, connection, connections, transaction
from django.db.models import Sum
from django.utils import timezone
from rest_framework.test import APIClient

from ledger.errors import AlreadyReversed, InsufficientPoints
from ledger.models import Account, Booking, Lot, Posting
from ledger.selectors import balance_of
from ledger.services import core as ledger_core
from ledger.services import expire_due, redeem_points, reverse_redemption, transfer_points
from ledger.verify import verify
from tests.conftest import run_in_threads
from tests.ledger.conftest import ACTOR

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def ledger_stays_consistent():
    yield
    assert verify() == []


def outcome(fn):
    try:
        fn()
    except InsufficientPoints:
        return "insufficient"
    except AlreadyReversed:
        return "already_reversed"
    return "ok"


def test_fifty_concurrent_redeems_never_overdraw(member, earn, ledger_program):
    earn(member, 100)
    results = run_in_threads(
        50,
        lambda _: outcome(
            lambda: redeem_points(
                membership=member, points=3, point_type=ledger_program.points, sponsor=ledger_program.shop, actor=ACTOR
            )
        ),
    )
    assert results.count("ok") == 33 and results.count("insufficient") == 17, results
    assert balance_of(member, ledger_program.points).balance == 1


def test_a_lost_update_happens_without_the_lock_negative_control(member, earn, ledger_program):
    """The same race without select_for_update loses updates: the test above can fail."""
    earn(member, 100)
    account = Account.objects.get(membership=member, point_type=ledger_program.points)

    def naive_redeem(_):
        with transaction.atomic():
            balance = Account.objects.get(pk=account.pk).balance  # read without a lock
            time.sleep(0.005)
            if balance >= 3:
                Account.objects.filter(pk=account.pk).update(balance=balance - 3)
                return "ok"
        return "insufficient"

    results = run_in_threads(16, naive_redeem)
    account.refresh_from_db()
    assert results.count("ok") > (100 - account.balance) // 3, "no update was lost: the control proves nothing"
    # Put the cached balance back so the ledger is consistent again for the verify fixture.
    Account.objects.filter(pk=account.pk).update(balance=100)


def test_twenty_requests_with_one_key_book_once_and_answer_alike(member, earn, ledger_program, make_key):
    earn(member, 10000)
    raw = make_key()

    def call(_):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
        response = client.post(
            f"/api/v1/deposits/{member.number}/redeem", {"points": "10.00"}, format="json", HTTP_IDEMPOTENCY_KEY="same"
        )
        return response.status_code, response.json()["receiptId"]

    results = run_in_threads(20, call)
    assert len(set(results)) == 1 and results[0][0] == 201, results
    assert Booking.objects.filter(kind="redeem").count() == 1
    assert balance_of(member, ledger_program.points).balance == 9000


def test_a_stored_refusal_is_replayed_for_its_key_and_a_new_key_succeeds(member, earn, ledger_program, api):
    earn(member, 10000)
    url = f"/api/v1/deposits/{member.number}/redeem"
    first = api.post(url, {"points": "150.00"}, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert first.status_code == 409 and first.json()["code"] == "insufficient_points"
    earn(member, 10000)
    again = api.post(url, {"points": "150.00"}, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert again.status_code == 409 and again.json() == first.json()
    fresh = api.post(url, {"points": "150.00"}, format="json", HTTP_IDEMPOTENCY_KEY="k2")
    assert fresh.status_code == 201


def test_crossing_transfers_do_not_deadlock_and_keep_the_total(make_member, earn, ledger_program):
    a, b = make_member(), make_member()
    earn(a, 10000)
    earn(b, 10000)

    def move(i):
        source, target = (a, b) if i % 2 else (b, a)
        try:
            transfer_points(source=source, target=target, points=7, point_type=ledger_program.points, actor=ACTOR)
            return "ok"
        except InsufficientPoints:
            return "insufficient"
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(move, range(200)))
    assert results.count("ok") == 200
    total = sum(balance_of(m, ledger_program.points).balance for m in (a, b))
    assert total == 20000


def test_expiry_racing_itself_and_redemptions_books_each_lot_once(make_member, earn, ledger_program):
    members = [make_member() for _ in range(4)]
    soon = timezone.now() + timedelta(days=1)
    for m in members:
        earn(m, 50, expires_at=soon)
        earn(m, 500)
    later = soon + timedelta(hours=1)

    def work(i):
        with time_machine.travel(later, tick=True):
            if i < 2:
                return expire_due(actor=ACTOR)
            return outcome(
                lambda: redeem_points(
                    membership=members[i % 4],
                    points=20,
                    point_type=ledger_program.points,
                    sponsor=ledger_program.shop,
                    actor=ACTOR,
                )
            )

    results = run_in_threads(22, work)
    assert not any(isinstance(r, Exception) for r in results), results
    assert Booking.objects.filter(kind="expire").count() == 4
    assert Lot.objects.filter(state="active", expires_at=soon).count() == 0


def test_one_receipt_reversed_twice_at_once_gives_one_reversal(member, earn, ledger_program):
    earn(member, 1000)
    receipt = redeem_points(
        membership=member, points=300, point_type=ledger_program.points, sponsor=ledger_program.shop, actor=ACTOR
    ).receipt_id
    results = run_in_threads(8, lambda _: outcome(lambda: reverse_redemption(receipt_id=receipt, actor=ACTOR)))
    assert results.count("ok") == 1 and results.count("already_reversed") == 7, results
    assert Booking.objects.filter(kind="reversal").count() == 1


def test_the_database_refuses_edits_of_postings_and_unbalanced_bookings(member, earn, ledger_program):
    earn(member, 1000)
    posting = Posting.objects.first()
    with pytest.raises(DatabaseError), transaction.atomic():
        Posting.objects.filter(pk=posting.pk).update(amount=1)
    with pytest.raises(DatabaseError), transaction.atomic():
        Posting.objects.filter(pk=posting.pk).delete()
    with pytest.raises(DatabaseError), transaction.atomic():
        Booking.objects.filter(pk=posting.booking_id).update(reason="edited")
    account = Account.objects.get(membership=member, point_type=ledger_program.points)
    with pytest.raises(IntegrityError), transaction.atomic():
        booking = Booking.objects.create(
            kind="adjust",
            sponsor=ledger_program.shop,
            actor_label="x",
            created_at=timezone.now(),
            effective_at=timezone.now(),
        )
        Posting.objects.create(booking=booking, account=account, amount=5)
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # what COMMIT would check


def test_a_booking_killed_mid_transaction_leaves_nothing_and_books_once_on_retry(member, earn, ledger_program):
    earn(member, 1000)
    written, release = threading.Event(), threading.Event()
    backend = {}
    original_write = ledger_core.Draft.write

    def slow_write(self):
        booking = original_write(self)
        if self.kind == "redeem" and not backend:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                backend["pid"] = cursor.fetchone()[0]
            written.set()
            release.wait(10)
        return booking

    def doomed():
        try:
            redeem_points(
                membership=member,
                points=100,
                point_type=ledger_program.points,
                sponsor=ledger_program.shop,
                actor=ACTOR,
                idempotency_key="kill-me",
            )
        except (OperationalError, DatabaseError) as exc:
            return exc
        finally:
            connections.close_all()
        return "committed"

    ledger_core.Draft.write = slow_write
    try:
        result: dict = {}
        thread = threading.Thread(target=lambda: result.setdefault("r", doomed()))
        thread.start()
        assert written.wait(10)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [backend["pid"]])
        release.set()
        thread.join(10)
    finally:
        ledger_core.Draft.write = original_write
    assert result["r"] != "committed"
    assert not Booking.objects.filter(kind="redeem").exists()
    retried = redeem_points(
        membership=member,
        points=100,
        point_type=ledger_program.points,
        sponsor=ledger_program.shop,
        actor=ACTOR,
        idempotency_key="kill-me",
    )
    again = redeem_points(
        membership=member,
        points=100,
        point_type=ledger_program.points,
        sponsor=ledger_program.shop,
        actor=ACTOR,
        idempotency_key="kill-me",
    )
    assert retried.pk == again.pk
    assert balance_of(member, ledger_program.points).balance == 900


def test_bank_snapshot_reads_always_see_the_total_during_random_transfers(make_member, earn, ledger_program):
    members = [make_member() for _ in range(10)]
    for m in members:
        earn(m, 1000)
    account_ids = list(
        Account.objects.filter(kind="member", point_type=ledger_program.points).values_list("pk", flat=True)
    )
    stop = time.monotonic() + 3
    errors: list = []

    def mover(seed):
        rng = random.Random(seed)
        try:
            while time.monotonic() < stop:
                a, b = rng.sample(members, 2)
                with contextlib.suppress(InsufficientPoints):
                    transfer_points(
                        source=a, target=b, points=rng.randint(1, 300), point_type=ledger_program.points, actor=ACTOR
                    )
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    sums = []

    def reader():
        try:
            while time.monotonic() < stop:
                with transaction.atomic():
                    with connection.cursor() as cursor:
                        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                    sums.append(Account.objects.filter(pk__in=account_ids).aggregate(s=Sum("balance"))["s"])
                    lots_total = Lot.objects.filter(account_id__in=account_ids).aggregate(s=Sum("remaining"))["s"]
                    sums.append(lots_total)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=mover, args=(i,)) for i in range(8)] + [threading.Thread(target=reader)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    assert len(sums) > 10 and set(sums) == {10000}
    assert all(balance_of(m, ledger_program.points).redeemable >= 0 for m in members)
    assert Booking.objects.filter(kind="transfer").count() > 50
