"""Every endpoint that reads a cursor refuses one it did not hand out the same way: 400
`validation_error` naming `cursor` with the code `invalid_cursor` (never a 500, never another code)."""

import base64

import pytest

from loyalty.actors import Actor
from loyalty.audit import record_audit
from loyalty.outbox import emit_event
from tests.factories import SponsorFactory

pytestmark = pytest.mark.django_db


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


# Not base64 at all; base64 of something that is not a position; a position below zero or beyond
# any id (the database would overflow on it); bytes that are not text.
BAD_CURSORS = [
    "garbage!",
    b64("hello"),
    b64("p=abc"),
    b64("p=-1"),
    b64("-1"),
    b64(str(2**70)),
    b64(f"p={2**70}"),
    base64.urlsafe_b64encode(b"\xff\xfe").decode(),
]


def assert_invalid_cursor(response) -> None:
    body = response.json()
    assert response.status_code == 400, body
    assert body["code"] == "validation_error"
    assert body["errors"] == [{"field": "cursor", "code": "invalid_cursor", "message": body["errors"][0]["message"]}]


@pytest.fixture
def logs(api):
    """A few audit entries and events, so the logs have pages to point into."""
    actor = Actor.for_system("tests")
    sponsor = SponsorFactory()
    for i in range(3):
        record_audit(actor, "sponsor.updated", sponsor, changes={"name": [str(i), str(i + 1)]})
        emit_event("test.happened", payload={"n": i})


@pytest.mark.parametrize("cursor", BAD_CURSORS)
@pytest.mark.parametrize("path", ["/api/v1/audits", "/api/v1/loyaltyops/events/list"])
def test_a_log_refuses_a_cursor_it_did_not_hand_out_with_invalid_cursor(api, logs, path, cursor):
    assert_invalid_cursor(api.get(path, {"cursor": cursor}))


@pytest.mark.parametrize("path", ["/api/v1/audits", "/api/v1/loyaltyops/events/list"])
def test_a_log_takes_back_the_cursor_it_handed_out(api, logs, path):
    first = api.get(path, {"limit": 1}).json()
    assert first["next"]
    assert api.get(first["next"]).status_code == 200
