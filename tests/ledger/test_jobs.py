"""The periodic jobs and ledger_verify."""

from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from ledger.models import Account
from ledger.tasks import notify_expiring_points, notify_matured_points, verify_ledger
from loyalty.models import Event

pytestmark = pytest.mark.django_db


def test_matured_points_are_announced_once(member, earn):
    earn(member, 500, matures_in_days=14)
    earn(member, 100)  # never blocked: nothing to announce
    assert notify_matured_points() == 0
    with time_machine.travel(timezone.now() + timedelta(days=15)):
        assert notify_matured_points() == 1
        assert notify_matured_points() == 0
    event = Event.objects.get(type="points.matured")
    assert event.membership_number == member.number and event.payload["amount"] == "5.00"


def test_expiring_points_are_forecast_ahead_by_the_program_setting(member, earn):
    earn(member, 700, expires_at=timezone.now() + timedelta(days=20))
    earn(member, 300, expires_at=timezone.now() + timedelta(days=90))
    assert notify_expiring_points() == 1
    assert notify_expiring_points() == 0
    assert Event.objects.get(type="points.expiring").payload["amount"] == "7.00"


def test_ledger_verify_passes_on_a_sound_ledger_and_reports_a_broken_one(member, earn, ledger_program):
    earn(member, 500)
    out = StringIO()
    call_command("ledger_verify", stdout=out)
    assert "ledger ok" in out.getvalue()
    call_command("ledger_verify", "--membership", member.number, stdout=StringIO())
    assert verify_ledger() == 0

    Account.objects.filter(membership=member).update(balance=999)  # corrupt the cache behind the services' back
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("ledger_verify", stdout=out)
    assert "I2" in out.getvalue() and "I3" in out.getvalue()
    assert verify_ledger() == 2
    alert = Event.objects.get(type="ledger.verify_failed")
    assert alert.payload["count"] == 2
    Account.objects.filter(membership=member).update(balance=500)


def test_run_job_knows_the_ledger_jobs():
    out = StringIO()
    call_command("run_job", stdout=out)
    for job in ["expire_points", "notify_matured_points", "notify_expiring_points", "verify_ledger"]:
        assert job in out.getvalue()
