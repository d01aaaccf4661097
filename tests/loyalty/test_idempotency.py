import pytest
from django.db import connection
from rest_framework.test import APIClient

from loyalty.models import AuditEntry, IdempotencyRecord, Sponsor
from tests.conftest import run_in_threads

pytestmark = pytest.mark.urls("tests.loyalty.idempotency_urls")
URL = "/api/v1/test/sponsors"


def post(client, body, key="key-1"):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(URL, body, format="json", **headers)


@pytest.mark.django_db
def test_a_repeat_with_the_same_key_and_body_replays_the_first_answer_and_changes_nothing(api):
    first = post(api, {"key": "a", "name": "A"})
    second = post(api, {"key": "a", "name": "A"})
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second["Idempotent-Replayed"] == "true"
    assert Sponsor.objects.count() == 1
    assert AuditEntry.objects.filter(action="sponsor.created").count() == 1


@pytest.mark.django_db
def test_the_same_key_with_another_body_is_a_409(api):
    post(api, {"key": "a", "name": "A"})
    response = post(api, {"key": "b", "name": "B"})
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_key_reused"
    assert Sponsor.objects.count() == 1


@pytest.mark.django_db
def test_keys_belong_to_one_client(api, make_key):
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Api-Key {make_key()}")
    assert post(api, {"key": "a", "name": "A"}).status_code == 201
    assert post(other, {"key": "b", "name": "B"}).status_code == 201
    assert Sponsor.objects.count() == 2


@pytest.mark.django_db
def test_a_business_refusal_is_stored_replayed_and_its_writes_rolled_back(api):
    first = post(api, {"key": "a", "name": "A", "refuse": True})
    assert first.status_code == 409 and first.json()["code"] == "refused"
    assert Sponsor.objects.count() == 0
    again = post(api, {"key": "a", "name": "A", "refuse": True})
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert IdempotencyRecord.objects.get().status_code == 409


@pytest.mark.django_db
def test_validation_errors_are_not_stored(api):
    bad = post(api, {"key": "a"})
    assert bad.status_code == 400 and bad.json()["code"] == "validation_error"
    assert not IdempotencyRecord.objects.exists()
    assert post(api, {"key": "a", "name": "A"}).status_code == 201


@pytest.mark.django_db
def test_without_a_key_every_post_does_the_work(api):
    post(api, {"key": "a", "name": "A"}, key=None)
    assert post(api, {"key": "a", "name": "A"}, key=None).status_code == 400  # key taken: full_clean refuses
    assert Sponsor.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["x" * 256, "bad\x01key"])
def test_malformed_keys_are_refused(api, key):
    response = post(api, {"key": "a", "name": "A"}, key=key)
    assert response.status_code == 400
    assert Sponsor.objects.count() == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_do_the_work_once(make_key):
    raw = make_key()

    def attempt(_):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
        response = post(client, {"key": "same", "name": "Same"}, key="shared-key")
        return response.status_code, response.json()

    results = run_in_threads(20, attempt)
    assert all(not isinstance(r, Exception) for r in results), results
    assert {status for status, _ in results} == {201}
    assert len({str(body) for _, body in results}) == 1
    assert Sponsor.objects.filter(key="same").count() == 1
    assert connection.vendor == "postgresql"


@pytest.mark.django_db
def test_an_api_write_is_audited_with_the_client_the_request_id_and_the_address(api):
    post(api, {"key": "a", "name": "A"}, key=None)
    entry = AuditEntry.objects.get(action="sponsor.created")
    assert entry.actor_type == "client" and entry.actor_client is not None
    assert entry.actor_label == f"client:{entry.actor_client.name}"
    assert len(entry.request_id) == 32 and entry.remote_addr == "127.0.0.1"
