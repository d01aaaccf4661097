import pytest
from django.test import override_settings


@pytest.mark.django_db
def test_about_needs_no_key_and_reports_versions_and_services(anon):
    response = anon.get("/api/v1/about")
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
def test_about_says_when_the_broker_does_not_answer(anon):
    body = anon.get("/api/v1/about").json()
    assert body["broker"]["status"] == "unavailable"
    assert "127.0.0.1" not in str(body)  # no connection details leak


@pytest.mark.django_db
def test_about_shows_no_secrets(anon, settings):
    text = anon.get("/api/v1/about").content.decode()
    assert settings.SECRET_KEY not in text
    assert "postgres://" not in text and "redis://" not in text
