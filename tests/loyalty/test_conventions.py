"""The API conventions every app inherits: error shape, camelCase, strict input, limits."""

import pytest
from django.test import override_settings

from loyalty.models import Sponsor

URL = "/api/v1/test/sponsors"


def assert_error_shape(body, status, code):
    assert set(body) == {"status", "code", "detail", "errors"}
    assert body["status"] == status
    assert body["code"] == code
    assert body["detail"]


@pytest.mark.django_db
@pytest.mark.urls("tests.loyalty.idempotency_urls")
def test_malformed_json_is_a_400_that_changes_nothing(api):
    response = api.generic("POST", URL, "{not json", content_type="application/json")
    assert response.status_code == 400
    assert_error_shape(response.json(), 400, "malformed_request")
    assert not Sponsor.objects.exists()


@pytest.mark.django_db
@pytest.mark.urls("tests.loyalty.idempotency_urls")
def test_wrong_types_and_unknown_fields_name_the_field_in_camel_case(api):
    response = api.post(URL, {"key": "ok", "name": "A", "refuse": "maybe", "sponsorColour": "red"}, format="json")
    body = response.json()
    assert response.status_code == 400
    assert_error_shape(body, 400, "validation_error")
    fields = {e["field"]: e["code"] for e in body["errors"]}
    assert fields == {"refuse": "invalid", "sponsorColour": "unknown_field"}
    assert not Sponsor.objects.exists()


@pytest.mark.django_db
@pytest.mark.urls("tests.loyalty.idempotency_urls")
def test_a_json_array_where_an_object_belongs_is_a_400(api):
    response = api.post(URL, [1, 2], format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"


@pytest.mark.django_db
@pytest.mark.urls("tests.loyalty.idempotency_urls")
def test_responses_are_camel_case(api):
    body = api.post(URL, {"key": "a", "name": "A"}, format="json").json()
    assert set(body) == {"sponsorId", "sponsorCount"}


@pytest.mark.django_db
@pytest.mark.urls("tests.loyalty.idempotency_urls")
@override_settings(API_MAX_BODY_BYTES=100)
def test_an_oversize_body_is_refused_before_it_is_read(api):
    response = api.post(URL, {"key": "a", "name": "x" * 500}, format="json")
    assert response.status_code == 413
    assert_error_shape(response.json(), 413, "payload_too_large")
    assert not Sponsor.objects.exists()


@pytest.mark.django_db
@pytest.mark.urls("tests.loyalty.idempotency_urls")
def test_an_unsupported_media_type_is_a_415(api):
    response = api.generic("POST", URL, "key=a", content_type="text/plain")
    assert response.status_code == 415
    assert_error_shape(response.json(), 415, "unsupported_media_type")


@pytest.mark.django_db
def test_unknown_api_paths_are_404_in_the_error_shape(api):
    response = api.get("/api/v1/no/such/thing")
    assert response.status_code == 404
    assert_error_shape(response.json(), 404, "not_found")


@pytest.mark.django_db
def test_a_wrong_method_is_a_405(api):
    response = api.delete("/api/v1/audits")
    assert response.status_code == 405
    assert_error_shape(response.json(), 405, "method_not_allowed")


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["colour=red", "since=yesterday", "actorType=robot", "limit=2&bogus=1"])
def test_unknown_or_malformed_filters_are_a_400(api, query):
    response = api.get(f"/api/v1/audits?{query}")
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"


@pytest.mark.django_db
def test_every_response_carries_a_request_id(api):
    response = api.get("/api/v1/audits", HTTP_X_REQUEST_ID="trace-42")
    assert response["X-Request-ID"] == "trace-42"
    assert len(api.get("/api/v1/audits")["X-Request-ID"]) == 32
