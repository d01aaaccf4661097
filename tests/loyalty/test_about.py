import pytest
from django.conf import settings as django_settings
from django.test import override_settings

import loyalty
from tests.factories import StaffUserFactory


@pytest.mark.django_db
def test_about_without_a_key_answers_name_and_version_only(anon):
    response = anon.get("/api/v1/about")
    assert response.status_code == 200
    assert response.json() == {"product": "loyalty-platform", "version": loyalty.__version__}


@pytest.mark.django_db
def test_about_with_a_key_reports_versions_and_services(api):
    response = api.get("/api/v1/about")
    body = response.json()
    assert response.status_code == 200
    assert body["product"] == "loyalty-platform"
    assert body["apiVersion"] == "v1"
    assert body["version"]
    assert body["serverTime"].endswith("Z") or "+" in body["serverTime"]
    assert body["database"]["status"] == "ok"
    assert body["broker"]["status"] in {"ok", "not_configured"}


@pytest.mark.django_db
@override_settings(CELERY_BROKER_URL="redis://127.0.0.1:1/0")
def test_about_says_when_the_broker_does_not_answer(api):
    body = api.get("/api/v1/about").json()
    assert body["broker"]["status"] == "unavailable"
    assert "127.0.0.1" not in str(body)  # no connection details leak


@pytest.mark.django_db
def test_about_shows_no_secrets(api, settings):
    text = api.get("/api/v1/about").content.decode()
    assert settings.SECRET_KEY not in text
    assert "postgres://" not in text and "redis://" not in text


@pytest.mark.django_db
def test_about_with_a_staff_session_reports_everything(client):
    client.force_login(StaffUserFactory(password=None))
    assert "database" in client.get("/api/v1/about").json()


@pytest.mark.django_db
def test_about_with_a_wrong_key_is_refused(anon):
    anon.credentials(HTTP_AUTHORIZATION="Api-Key nope.nope")
    response = anon.get("/api/v1/about")
    assert response.status_code == 401 and response.json()["code"] == "authentication_failed"


@pytest.mark.skipif(not django_settings.CELERY_BROKER_URL, reason="needs a Redis broker (CELERY_BROKER_URL)")
@pytest.mark.django_db
def test_the_broker_check_reuses_one_pooled_connection(api):
    import redis

    server = redis.Redis.from_url(django_settings.CELERY_BROKER_URL)
    assert api.get("/api/v1/about").json()["broker"]["status"] == "ok"  # the pool's connection opens once
    before = server.info("stats")["total_connections_received"]
    for _ in range(20):
        assert api.get("/api/v1/about").json()["broker"]["status"] == "ok"
    assert server.info("stats")["total_connections_received"] - before <= 1  # not one per call (was 20)
