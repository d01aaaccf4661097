"""What an operation reads and sends, in the schema and on the server: JSON bodies only (a file upload
is multipart), downloads in their real media types, a server to call, and how to send the key."""

import pytest
from django.test import override_settings

from tests.test_schema import generate

JSON = "application/json"
UPLOADS = {("post", "/api/v1/csvimports/{importType}"): {"multipart/form-data", "text/csv"}}
DOWNLOADS = {
    ("get", "/api/v1/exports/{template}"): {
        "text/csv",
        "application/x-ndjson",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    },
    ("get", "/api/v1/exports/jobs/{key}/download"): {
        "text/csv",
        "application/x-ndjson",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    },
    ("get", "/api/v1/imports/{key}/csv"): {"text/csv"},
    ("get", "/api/v1/imports/{key}"): {JSON, "text/csv"},
}


@pytest.fixture(scope="module")
def schema():
    return generate()[0]


def operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield method, path, operation


def test_request_bodies_are_json_unless_a_file_is_uploaded(schema):
    wrong = {}
    for method, path, operation in operations(schema):
        types = set(operation.get("requestBody", {}).get("content", {}))
        expected = UPLOADS.get((method, path), {JSON} if types else set())
        if types != expected:
            wrong[f"{method.upper()} {path}"] = sorted(types)
    assert wrong == {}


def test_downloads_declare_the_media_types_the_server_sends(schema):
    for (method, path), expected in DOWNLOADS.items():
        answer = schema["paths"][path][method]["responses"]["200"]["content"]
        assert set(answer) == expected, path
    others = {
        f"{m.upper()} {p}": sorted(t)
        for m, p, op in operations(schema)
        if (m, p) not in DOWNLOADS
        for code, response in op["responses"].items()
        if (t := set(response.get("content", {}))) - {JSON}
    }
    assert others == {}


def test_servers_and_the_key_header(schema, client):
    assert schema["servers"] == [{"url": "http://127.0.0.1:8000", "description": "This loyalty platform"}]
    scheme = schema["components"]["securitySchemes"]["ApiKey"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "Authorization")
    assert "`Authorization: Api-Key <key>`" in scheme["description"]


@override_settings(API_PUBLIC_URL="https://loyalty.example.com")
def test_the_server_of_a_schema_from_the_command_line_is_configured():
    assert generate()[0]["servers"][0]["url"] == "https://loyalty.example.com"


def test_a_served_schema_names_the_host_it_was_read_from(api):
    response = api.get("/api/schema/?format=json", HTTP_HOST="localhost")
    assert response.status_code == 200
    assert response.json()["servers"][0]["url"] == "http://localhost"


@pytest.mark.parametrize(
    "content_type, body",
    [
        (
            "multipart/form-data; boundary=xyz",
            b'--xyz\r\nContent-Disposition: form-data; name="reason"\r\n\r\nx\r\n--xyz--\r\n',
        ),
        ("application/x-www-form-urlencoded", b"reason=x"),
        ("text/plain", b'{"reason": "x"}'),
    ],
)
def test_a_json_operation_refuses_other_bodies_and_changes_nothing(api, content_type, body, db):
    from memberships.models import Membership
    from tests.memberships.factories import MembershipFactory

    member = MembershipFactory()
    response = api.generic("POST", f"/api/v1/memberships/{member.number}/cancel", body, content_type=content_type)
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"
    assert Membership.objects.get(pk=member.pk).status == member.status
