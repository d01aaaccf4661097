"""Changing the program's currency or time zone once it has bookings asks for a confirmation that
says what it changes; nothing is saved until it is confirmed. Without data it saves at once."""

import pytest
from django.test import Client

from loyalty.models import AuditEntry, Program
from tests.factories import StaffUserFactory
from tests.promotions.conftest import buy, new_member

pytestmark = pytest.mark.django_db


def program_form(program: Program, **changes) -> dict:
    data = {
        "name": program.name,
        "currency": program.currency,
        "time_zone": program.time_zone,
        "points_precision": program.points_precision,
        "rounding": program.rounding,
        "unknown_products": program.unknown_products,
        "expiry_forecast_days": program.expiry_forecast_days,
        "support_adjustment_limit": program.support_adjustment_limit,
        "tier_window": program.tier_window,
        "tier_grace_days": program.tier_grace_days,
        **({"unique_email": "on"} if program.unique_email else {}),
        **({"anonymous_on_unknown_card": "on"} if program.anonymous_on_unknown_card else {}),
    }
    return {**data, **changes}


@pytest.fixture
def manager() -> Client:
    client = Client()
    client.force_login(StaffUserFactory())
    return client


def test_a_new_currency_with_booked_purchases_is_saved_only_when_confirmed(manager, tx_program):
    buy(new_member(), [("COF-001", "1", "6.49")])
    program = Program.current()
    url = f"/admin/loyalty/program/{program.pk}/change/"
    asked = manager.post(url, program_form(program, currency="USD", time_zone="Asia/Tokyo"))
    page = asked.content.decode()
    assert asked.status_code == 200 and "Change the program&#x27;s settings?" in page
    assert "1 purchase was booked in EUR" in page and "those in EUR are refused" in page
    assert "Expiry dates already set stay as they are" in page and "Asia/Tokyo" in page
    program.refresh_from_db()
    assert (program.currency, program.time_zone) != ("USD", "Asia/Tokyo")  # nothing saved yet
    assert not AuditEntry.objects.filter(action="program.updated").exists()
    done = manager.post(url, {**program_form(program, currency="USD", time_zone="Asia/Tokyo"), "_confirmed": "1"})
    assert done.status_code == 302
    program.refresh_from_db()
    assert (program.currency, program.time_zone) == ("USD", "Asia/Tokyo")
    assert AuditEntry.objects.filter(action="program.updated").count() == 1


def test_other_settings_and_a_program_without_data_save_at_once(manager, tx_program):
    program = Program.current()
    url = f"/admin/loyalty/program/{program.pk}/change/"
    assert manager.post(url, program_form(program, time_zone="Asia/Tokyo")).status_code == 302  # no data yet
    program.refresh_from_db()
    assert program.time_zone == "Asia/Tokyo"
    buy(new_member(), [("COF-001", "1", "6.49")])
    assert manager.post(url, program_form(program, name="Renamed")).status_code == 302  # nothing sensitive
    program.refresh_from_db()
    assert program.name == "Renamed"
