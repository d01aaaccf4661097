"""Endpoints, the fan-out of outbox events into deliveries, sending with retries, rotation and disabling
(webhooks.services), against a local receiver on 127.0.0.1."""

from __future__ import annotations

import json
from datetime import timedelta
from unittest import mock

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone

from loyalty.actors import Actor
from loyalty.models import AuditEntry, Event
from loyalty.outbox import emit_event
from webhooks import services, signing
from webhooks.errors import EndpointDisabled, InvalidEndpoint
from webhooks.models import Delivery, DeliveryAttempt, Endpoint

# Transactions of their own, as in production: on PostgreSQL the fan-out reads only events of transactions that
# have ended, which a test's wrapping transaction never does. The send the services queue on commit is left to
# the test, which calls send_due itself (test_the_send_is_queued_once_the_fan_out_commits checks the queueing).
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _send_when_the_test_says(request, monkeypatch):
    if "queued_on_commit" not in request.keywords:
        monkeypatch.setattr("webhooks.services._send_soon", lambda: None)


ACTOR = Actor.for_system("tests")


@pytest.fixture(autouse=True)
def _fixed_jitter():
    """The retry delays at their middle value (the jitter is +-20 %)."""
    with mock.patch("webhooks.services.random.random", return_value=0.5):
        yield


def endpoint_for(receiver, types=("*",), **fields) -> tuple[Endpoint, str]:
    return services.create_endpoint(url=f"{receiver.url}/hooks", event_types=list(types), actor=ACTOR, **fields)


def deliver_all() -> dict[str, int]:
    services.dispatch()
    return services.send_due(budget_seconds=5)


def test_an_endpoint_gets_a_whsec_secret_once_and_an_audit_entry(receiver):
    endpoint, secret = endpoint_for(receiver, types=["points.*"], description="CRM")
    assert secret.startswith("whsec_") and len(signing.secret_bytes(secret)) == 24
    assert services.active_secrets(endpoint) == [secret]
    entry = AuditEntry.objects.get(action="webhook_endpoint.created")
    assert entry.changes["eventTypes"] == ["points.*"] and "whsec_" not in json.dumps(entry.changes)


@pytest.mark.parametrize(
    ("url", "types", "headers", "field", "words"),
    [
        ("ftp://example.com/x", ["*"], {}, "url", ""),
        ("https://example.com/x", ["poinst.*"], {}, "eventTypes", "poinst.*"),
        ("https://example.com/x", ["*.earned"], {}, "eventTypes", ""),
        ("https://example.com/x", ["*"], {"webhook-signature": "x"}, "headers", "set by the sender"),
        ("https://example.com/x", ["*"], {"X-Token": "a\r\nb"}, "headers", "not valid"),
        ("https://example.com/x", [], {}, "eventTypes", "at least one"),
    ],
)
def test_an_endpoint_that_cannot_work_is_refused_with_the_field_at_fault(url, types, headers, field, words):
    with pytest.raises(InvalidEndpoint) as refused:
        services.create_endpoint(url=url, event_types=types, headers=headers, actor=ACTOR)
    assert refused.value.code == "invalid_webhook_endpoint"
    assert [e["field"] for e in refused.value.errors] == [field]
    assert words in refused.value.errors[0]["message"]
    assert not Endpoint.objects.exists()


def test_in_production_only_https_and_public_addresses(settings):
    settings.WEBHOOKS_REQUIRE_HTTPS, settings.WEBHOOKS_ALLOW_PRIVATE = True, False
    for url in ("http://example.com/hook", "https://127.0.0.1/hook", "https://10.1.2.3/hook", "https://[::1]/x"):
        with pytest.raises(InvalidEndpoint):
            services.create_endpoint(url=url, event_types=["*"], actor=ACTOR)
    endpoint, _ = services.create_endpoint(url="https://example.com/hook", event_types=["*"], actor=ACTOR)
    assert endpoint.url == "https://example.com/hook"


def test_subscriptions_match_exact_names_prefixes_and_everything():
    assert services.subscribed(["points.*"], "points.earned")
    assert not services.subscribed(["points.*"], "pointsx.earned")
    assert services.subscribed(["webhook.*"], "webhook.endpoint.disabled")
    assert services.subscribed(["tier.changed"], "tier.changed") and not services.subscribed(["tier.changed"], "tier")
    assert services.subscribed(["*"], "anything.at.all")


def test_each_subscribed_event_since_the_endpoint_existed_becomes_one_delivery(receiver):
    emit_event("tier.changed", membership_number="M-1", payload={"from": None, "to": "gold"})  # before it
    points, _ = endpoint_for(receiver, types=["points.*"])
    everything, _ = endpoint_for(receiver, types=["*"])
    disabled, _ = endpoint_for(receiver, types=["*"], enabled=False)
    earned = emit_event("points.earned", membership_number="M-1", payload={"points": "10.00"})
    tier = emit_event("tier.changed", membership_number="M-1", payload={"from": None, "to": "gold"})
    result = services.dispatch()
    assert result.events == 2 and result.deliveries == 3
    got = {(d.endpoint_id, d.event_id) for d in Delivery.objects.all()}
    assert got == {(points.pk, earned.pk), (everything.pk, earned.pk), (everything.pk, tier.pk)}
    assert services.dispatch().deliveries == 0  # the cursor moved: nothing twice
    assert Delivery.objects.count() == 3 and not Delivery.objects.filter(endpoint=disabled).exists()


def test_a_delivery_is_signed_enveloped_and_identified_by_the_event_id(receiver):
    _, secret = endpoint_for(receiver, types=["points.earned"], headers={"X-Shop": "north"})
    event = emit_event("points.earned", membership_number="M-7", payload={"points": "12.50"})
    assert deliver_all()["delivered"] == 1
    (seen,) = receiver.requests
    headers = {k.lower(): v for k, v in seen.headers.items()}
    signing.verify(seen.body, headers, [secret])  # raises if the signature does not hold
    assert headers["webhook-id"] == str(event.pk) and headers["x-shop"] == "north"
    assert headers["content-type"] == "application/json" and seen.path == "/hooks"
    body = json.loads(seen.body)
    assert body["type"] == "points.earned" and body["timestamp"] == event.occurred_at.isoformat()
    assert body["data"] == {
        "id": event.pk,
        "type": "points.earned",
        "occurredAt": event.occurred_at.isoformat(),
        "membershipNumber": "M-7",
        "payload": {"points": "12.50"},
    }
    delivery = Delivery.objects.get()
    assert delivery.status == "delivered" and delivery.attempts == 1 and delivery.next_attempt_at is None
    attempt = delivery.attempt_log.get()
    assert attempt.response_status == 200 and attempt.response_body == '{"ok": true}'
    assert attempt.request_headers["X-Shop"] == "(set on the endpoint)"  # its value may be a credential


def test_failures_are_retried_on_the_schedule_then_the_delivery_fails(receiver, settings):
    settings.WEBHOOKS_DISABLE_AFTER_DAYS = 30  # this test is about one delivery's schedule
    receiver.status = 500
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        endpoint_for(receiver)
        emit_event("points.earned", payload={})
        services.dispatch()
        waits = []
        for _ in range(8):
            assert services.send_due(budget_seconds=5)["retrying" if len(waits) < 7 else "failed"] == 1
            delivery = Delivery.objects.get()
            if delivery.next_attempt_at is None:
                break
            waits.append(round((delivery.next_attempt_at - timezone.now()).total_seconds()))
            assert services.send_due(budget_seconds=5) == {"delivered": 0, "retrying": 0, "failed": 0, "more": 0}
            clock.move_to(delivery.next_attempt_at)
    assert waits == [5, 30, 120, 600, 3600, 21600, 86400]
    delivery = Delivery.objects.get()
    assert delivery.status == "failed" and delivery.attempts == 8 and len(receiver.requests) == 8
    assert list(delivery.attempt_log.values_list("response_status", flat=True)) == [500] * 8


def test_the_jitter_spreads_each_wait_by_a_fifth_either_way(settings):
    assert services.retry_delay(1, rand=lambda: 0.0) == timedelta(seconds=4)
    assert services.retry_delay(1, rand=lambda: 1.0) == timedelta(seconds=6)
    assert services.retry_delay(7, rand=lambda: 0.5) == timedelta(days=1)
    assert services.retry_delay(8) is None


def test_a_receiver_that_is_down_then_up_gets_the_event_once_and_the_log_shows_each_attempt(receiver):
    receiver.status = 503
    with time_machine.travel(timezone.now(), tick=False) as clock:
        endpoint_for(receiver)
        event = emit_event("points.earned", payload={"points": "1"})
        services.dispatch()
        services.send_due(budget_seconds=5)
        clock.shift(6)
        services.send_due(budget_seconds=5)
        receiver.status = 200
        clock.shift(40)
        assert services.send_due(budget_seconds=5)["delivered"] == 1
        clock.shift(86400 * 2)
        assert services.send_due(budget_seconds=5)["delivered"] == 0  # delivered: never again by itself
    ids = [r.headers["webhook-id"] for r in receiver.requests]
    assert ids == [str(event.pk)] * 3  # the same id each time: the receiver keeps the first it accepted
    delivery = Delivery.objects.get()
    assert delivery.status == "delivered" and delivery.attempts == 3
    assert [a.response_status for a in delivery.attempt_log.all()] == [503, 503, 200]
    assert Endpoint.objects.get().failing_since is None


def test_a_receiver_that_cannot_be_reached_is_retried_with_the_reason_logged(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    services.create_endpoint(url="http://127.0.0.1:9/nothing", event_types=["*"], actor=ACTOR)
    emit_event("points.earned", payload={})
    assert deliver_all()["retrying"] == 1
    attempt = DeliveryAttempt.objects.get()
    assert attempt.response_status is None and "refused" in attempt.error
    assert Endpoint.objects.get().failing_since is not None


def test_a_410_disables_the_endpoint_and_says_so_in_the_outbox(receiver):
    receiver.status = 410
    endpoint, _ = endpoint_for(receiver, types=["points.*"])
    emit_event("points.earned", payload={})
    assert deliver_all()["failed"] == 1
    endpoint.refresh_from_db()
    assert not endpoint.enabled and "410" in endpoint.disabled_reason
    disabled = Event.objects.get(type="webhook.endpoint.disabled")
    assert disabled.payload == {"endpoint": endpoint.pk, "url": endpoint.url, "reason": endpoint.disabled_reason}
    emit_event("points.earned", payload={})
    assert deliver_all() == {"delivered": 0, "retrying": 0, "failed": 0, "more": 0}
    assert len(receiver.requests) == 1


def test_an_endpoint_failing_for_three_days_is_disabled_and_enabling_it_sends_what_waited(receiver):
    receiver.status = 500
    with time_machine.travel(timezone.now(), tick=False) as clock:
        endpoint, _ = endpoint_for(receiver)
        for day in range(4):
            emit_event("points.earned", payload={"day": day})
            services.dispatch()
            services.send_due(budget_seconds=5)
            endpoint.refresh_from_db()
            assert endpoint.enabled is (day < 3), day
            clock.shift(timedelta(days=1, seconds=1))
    assert "3 days" in endpoint.disabled_reason
    waiting = Delivery.objects.filter(status="pending").count()
    assert waiting >= 1
    receiver.status = 200
    services.update_endpoint(endpoint=endpoint, enabled=True, actor=ACTOR)
    endpoint.refresh_from_db()
    assert endpoint.enabled and endpoint.disabled_reason == "" and endpoint.failing_since is None
    assert services.send_due(budget_seconds=5)["delivered"] == waiting  # at once, not at their next retry


def test_after_a_rotation_both_secrets_sign_until_the_old_one_expires(receiver):
    endpoint, old = endpoint_for(receiver)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        new, until = services.rotate_secret(endpoint=endpoint, actor=ACTOR)
        assert until == timezone.now() + timedelta(hours=24) and new != old
        emit_event("points.earned", payload={})
        deliver_all()
        clock.shift(timedelta(hours=24, seconds=1))
        emit_event("points.earned", payload={})
        deliver_all()
    during, after = receiver.requests
    assert len(during.headers["webhook-signature"].split()) == 2
    signing.verify(during.body, dict(during.headers), [old], now=int(during.headers["webhook-timestamp"]))
    signing.verify(during.body, dict(during.headers), [new], now=int(during.headers["webhook-timestamp"]))
    assert len(after.headers["webhook-signature"].split()) == 1
    with pytest.raises(signing.VerificationError):
        signing.verify(after.body, dict(after.headers), [old], now=int(after.headers["webhook-timestamp"]))


def test_a_test_event_goes_to_that_endpoint_only(receiver):
    endpoint, secret = endpoint_for(receiver, types=["points.earned"])
    other, _ = endpoint_for(receiver, types=["*"])
    delivery = services.send_test(endpoint=endpoint, actor=ACTOR)
    assert services.send_due(budget_seconds=5)["delivered"] == 1
    (seen,) = receiver.requests
    assert seen.headers["webhook-id"] == delivery.message_id and delivery.message_id.startswith("test_")
    body = json.loads(seen.body)
    assert body["type"] == "webhook.test" and body["data"]["payload"]["endpoint"] == endpoint.pk
    signing.verify(seen.body, dict(seen.headers), [secret])
    services.update_endpoint(endpoint=other, enabled=False, actor=ACTOR)
    with pytest.raises(EndpointDisabled):
        services.send_test(endpoint=other, actor=ACTOR)


def test_a_retry_by_hand_sends_again_and_adds_to_the_log(receiver):
    endpoint_for(receiver)
    emit_event("points.earned", payload={})
    deliver_all()
    delivery = Delivery.objects.get()
    services.retry_delivery(delivery=delivery, actor=ACTOR)
    assert services.send_due(budget_seconds=5)["delivered"] == 1
    assert Delivery.objects.get().attempts == 2 and len(receiver.requests) == 2


def test_a_claimed_delivery_is_not_sent_twice_by_two_workers_and_comes_back_after_its_lease(receiver):
    endpoint_for(receiver)
    emit_event("points.earned", payload={})
    services.dispatch()
    with time_machine.travel(timezone.now(), tick=False) as clock:
        claimed = services.claim_due(10)
        assert len(claimed) == 1 and services.claim_due(10) == []  # leased
        clock.shift(services.LEASE + timedelta(seconds=1))  # its worker died before it reported
        assert [d.pk for d in services.claim_due(10)] == [claimed[0].pk]


def test_sending_a_batch_takes_a_fixed_number_of_queries(receiver, django_assert_max_num_queries):
    endpoint_for(receiver)
    for n in range(30):
        emit_event("points.earned", payload={"n": n})
    services.dispatch()
    with django_assert_max_num_queries(14):
        assert services.send_due(budget_seconds=5)["delivered"] == 30


@pytest.mark.queued_on_commit
def test_the_send_is_queued_once_the_fan_out_commits(receiver):
    endpoint_for(receiver)
    with transaction.atomic():
        emit_event("points.earned", payload={})
    services.dispatch()  # tasks run eagerly without a broker: the send happens on commit
    assert Delivery.objects.get().status == "delivered" and len(receiver.requests) == 1


def test_an_allow_list_of_hosts_narrows_what_may_be_registered_and_called(receiver, settings):
    settings.WEBHOOKS_ALLOWED_HOSTS = ["127.0.0.1"]
    with pytest.raises(InvalidEndpoint) as refused:
        services.create_endpoint(url="https://crm.example.com/in", event_types=["*"], actor=ACTOR)
    assert "only name these hosts: 127.0.0.1" in refused.value.errors[0]["message"]
    endpoint_for(receiver)
    settings.WEBHOOKS_ALLOWED_HOSTS = ["crm.example.com"]  # changed since: nothing is sent to the old host
    emit_event("points.earned", payload={})
    assert deliver_all()["retrying"] == 1 and receiver.requests == []
    assert "only name these hosts" in DeliveryAttempt.objects.get().error
