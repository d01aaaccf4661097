"""The event feed: a cursor per API client, at-least-once delivery."""

import threading

import pytest
from django.db import connections, transaction
from rest_framework.test import APIClient

from loyalty.models import Event
from loyalty.outbox import emit_event
from loyalty.services import acknowledge_events
from tests.factories import ApiClientFactory

ACK = "/api/v1/loyaltyops/events/acknowledge"


def emit(n, **kwargs):
    return [emit_event("test.happened", payload={"n": i}, **kwargs) for i in range(n)]


@pytest.fixture
def api(api):
    """The shared client, with the events of its own key issuance cleared from the feed."""
    Event.objects.all().delete()
    return api


def ids(body):
    return [e["id"] for e in body["events"]]


@pytest.mark.django_db
def test_events_come_in_order_and_only_an_ack_moves_the_cursor(api):
    events = emit(5)
    first = api.get(f"{ACK}?limit=2").json()
    assert ids(first) == [events[0].id, events[1].id]
    assert first["more"] is True and first["acknowledged"] == 0

    # The answer was lost: the same call without ack delivers the same events again.
    assert ids(api.get(f"{ACK}?limit=2").json()) == ids(first)

    second = api.get(f"{ACK}?limit=2&ack={first['ack']}").json()
    assert ids(second) == [events[2].id, events[3].id]
    assert second["acknowledged"] == events[1].id

    third = api.get(f"{ACK}?limit=10&ack={second['ack']}").json()
    assert ids(third) == [events[4].id] and third["more"] is False
    done = api.get(f"{ACK}?ack={third['ack']}").json()
    assert done["events"] == [] and done["ack"] == events[4].id


@pytest.mark.django_db
def test_a_stale_ack_is_harmless_and_an_ack_beyond_delivery_is_refused(api):
    events = emit(3)
    batch = api.get(f"{ACK}?limit=2").json()
    api.get(f"{ACK}?limit=2&ack={batch['ack']}")
    again = api.get(f"{ACK}?limit=2&ack={events[0].id}").json()
    assert again["acknowledged"] == events[1].id

    response = api.get(f"{ACK}?ack={events[2].id + 100}")
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_ack"


@pytest.mark.django_db
def test_two_clients_never_take_each_others_events(api, make_key):
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Api-Key {make_key()}")
    Event.objects.all().delete()
    emit(3)
    mine = api.get(f"{ACK}?limit=3").json()
    api.get(f"{ACK}?ack={mine['ack']}")
    theirs = other.get(f"{ACK}?limit=3").json()
    assert ids(theirs) == ids(mine)


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["limit=0", "limit=1001", "ack=-1", "ack=x", "colour=red"])
def test_bad_feed_parameters_are_a_400(api, query):
    response = api.get(f"{ACK}?{query}")
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"


@pytest.mark.django_db
def test_the_feed_needs_an_api_client(client, django_user_model):
    staff = django_user_model.objects.create_user("boss", password="x", is_staff=True)
    client.force_login(staff)
    response = client.get(ACK)
    assert response.status_code == 403


@pytest.mark.django_db
def test_the_list_filters_by_type_membership_time_and_acknowledgement(api):
    emit_event("a.one", membership_number="100000001")
    emit_event("b.two", membership_number="100000002")
    last = emit_event("a.one", membership_number="100000002")
    listed = api.get("/api/v1/loyaltyops/events/list?type=a.one").json()["results"]
    assert [e["id"] for e in listed] == [last.id, last.id - 2]
    by_member = api.get("/api/v1/loyaltyops/events/list?membership=100000002").json()["results"]
    assert {e["type"] for e in by_member} == {"a.one", "b.two"}
    since = last.occurred_at.isoformat().replace("+00:00", "Z")
    assert [e["id"] for e in api.get("/api/v1/loyaltyops/events/list", {"since": since}).json()["results"]] == [last.id]

    batch = api.get(f"{ACK}?limit=1").json()
    api.get(f"{ACK}?ack={batch['ack']}")
    acked = api.get("/api/v1/loyaltyops/events/list?acknowledged=true").json()["results"]
    pending = api.get("/api/v1/loyaltyops/events/list?acknowledged=false").json()["results"]
    assert len(acked) == 1 and len(pending) == 2
    refused = api.get("/api/v1/loyaltyops/events/list?acknowledged=AAA")  # was the whole list, unfiltered
    assert (refused.status_code, refused.json()["errors"][0]["field"]) == (400, "acknowledged")


@pytest.mark.django_db
def test_the_list_is_cursor_paginated_with_constant_queries(api, django_assert_max_num_queries):
    emit(30)
    page = api.get("/api/v1/loyaltyops/events/list?limit=10").json()
    assert len(page["results"]) == 10 and page["next"]
    with django_assert_max_num_queries(6):
        assert len(api.get(page["next"]).json()["results"]) == 10


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_event_of_a_transaction_still_running_holds_back_younger_events():
    """A slow commit with a lower id must not be skipped by a cursor that already moved past it."""
    client = ApiClientFactory()
    written = threading.Event()
    release = threading.Event()
    slow_id = {}

    def slow_writer():
        try:
            with transaction.atomic():
                slow_id["id"] = emit_event("slow.one").id
                written.set()
                release.wait(10)
        finally:
            connections.close_all()

    thread = threading.Thread(target=slow_writer)
    thread.start()
    assert written.wait(10)
    fast = emit_event("fast.one")
    assert fast.id > slow_id["id"]

    _, held, _ = acknowledge_events(client=client, ack=None, limit=10)
    assert held == []  # the fast event waits behind the running transaction

    release.set()
    thread.join(10)
    _, batch, _ = acknowledge_events(client=client, ack=None, limit=10)
    assert [e.id for e in batch] == [slow_id["id"], fast.id]
    assert Event.objects.count() == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_event_a_younger_transaction_committed_first_is_not_passed_over():
    """Three transactions: B's (older) event gets the higher id but is settled first, while A's (younger,
    committed) waits behind C, still running. A cursor by event id would acknowledge B and never hand out A."""
    client = ApiClientFactory()
    steps = {name: threading.Event() for name in ("b_started", "c_started", "b_write", "c_end")}
    written = {}

    def transaction_b():
        try:
            with transaction.atomic():
                with connections["default"].cursor() as cursor:
                    cursor.execute("SELECT pg_current_xact_id()")  # B's transaction id: the oldest
                steps["b_started"].set()
                assert steps["b_write"].wait(10)
                written["b"] = emit_event("b.event")
        finally:
            connections.close_all()

    def transaction_c():
        try:
            with transaction.atomic():
                with connections["default"].cursor() as cursor:
                    cursor.execute("SELECT pg_current_xact_id()")  # C's: between B's and A's
                steps["c_started"].set()
                assert steps["c_end"].wait(10)
        finally:
            connections.close_all()

    b, c = threading.Thread(target=transaction_b), threading.Thread(target=transaction_c)
    b.start()
    assert steps["b_started"].wait(10)
    c.start()
    assert steps["c_started"].wait(10)
    with transaction.atomic():
        a = emit_event("a.event")  # A: the youngest transaction, the lower event id, committed first
    steps["b_write"].set()
    b.join(10)
    assert written["b"].id > a.id

    _, batch, _ = acknowledge_events(client=client, ack=None, limit=10)
    handed = [e.id for e in batch]
    acknowledge_events(client=client, ack=batch[-1].id if batch else None, limit=10)
    steps["c_end"].set()
    c.join(10)
    _, rest, _ = acknowledge_events(client=client, ack=None, limit=10)
    assert sorted(handed + [e.id for e in rest]) == sorted([a.id, written["b"].id])


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_existing_cursors_become_positions_that_skip_no_unacknowledged_event():
    """loyalty 0016: a cursor that acknowledged up to an id restarts just before the oldest transaction that
    wrote a later event, so every unacknowledged event still comes (an acknowledged one may come again)."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before, after = [("loyalty", "0015_event_txid_brin")], [("loyalty", "0016_event_cursor_positions")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    try:
        old_apps = executor.loader.project_state(before).apps
        client = ApiClientFactory()
        with transaction.atomic():
            first = emit_event("a.event")
        with transaction.atomic():
            second = emit_event("b.event")
        old_cursor = old_apps.get_model("loyalty", "EventCursor")
        old_cursor.objects.create(client_id=client.pk, acknowledged_id=first.id, delivered_id=second.id)
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(after)
    _, batch, _ = acknowledge_events(client=client, ack=None, limit=10)
    assert [e.id for e in batch] == [second.id]
    _, again, _ = acknowledge_events(client=client, ack=second.id, limit=10)
    assert again == []
