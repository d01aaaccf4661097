"""Exports from the admin: a form with the API's filters (sponsors by name, days of the program's time
zone), checked by the API's serializer; small exports download from the API, large ones are queued; the
memberships export carries each member's balances."""

import csv
import io
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from tests.factories import StaffUserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager(client):
    client.force_login(StaffUserFactory())
    return client


def download(client, response) -> list[dict[str, str]]:
    assert response.status_code == 302, response.content
    got = client.get(response["Location"])
    assert got.status_code == 200, got.content
    return list(csv.DictReader(io.StringIO(b"".join(got.streaming_content).decode("utf-8-sig"))))


def test_bookings_of_one_sponsor_for_last_week(manager, make_member, earn, ledger_program, amsterdam):
    anna = make_member()
    now = timezone.now()
    with time_machine.travel(now - timedelta(days=10), tick=False):
        earn(anna, 100, sponsor=ledger_program.fuel, receipt="OLD")
    with time_machine.travel(now - timedelta(days=3), tick=False):
        earn(anna, 200, sponsor=ledger_program.fuel, receipt="FUEL")
        earn(anna, 300, sponsor=ledger_program.shop, receipt="SHOP")
    form = reverse("admin:backoffice_export", args=["bookings"])
    page = manager.get(form).content.decode()
    assert '<option value="fuel">Fuel</option>' in page  # chosen by name

    today = timezone.localdate(now, amsterdam)
    response = manager.get(
        form,
        {
            "sponsor": "fuel",
            "since": (today - timedelta(days=6)).isoformat(),
            "until": today.isoformat(),
            "format": "csv",
        },
    )

    query = parse_qs(urlsplit(response["Location"]).query)
    assert query["sponsor"] == ["fuel"] and query["since"][0].endswith("+01:00")  # the program's midnight
    rows = download(manager, response)
    assert [(r["receiptId"], r["points"], r["sponsor"]) for r in rows] == [("FUEL", "2.00", "fuel")]


def test_the_memberships_export_has_a_balance_per_point_type(manager, make_member, earn, ledger_program):
    anna, bert = make_member(), make_member()
    earn(anna, 12_345)
    earn(bert, 7, point_type=ledger_program.status)
    response = manager.get(
        reverse("admin:backoffice_export", args=["memberships"]), {"format": "csv", "sort": "number"}
    )
    rows = {r["membershipNumber"]: r for r in download(manager, response)}
    assert (rows[anna.number]["balance:points"], rows[anna.number]["balance:status"]) == ("123.45", "0")
    assert (rows[bert.number]["balance:points"], rows[bert.number]["balance:status"]) == ("0.00", "7")


def test_a_large_export_is_prepared_in_the_background(
    manager, make_member, ledger_program, settings, django_capture_on_commit_callbacks, eager_worker, tmp_path
):
    settings.EXPORT_ASYNC_THRESHOLD = 1
    settings.MEDIA_ROOT = tmp_path
    make_member(), make_member()
    with django_capture_on_commit_callbacks(execute=True):
        response = manager.get(
            reverse("admin:backoffice_export", args=["memberships"]), {"format": "csv", "sort": "number"}
        )
    assert response.status_code == 302 and "?job=" in response["Location"]
    page = manager.get(response["Location"]).content.decode()
    assert "Ready: 2 rows." in page and "/download" in page


def test_bad_values_are_shown_on_the_form_and_export_nothing(manager, ledger_program):
    response = manager.get(
        reverse("admin:backoffice_export", args=["expiryForecast"]), {"format": "csv", "months": "99"}
    )
    assert response.status_code == 200
    assert "Ensure this value is less than or equal to 60." in response.content.decode()


def test_exports_are_not_for_support_agents(client, ledger_program):
    from django.contrib.auth.models import Group

    agent = StaffUserFactory(is_superuser=False)
    agent.groups.add(Group.objects.get(name="Support agent"))
    client.force_login(agent)
    assert client.get(reverse("admin:backoffice_export", args=["memberships"])).status_code == 403


def test_the_form_says_its_sort_orders_and_days_in_words(manager, ledger_program):
    from backoffice.exports import sort_label

    assert [sort_label(s) for s in ("createdAt", "-enrolledAt", "lastName", "month")] == [
        "Created at, oldest first",
        "Enrolled at, newest first",
        "Last name, A to Z",
        "Month",
    ]
    page = manager.get(reverse("admin:backoffice_export", args=["bookings"])).content.decode()
    assert "Created at, newest first" in page and ">-createdAt<" not in page
    assert "Booked on or before this day" in page and "Booked before." not in page
