"""The admin shows times in the program's time zone and names it; the header says which environment
this is. The API is not affected (it answers ISO 8601 with offsets)."""

from datetime import UTC, datetime

import pytest
from django.test import Client

from loyalty.actors import Actor
from loyalty.models import MembershipType, Program
from loyalty.services import save_configuration
from memberships.models import Membership
from memberships.services.enrollment import enroll_membership
from tests.factories import StaffUserFactory

pytestmark = pytest.mark.django_db


def test_admin_pages_show_times_in_the_program_time_zone_and_name_it():
    actor = Actor.for_system("tests")
    program = Program.current()
    program.time_zone = "Asia/Tokyo"  # +09:00 all year
    save_configuration(program, actor=actor)
    save_configuration(MembershipType(key="consumer", name="Consumer", is_default=True), actor=actor)
    member = enroll_membership(actor=actor, first_name="Tomo", last_name="Kato", email="tomo@example.com")
    Membership.objects.filter(pk=member.pk).update(enrolled_at=datetime(2026, 1, 15, 3, 30, tzinfo=UTC))
    client = Client()
    client.force_login(StaffUserFactory())
    page = client.get(f"/admin/memberships/membership/{member.pk}/change/").content.decode()
    assert "Jan. 15, 2026, 12:30 p.m." in page and "3:30 a.m." not in page
    assert "Times in Asia/Tokyo" in page
    assert 'class="environment development"' in page


def test_visiting_the_admin_creates_no_program_row():
    client = Client()
    client.force_login(StaffUserFactory())
    assert client.get("/admin/").status_code == 200
    assert not Program.objects.exists()
