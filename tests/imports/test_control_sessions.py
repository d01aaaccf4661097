"""The import controls' GET forms change state, so they answer API keys only: an admin's session cookie,
which a browser sends along on a link from another site (SameSite=Lax), gets 405 and changes nothing; the
POST forms take a session with its CSRF token."""

import pytest
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client

from imports.models import BatchStatus, ImportBatch
from imports.services import cancel_batch
from memberships.models import Membership
from tests.factories import StaffUserFactory
from tests.imports.conftest import IMPORTS

pytestmark = pytest.mark.django_db

CROSS_SITE = {"HTTP_REFERER": "https://attacker.example/page", "HTTP_SEC_FETCH_SITE": "cross-site"}


def queued(api, n: int = 3) -> ImportBatch:
    records = [{"firstName": "P", "lastName": f"N{i}", "email": f"p{i}@example.com"} for i in range(n)]
    response = api.post(f"{IMPORTS}/memberships", records, format="json")
    assert response.status_code == 202, response.json()
    return ImportBatch.objects.get(key=response.json()["key"])


@pytest.fixture
def admin_browser() -> Client:
    """A browser holding only the admin's session cookie, as a link on another site would send it."""
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(StaffUserFactory(password=None))
    return browser


@pytest.mark.parametrize(
    "path, param, before",
    [
        ("queuetype", "type", BatchStatus.CANCELLED),
        ("queuebatch", "key", BatchStatus.CANCELLED),
        ("cancelbatch", "key", BatchStatus.QUEUED),
    ],
)
def test_a_cross_site_get_with_the_admin_session_changes_nothing(
    api, program, run, admin_browser, system_actor, path, param, before
):
    batch = queued(api)
    if before == BatchStatus.CANCELLED:
        cancel_batch(batch=batch, actor=system_actor)
    value = "memberships" if param == "type" else batch.key

    response = run(lambda: admin_browser.get(f"{IMPORTS}/{path}", {param: value}, **CROSS_SITE))

    assert response.status_code == 405
    body = response.json()
    assert body["code"] == "get_needs_api_key" and "POST" in body["detail"]
    assert response["Allow"] == "POST, OPTIONS"
    batch.refresh_from_db()
    assert batch.status == before
    assert Membership.objects.count() == 0


def test_the_get_forms_still_answer_an_api_key(api, program, run, system_actor):
    batch = queued(api)
    cancel_batch(batch=batch, actor=system_actor)
    response = run(lambda: api.get(f"{IMPORTS}/queuetype", {"type": "memberships"}))
    assert response.status_code == 200, response.json()
    batch.refresh_from_db()
    assert batch.status == BatchStatus.COMPLETED and Membership.objects.count() == 3


def test_a_session_uses_the_post_form_with_its_csrf_token(api, program, run, admin_browser, system_actor):
    batch = queued(api)
    cancel_batch(batch=batch, actor=system_actor)
    token = _get_new_csrf_string()
    admin_browser.cookies["csrftoken"] = token
    response = run(
        lambda: admin_browser.post(
            f"{IMPORTS}/queuebatch", {"key": batch.key}, content_type="application/json", HTTP_X_CSRFTOKEN=token
        )
    )
    assert response.status_code == 200, response.json()
    batch.refresh_from_db()
    assert batch.status == BatchStatus.COMPLETED and Membership.objects.count() == 3
