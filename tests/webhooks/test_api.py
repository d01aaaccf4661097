"""The /webhooks endpoints: scope `webhooks`, each client sees its own endpoints, errors in the error shape."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from loyalty.actors import Actor
from loyalty.outbox import emit_event
from webhooks import services
from webhooks.event_types import EVENT_TYPES
from webhooks.models import Delivery, Endpoint

# Transactions of their own, as in production: on PostgreSQL the fan-out reads only events of transactions that
# have ended, which a test's wrapping transaction never does. The send the services queue on commit is left to
# the test, which calls send_due itself (test_the_send_is_queued_once_the_fan_out_commits checks the queueing).
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _send_when_the_test_says(request, monkeypatch):
    if "queued_on_commit" not in request.keywords:
        monkeypatch.setattr("webhooks.services._send_soon", lambda: None)


BASE = "/api/v1/webhooks"


@pytest.fixture
def hooks(make_key) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {make_key(['webhooks'])}")
    return client


def register(api, receiver, **fields):
    body = {"url": f"{receiver.url}/in", "eventTypes": ["points.*"], **fields}
    return api.post(f"{BASE}/endpoints", body, format="json")


def test_the_event_types_are_listed_with_their_payload_schemas(hooks):
    types = hooks.get(f"{BASE}/eventtypes").json()
    assert [t["name"] for t in types] == sorted(EVENT_TYPES)
    earned = next(t for t in types if t["name"] == "points.earned")
    assert earned["payload"]["type"] == "object" and earned["description"] and earned["membership"] is True


def test_an_endpoint_is_registered_read_changed_and_removed(hooks, receiver):
    created = register(hooks, receiver, description="CRM", headers={"X-Shop": "north"})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["secret"].startswith("whsec_") and body["eventTypes"] == ["points.*"]
    assert body["headers"] == {"X-Shop": "north"} and body["enabled"] is True and body["secretsExpireAt"] == [None]
    one = hooks.get(f"{BASE}/endpoints/{body['id']}").json()
    assert "secret" not in one and one["description"] == "CRM"
    assert [e["id"] for e in hooks.get(f"{BASE}/endpoints").json()["results"]] == [body["id"]]

    changed = hooks.put(f"{BASE}/endpoints/{body['id']}", {"eventTypes": ["*"], "enabled": False}, format="json")
    assert changed.status_code == 200 and changed.json()["eventTypes"] == ["*"] and changed.json()["enabled"] is False
    assert changed.json()["description"] == "CRM"  # untouched

    assert hooks.delete(f"{BASE}/endpoints/{body['id']}").status_code == 204
    assert hooks.get(f"{BASE}/endpoints/{body['id']}").json()["code"] == "webhook_endpoint_not_found"


def test_bad_endpoints_are_refused_with_the_fields_at_fault(hooks):
    answer = hooks.post(f"{BASE}/endpoints", {"url": "ftp://x.example", "eventTypes": ["nope.*"]}, format="json")
    assert answer.status_code == 400
    body = answer.json()
    assert body["code"] == "invalid_webhook_endpoint"
    assert {e["field"] for e in body["errors"]} == {"url", "eventTypes"}
    assert (
        hooks.post(f"{BASE}/endpoints", {"url": "https://x.example"}, format="json").json()["errors"][0]["field"]
        == "eventTypes"
    )
    assert not Endpoint.objects.exists()


def test_a_client_sees_and_changes_only_its_own_endpoints(hooks, make_key, receiver):
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Api-Key {make_key(['webhooks'])}")
    mine = register(hooks, receiver).json()["id"]
    assert other.get(f"{BASE}/endpoints").json()["results"] == []
    for method, suffix in (("get", ""), ("put", ""), ("delete", ""), ("post", "/rotate"), ("post", "/test")):
        answer = getattr(other, method)(f"{BASE}/endpoints/{mine}{suffix}", {}, format="json")
        assert answer.status_code == 404 and answer.json()["code"] == "webhook_endpoint_not_found", (method, suffix)
    assert Endpoint.objects.get().enabled


def test_the_webhooks_scope_is_needed(make_key):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {make_key(['read', 'write'])}")
    answer = api.get(f"{BASE}/endpoints")
    assert answer.status_code == 403 and answer.json()["code"] == "insufficient_scope"


@pytest.mark.parametrize("bad", ["0", "-1", "abc", "99999999999999999999999", "\uff11"])
def test_an_id_that_cannot_be_one_is_not_found(hooks, bad):
    answer = hooks.get(f"{BASE}/endpoints/{bad}")
    assert answer.status_code == 404 and answer.json()["code"] == "webhook_endpoint_not_found"


def test_rotate_test_deliveries_and_retry(hooks, receiver):
    created = register(hooks, receiver, eventTypes=["points.earned"]).json()
    rotated = hooks.post(f"{BASE}/endpoints/{created['id']}/rotate")
    assert rotated.status_code == 200
    assert rotated.json()["secret"] != created["secret"] and rotated.json()["previousSecretsExpireAt"]
    assert len(hooks.get(f"{BASE}/endpoints/{created['id']}").json()["secretsExpireAt"]) == 2

    test = hooks.post(f"{BASE}/endpoints/{created['id']}/test")
    assert test.status_code == 202 and test.json()["eventType"] == "webhook.test" and test.json()["status"] == "pending"
    services.send_due(budget_seconds=5)
    emit_event("points.earned", membership_number="M-1", payload={"points": "1"})
    services.dispatch()
    receiver.status = 500
    services.send_due(budget_seconds=5)

    listed = hooks.get(f"{BASE}/deliveries").json()["results"]
    assert [d["eventType"] for d in listed] == ["points.earned", "webhook.test"]  # newest first
    failing, tested = listed
    assert tested["status"] == "delivered" and tested["attemptLog"][0]["responseStatus"] == 200
    assert failing["status"] == "pending" and failing["attempts"] == 1 and failing["nextAttemptAt"]
    assert failing["attemptLog"][0]["responseStatus"] == 500 and failing["attemptLog"][0]["responseBody"]
    only = hooks.get(f"{BASE}/deliveries", {"eventType": "webhook.test", "status": "delivered"}).json()
    assert [d["id"] for d in only["results"]] == [tested["id"]]
    assert hooks.get(f"{BASE}/deliveries", {"endpoint": created["id"] + 1000}).json()["results"] == []

    receiver.status = 200
    retried = hooks.post(f"{BASE}/deliveries/{failing['id']}/retry")
    assert retried.status_code == 202 and retried.json()["status"] == "pending"
    services.send_due(budget_seconds=5)
    assert Delivery.objects.get(pk=failing["id"]).status == "delivered"
    missing = hooks.post(f"{BASE}/deliveries/{failing['id'] + 1000}/retry")
    assert missing.status_code == 404 and missing.json()["code"] == "webhook_delivery_not_found"


def test_a_disabled_endpoint_takes_no_test_and_no_retry(hooks, receiver):
    created = register(hooks, receiver).json()
    endpoint = Endpoint.objects.get()
    delivery = services.send_test(endpoint=endpoint, actor=Actor.for_system("tests"))
    hooks.put(f"{BASE}/endpoints/{created['id']}", {"enabled": False}, format="json")
    for path in (f"endpoints/{created['id']}/test", f"deliveries/{delivery.pk}/retry"):
        answer = hooks.post(f"{BASE}/{path}")
        assert answer.status_code == 409 and answer.json()["code"] == "webhook_endpoint_disabled", path


def test_listing_deliveries_takes_a_fixed_number_of_queries(hooks, receiver, django_assert_max_num_queries):
    register(hooks, receiver, eventTypes=["*"])
    for n in range(20):
        emit_event("points.earned", payload={"n": n})
    services.dispatch()
    services.send_due(budget_seconds=5)
    with django_assert_max_num_queries(8):
        assert len(hooks.get(f"{BASE}/deliveries").json()["results"]) == 20
