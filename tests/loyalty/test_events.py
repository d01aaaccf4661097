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
