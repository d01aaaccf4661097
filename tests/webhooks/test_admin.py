"""Webhooks in the admin (Django's test client): every change through webhooks.services, errors on their fields,
developer settings only."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from loyalty.actors import Actor
from loyalty.models import AuditEntry
from tests.factories import StaffUserFactory
from webhooks import services
from webhooks.models import Delivery, Endpoint

pytestmark = pytest.mark.django_db
ACTOR = Actor.for_system("tests")


@pytest.fixture
def administrator() -> Client:
    client = Client()
    client.force_login(StaffUserFactory(is_superuser=True))
    return client


@pytest.fixture
def endpoint(receiver) -> Endpoint:
    endpoint, _ = services.create_endpoint(
        url=f"{receiver.url}/in", event_types=["points.*"], description="CRM", actor=ACTOR
    )
    return endpoint


def test_a_bad_endpoint_is_refused_on_its_fields_and_nothing_is_saved(administrator):
    answer = administrator.post(
        "/admin/webhooks/endpoint/add/",
        {"url": "https://crm.example.com/in", "description": "", "subscriptions": "poinst.*", "extra_headers": "X"},
    )
    assert answer.status_code == 200
    errors = answer.context["adminform"].form.errors
    assert "No event type matches 'poinst.*'." in errors["subscriptions"][0]
    assert "Name: value" in errors["extra_headers"][0]
    assert not Endpoint.objects.exists()


def test_editing_goes_through_the_service_with_its_audit_entry(administrator, endpoint):
    answer = administrator.post(
        f"/admin/webhooks/endpoint/{endpoint.pk}/change/",
        {
            "url": endpoint.url,
            "description": "CRM (new)",
            "subscriptions": "points.*\ntier.changed",
            "extra_headers": "X-Token: abc",
            "enabled": "on",
        },
    )
    assert answer.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.event_types == ["points.*", "tier.changed"] and endpoint.headers == {"X-Token": "abc"}
    entry = AuditEntry.objects.filter(action="webhook_endpoint.updated").get()
    assert entry.changes["headers"] == [[], ["X-Token"]]  # names only: the value may be a credential


def test_rotating_shows_the_new_secret_once_and_keeps_the_old_one_for_a_day(administrator, endpoint):
    answer = administrator.post(
        "/admin/webhooks/endpoint/",
        {"action": "rotate_secret", "_selected_action": [endpoint.pk]},
        follow=True,
    )
    shown = re.findall(r"whsec_[A-Za-z0-9+/=]+", answer.content.decode())
    assert len(shown) == 1 and shown[0] in services.active_secrets(endpoint)
    assert len(services.active_secrets(endpoint)) == 2
    page = administrator.get(f"/admin/webhooks/endpoint/{endpoint.pk}/change/").content.decode()
    assert shown[0] not in page and "signs until" in page  # only the secrets' beginnings, and until when


def test_deleting_removes_the_log_too(administrator, endpoint):
    services.send_test(endpoint=endpoint, actor=ACTOR)
    answer = administrator.post(f"/admin/webhooks/endpoint/{endpoint.pk}/delete/", {"post": "yes"})
    assert answer.status_code == 302
    assert not Endpoint.objects.exists() and not Delivery.objects.exists()
    assert AuditEntry.objects.filter(action="webhook_endpoint.deleted").count() == 1


def test_a_program_manager_sees_no_webhook_pages_and_cannot_deliver_again(endpoint):
    manager = StaffUserFactory(is_superuser=False)
    manager.groups.add(Group.objects.get(name="Program manager"))
    client = Client()
    client.force_login(manager)
    delivery = services.send_test(endpoint=endpoint, actor=ACTOR)
    assert client.get("/admin/webhooks/endpoint/").status_code == 403
    assert client.get(f"/admin/webhooks/delivery/{delivery.pk}/change/").status_code == 403
    client.post(f"/admin/webhooks/delivery/{delivery.pk}/retry/")
    assert Delivery.objects.get().attempts == 0 and not AuditEntry.objects.filter(action="webhook_delivery.retried")


def test_the_delivery_list_reads_in_a_fixed_number_of_queries(administrator, endpoint, django_assert_max_num_queries):
    for _ in range(15):
        services.send_test(endpoint=endpoint, actor=ACTOR)
    services.send_due(budget_seconds=5)
    with django_assert_max_num_queries(12):
        page = administrator.get("/admin/webhooks/delivery/")
    assert page.status_code == 200 and page.content.decode().count("200 (accepted)") == 15
