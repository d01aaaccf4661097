"""Every admin and API docs page sends the one Content-Security-Policy (config/settings/security.py):
everything from this server, no inline script, an inline <style> or <script> only with the request's
nonce; the docs pages add only what their viewers need (loyalty/api/docs.py). The browser tests fail on
any violation in the console (tests/browser_fixtures.py)."""

import re

import pytest
from django.test import Client

from tests.factories import StaffUserFactory

pytestmark = pytest.mark.django_db

BASE = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}


def directives(header: str) -> dict[str, list[str]]:
    """The policy's directives, less the nonce: django-csp adds one to script-src and style-src on a page
    that uses it, and a page that has none allows no inline script or style at all."""
    parts = (part.split() for part in header.split(";"))
    return {name: [s for s in sources if not s.startswith("'nonce-")] for name, *sources in parts}


@pytest.fixture
def staff_client():
    client = Client()
    client.force_login(StaffUserFactory())
    return client


@pytest.mark.parametrize("path", ["/admin/", "/admin/memberships/membership/", "/admin/loyalty/auditentry/"])
def test_admin_pages_send_the_policy(staff_client, path):
    response = staff_client.get(path)
    assert response.status_code == 200
    assert directives(response["Content-Security-Policy"]) == BASE


def test_the_login_page_sends_the_policy_before_anyone_signs_in(client):
    assert directives(client.get("/admin/login/")["Content-Security-Policy"]) == BASE


def test_swagger_ui_adds_data_images_only_and_starts_from_a_script_of_this_server(staff_client):
    page = staff_client.get("/api/docs/")
    assert directives(page["Content-Security-Policy"]) == {**BASE, "img-src": ["'self'", "data:"]}
    html = page.content.decode()
    assert "<style" not in html and re.search(r"<script>", html) is None
    assert 'src="/api/docs/?script="' in html
    script = staff_client.get("/api/docs/?script=")
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")


def test_redoc_adds_data_images_and_a_blob_worker_only(staff_client):
    page = staff_client.get("/api/redoc/")
    policy = page["Content-Security-Policy"]
    found = directives(policy)
    assert [s for s in found["style-src"] if not s.startswith("'sha256-")] == ["'self'"]  # its bundle's CSS
    found["style-src"] = None
    assert found == {**BASE, "style-src": None, "img-src": ["'self'", "data:"], "worker-src": ["blob:"]}
    nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
    assert f"script-src 'self' 'nonce-{nonce}'" in policy and f"style-src 'self' 'nonce-{nonce}'" in policy
    html = page.content.decode()
    assert "<style" not in html and "fonts.googleapis.com" not in html
    assert f'src="/static/loyalty/redoc.js" nonce="{nonce}"' in html  # Redoc hands it to its <style> elements


def test_no_admin_template_has_an_inline_style_attribute_or_event_handler():
    from pathlib import Path

    from django.conf import settings

    roots = [Path(settings.BASE_DIR) / "templates", *Path(settings.BASE_DIR).glob("*/templates")]
    offenders = [
        f"{path}: {match.group(0)}"
        for root in roots
        for path in root.rglob("*.html")
        for match in re.finditer(r"<style(?![^>]*nonce)|\sstyle=\"|\son[a-z]+=\"", path.read_text())
    ]
    assert offenders == []


def test_answers_that_are_not_pages_carry_the_fixed_policy_that_allows_nothing(staff_client):
    for path in ("/api/v1/promos/program", "/api/v1/nosuchthing", "/api/docs/?script="):
        answer = staff_client.get(path)
        assert not answer["Content-Type"].startswith("text/html")
        assert answer["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'", path
