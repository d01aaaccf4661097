"""Signing in to the admin: wrong passwords pause a user name at an address (django-axes), a pause is listed and
released in the admin, and staff with an authenticator (django-otp) give its code; ADMIN_REQUIRE_2FA makes it
required for everyone."""

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client, override_settings
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from backoffice.models import LoginLockout
from backoffice.services import new_authenticator
from loyalty.actors import Actor
from loyalty.models import AuditEntry
from tests.browser_fixtures import PASSWORD
from tests.factories import StaffUserFactory

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/"


def sign_in(client: Client, username: str, password: str = PASSWORD, **extra):
    return client.post(LOGIN, {"username": username, "password": password, "next": "/admin/", **extra})


def signed_in(client: Client) -> bool:
    return client.get("/admin/").status_code == 200


def code_of(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


def test_five_wrong_passwords_pause_that_user_name_at_that_address_for_fifteen_minutes():
    anna = StaffUserFactory(username="anna")
    StaffUserFactory(username="ben")
    attacker = Client(REMOTE_ADDR="203.0.113.7")
    for _ in range(4):
        assert sign_in(attacker, "anna", "guess").status_code == 200  # the form again, with its error
    paused = sign_in(attacker, "anna", "guess")
    assert paused.status_code == 429 and b"Sign-in paused" in paused.content
    assert b"5 wrong passwords" in paused.content and b"15 minutes" in paused.content

    assert sign_in(attacker, "anna").status_code == 429  # even the right password, from there
    assert not signed_in(attacker)
    assert sign_in(Client(REMOTE_ADDR="198.51.100.2"), "anna").status_code == 302  # another address
    assert sign_in(attacker, "ben").status_code == 302  # another user name
    assert anna.is_active

    with time_machine.travel(timezone.now() + timezone.timedelta(minutes=16)):
        later = Client(REMOTE_ADDR="203.0.113.7")
        assert sign_in(later, "anna").status_code == 302 and signed_in(later)


@override_settings(AXES_FAILURE_LIMIT=2)
def test_the_limit_is_a_setting():
    StaffUserFactory(username="anna")
    client = Client(REMOTE_ADDR="203.0.113.7")
    assert sign_in(client, "anna", "guess").status_code == 200
    assert sign_in(client, "anna", "guess").status_code == 429


def test_a_pause_is_listed_and_released_in_the_admin_with_an_audit_entry():
    StaffUserFactory(username="anna")
    attacker = Client(REMOTE_ADDR="203.0.113.7")
    for _ in range(5):
        sign_in(attacker, "anna", "guess")
    admin = Client()
    admin.force_login(StaffUserFactory(username="root"))

    page = admin.get("/admin/backoffice/loginlockout/")
    text = page.content.decode()
    assert "203.0.113.7" in text and "paused until" in text and "Failed sign-ins" in text
    assert "Let them sign in again" in text

    lockout = LoginLockout.objects.get(username="anna")
    done = admin.post(
        "/admin/backoffice/loginlockout/", {"action": "let_sign_in_again", "_selected_action": [lockout.pk]}
    )
    assert done.status_code == 302
    assert not LoginLockout.objects.exists()
    entry = AuditEntry.objects.get(action="login.lockout_released")
    assert entry.object_repr == "anna from 203.0.113.7" and entry.actor_label == "user:root"
    assert sign_in(attacker, "anna").status_code == 302


def test_staff_with_an_authenticator_give_its_code():
    anna = StaffUserFactory(username="anna")
    device = new_authenticator(user=anna, name="phone", actor=Actor.for_system("tests"))
    client = Client()

    without = sign_in(client, "anna")
    assert without.status_code == 200 and "the code your authenticator app shows" in without.content.decode()
    assert not signed_in(client)
    wrong = sign_in(client, "anna", otp_token="000000" if code_of(device) != "000000" else "111111")
    assert wrong.status_code == 200 and "That code is not right" in wrong.content.decode()
    assert not signed_in(client)
    with time_machine.travel(timezone.now() + timezone.timedelta(seconds=5)):  # django-otp's pause after a miss
        device.refresh_from_db()
        assert sign_in(client, "anna", otp_token=code_of(device)).status_code == 302
        assert signed_in(client)
    assert AuditEntry.objects.filter(action="user.authenticator_added", object_id=str(device.pk)).exists()


def test_staff_without_an_authenticator_sign_in_with_the_password_alone_by_default():
    StaffUserFactory(username="anna")
    client = Client()
    page = client.get(LOGIN).content.decode()
    assert "Code from your authenticator app" in page and "Only if you set one up" in page
    assert sign_in(client, "anna").status_code == 302 and signed_in(client)


@override_settings(ADMIN_REQUIRE_2FA=True)
def test_with_two_factor_required_staff_without_an_authenticator_cannot_sign_in():
    anna = StaffUserFactory(username="anna")
    client = Client()
    refused = sign_in(client, "anna")
    assert refused.status_code == 200 and "has none yet" in refused.content.decode()
    assert not signed_in(client)

    session_only = Client()
    session_only.force_login(anna)  # a session that never gave a code (say, from before the setting)
    assert session_only.get("/admin/").status_code == 302
    assert session_only.get("/api/v1/promos/program").status_code == 401

    device = new_authenticator(user=anna, name="phone", actor=Actor.for_system("tests"))
    assert sign_in(client, "anna", otp_token=code_of(device)).status_code == 302
    assert signed_in(client)


def test_the_command_adds_an_authenticator_and_prints_its_setup_link(capsys):
    StaffUserFactory(username="anna")
    call_command("add_authenticator", "anna")
    out = capsys.readouterr().out
    device = TOTPDevice.objects.get(user__username="anna")
    assert device.confirmed and device.config_url in out and "█" in out
