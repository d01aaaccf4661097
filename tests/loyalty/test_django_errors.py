"""Errors Django answers before any view runs are in the API's error shape under /api/ (and Django's pages
elsewhere): a Host header not in ALLOWED_HOSTS."""

import pytest
from django.test import Client


@pytest.mark.django_db
def test_a_bad_host_header_under_the_api_answers_the_error_shape():
    response = Client(HTTP_HOST="evil.example").get("/api/v1/about")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "status": 400,
        "code": "bad_host",
        "detail": "The Host header names no host this server serves.",
        "errors": [],
    }


@pytest.mark.django_db
def test_a_bad_host_header_elsewhere_keeps_djangos_page():
    response = Client(HTTP_HOST="evil.example").get("/admin/login/")
    assert response.status_code == 400 and response["Content-Type"].startswith("text/html")
