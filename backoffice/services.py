"""The back office's own writes: releasing login lockouts and adding a staff user's authenticator. The admin and
the `add_authenticator` command call these, so the audit log sees each one."""

from __future__ import annotations

from axes.models import AccessAttempt
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import QuerySet
from django_otp.plugins.otp_totp.models import TOTPDevice

from loyalty.actors import Actor
from loyalty.audit import record_audit


@transaction.atomic
def release_lockouts(*, attempts: QuerySet[AccessAttempt], actor: Actor) -> int:
    """Forget the failed sign-ins of these user names and addresses, so they may try again at once (django-axes
    counts failures in these rows: without them there is no lockout)."""
    released = 0
    for attempt in attempts.select_for_update():
        record_audit(
            actor,
            "login.lockout_released",
            object_type="axes.accessattempt",
            object_id=str(attempt.pk),
            object_repr=f"{attempt.username} from {attempt.ip_address}",
            changes={"failures": [attempt.failures_since_start, 0]},
        )
        attempt.delete()
        released += 1
    return released


@transaction.atomic
def save_authenticator(*, device: TOTPDevice, actor: Actor) -> TOTPDevice:
    """Store a staff user's authenticator (a TOTP device): from the next sign-in on, its code is asked for."""
    created = device.pk is None
    device.save()
    record_audit(
        actor,
        "user.authenticator_added" if created else "user.authenticator_changed",
        device,
        object_repr=f"{device.name} of {device.user}",
        changes={"confirmed": [None, device.confirmed]} if created else {},
    )
    return device


def new_authenticator(*, user: AbstractBaseUser, name: str, actor: Actor) -> TOTPDevice:
    """A new confirmed authenticator with a random key for the user."""
    return save_authenticator(device=TOTPDevice(user=user, name=name, confirmed=True), actor=actor)
