"""Exports: the templates listed with filters and sort options; csv, json lines and xlsx checked by
parsing what comes back; filters and sorting; background jobs polled and downloaded."""

import csv
import io
import json

import pytest
from django.test import override_settings
from openpyxl import load_workbook

from imports.models import ExportJob
from loyalty.models import Event
from tests.imports.conftest import EXPORTS, IMPORTS

pytestmark = pytest.mark.django_db


@pytest.fixture
def members(api, program, run):
    records = [
        {"firstName": "Ada", "lastName": "Zed", "email": "ada@example.com", "city": "Amsterdam"},
        {"firstName": "Bob", "lastName": "Young", "email": "bob@example.com"},
        {"firstName": "Cy", "lastName": "Xu", "email": "cy@example.com", "membershipType": "consumer"},
    ]
    run(lambda: api.post(f"{IMPORTS}/memberships", records, format="json"))
    from memberships.models import Membership

    return list(Membership.objects.order_by("number"))


def content(response) -> bytes:
    return b"".join(response.streaming_content)


def test_templates_are_listed_with_filters_and_sort_options(api, program):
    body = api.get(f"{EXPORTS}/templates").json()
    keys = {t["key"] for t in body}
    assert keys >= {"memberships", "transactions", "bookings", "vouchers", "sponsorLiability", "expiryForecast"}
    memberships = next(t for t in body if t["key"] == "memberships")
    assert "status" in {f["name"] for f in memberships["filters"]}
    assert "membershipType" in {f["name"] for f in memberships["filters"]}
    assert "-enrolledAt" in memberships["sort"] and memberships["formats"] == ["csv", "json", "xlsx"]
    assert "email" in memberships["columns"]


def test_csv_export_streams_and_parses(api, members):
    response = api.get(f"{EXPORTS}/memberships", {"format": "csv", "sort": "lastName"})
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(content(response).decode("utf-8-sig"))))
    assert [r["lastName"] for r in rows] == ["Xu", "Young", "Zed"]
    assert rows[2]["city"] == "Amsterdam" and rows[2]["email"] == "ada@example.com"


def test_json_lines_export_parses_line_by_line(api, members):
    response = api.get(f"{EXPORTS}/memberships", {"format": "json"})
    assert response["Content-Type"] == "application/x-ndjson"
    lines = [json.loads(line) for line in content(response).decode().splitlines()]
    assert [line["membershipNumber"] for line in lines] == [m.number for m in members]
    assert lines[0]["status"] == "active"


def test_xlsx_export_opens_as_a_workbook(api, members):
    response = api.get(f"{EXPORTS}/memberships", {"format": "xlsx"})
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(content(response)), read_only=True)
    rows = list(workbook.active.iter_rows(values_only=True))
    assert rows[0][0] == "membershipNumber" and len(rows) == 4
    assert {r[0] for r in rows[1:]} == {m.number for m in members}


def test_every_format_writes_times_as_the_api_does(api, members):
    """csv and json lines: ISO 8601 with `T` and the offset, character for character the API's value;
    xlsx: a real date-time cell in UTC, shown the same way."""
    from datetime import UTC, datetime

    member = members[0]
    member.enrolled_at = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=UTC)
    member.save(update_fields=["enrolled_at"])
    shown = api.get(f"/api/v1/memberships/{member.number}/details").json()["enrolledAt"]
    assert shown == "2026-03-01T09:30:15.123456Z"

    lines = content(api.get(f"{EXPORTS}/memberships", {"format": "json"})).decode().splitlines()
    by_number = {row["membershipNumber"]: row for row in map(json.loads, lines)}
    assert by_number[member.number]["enrolledAt"] == shown
    assert all("T" in row["enrolledAt"] and " " not in row["enrolledAt"] for row in by_number.values())
    assert all(datetime.fromisoformat(row["enrolledAt"]).tzinfo for row in by_number.values())

    text = content(api.get(f"{EXPORTS}/memberships", {"format": "csv"})).decode("utf-8-sig")
    rows = {row["membershipNumber"]: row for row in csv.DictReader(io.StringIO(text))}
    assert rows[member.number]["enrolledAt"] == shown

    workbook = load_workbook(io.BytesIO(content(api.get(f"{EXPORTS}/memberships", {"format": "xlsx"}))))
    sheet = workbook.active
    column = [c.value for c in sheet[1]].index("enrolledAt") + 1
    moment = next(
        sheet.cell(row=r, column=column) for r in range(2, sheet.max_row + 1) if sheet.cell(r, 1).value == member.number
    )
    assert moment.is_date and moment.value == datetime(2026, 3, 1, 9, 30, 15, 123000)  # Excel keeps milliseconds
    assert moment.number_format == 'yyyy-mm-dd"T"hh:mm:ss"Z"'


def test_times_inside_json_values_are_written_as_the_api_does():
    from datetime import UTC, date, datetime
    from decimal import Decimal

    from imports.exports import cell, jsonl_stream

    moment = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    row = [moment, {"at": moment, "day": date(2026, 3, 1), "points": Decimal("1.50")}]
    line = json.loads(next(jsonl_stream(["at", "more"], [row])))
    assert line == {
        "at": "2026-03-01T09:30:00Z",
        "more": {"at": "2026-03-01T09:30:00Z", "day": "2026-03-01", "points": "1.50"},
    }
    assert cell(moment) == "2026-03-01T09:30:00Z"
    assert json.loads(cell(row[1]))["at"] == "2026-03-01T09:30:00Z"


def test_filters_narrow_the_export(api, members):
    response = api.get(f"{EXPORTS}/memberships", {"format": "json", "status": "cancelled"})
    assert content(response) == b""
    response = api.get(f"{EXPORTS}/memberships", {"format": "json", "membershipType": "consumer"})
    assert len(content(response).splitlines()) == 3


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"format": "pdf"}, 400, "validation_error"),
        ({"sort": "shoeSize"}, 400, "validation_error"),
        ({"colour": "red"}, 400, "validation_error"),
        ({"since": "yesterday"}, 400, "validation_error"),
        ({"status": "weird"}, 400, "validation_error"),
    ],
)
def test_bad_export_parameters_are_400s(api, program, params, status, code):
    response = api.get(f"{EXPORTS}/memberships", params)
    assert response.status_code == status and response.json()["code"] == code


def test_an_unknown_template_is_a_404(api, program):
    response = api.get(f"{EXPORTS}/spaceships")
    assert response.status_code == 404 and response.json()["code"] == "unknown_export_template"


def test_bookings_transactions_liability_and_expiry_export(api, program, member, earn, run):
    from datetime import timedelta

    from django.utils import timezone

    earn(member, 1500, expires_at=timezone.now() + timedelta(days=40))
    tx = {
        "txId": "T-1",
        "receiptId": "R-1",
        "membershipKey": member.number,
        "channel": "webshop",
        "occurredAt": (timezone.now() - timedelta(days=30)).isoformat(),
        "totalAmount": "12.98",
        "currency": "EUR",
        "items": [{"productKey": "COF-001", "quantity": "2", "unitPrice": "6.49", "amount": "12.98"}],
    }
    run(lambda: api.post(f"{IMPORTS}/transactions", [tx], format="json"))

    def rows(template, **params):
        response = api.get(f"{EXPORTS}/{template}", {"format": "json", **params})
        assert response.status_code == 200, response
        return [json.loads(line) for line in content(response).decode().splitlines()]

    bookings = rows("bookings", membership=member.number)
    assert {b["points"] for b in bookings} == {"15.00", "12.98"}
    transactions = rows("transactions")
    assert transactions[0]["txId"] == "T-1" and transactions[0]["points"] == "points:12.98"
    assert transactions[0]["rewards"] == "base:points:12.98"
    liability = rows("sponsorLiability")
    shop = next(r for r in liability if r["sponsor"] == "shop" and r["pointType"] == "points")
    assert shop["issued"] == "27.98" and shop["outstanding"] == "27.98"
    forecast = rows("expiryForecast", months=3)
    assert sum(float(r["points"]) for r in forecast) == 15.0


def test_vouchers_export(api, program, member, run):
    from tests.vouchers.factories import VoucherTypeFactory

    VoucherTypeFactory(key="ten-off")
    run(
        lambda: api.post(f"{IMPORTS}/vouchers", [{"voucherType": "ten-off", "recipient": member.number}], format="json")
    )
    response = api.get(f"{EXPORTS}/vouchers", {"format": "csv", "recipient": member.number})
    rows = list(csv.DictReader(io.StringIO(content(response).decode("utf-8-sig"))))
    assert len(rows) == 1 and rows[0]["voucherType"] == "ten-off" and rows[0]["status"] == "issued"


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_async_export_runs_as_a_job_the_caller_polls_and_downloads(api, members, run, fmt):
    response = run(lambda: api.get(f"{EXPORTS}/memberships", {"format": fmt, "async": "true"}))
    assert response.status_code == 202
    job = response.json()
    polled = api.get(job["pollUrl"]).json()
    assert polled["status"] == "completed" and polled["rows"] == 3
    download = api.get(polled["downloadUrl"])
    assert download.status_code == 200
    data = content(download)
    if fmt == "csv":
        assert len(list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))) == 4
    else:
        assert len(list(load_workbook(io.BytesIO(data), read_only=True).active.iter_rows())) == 4
    assert Event.objects.filter(type="export.completed", payload__key=job["key"]).exists()


@override_settings(EXPORT_ASYNC_THRESHOLD=2)
def test_a_large_export_becomes_a_job_on_its_own(api, members, run):
    response = run(lambda: api.get(f"{EXPORTS}/memberships"))
    assert response.status_code == 202 and response.json()["status"] == "queued"


def test_a_job_not_finished_cannot_be_downloaded_and_unknown_jobs_are_404(api, members):
    response = api.get(f"{EXPORTS}/memberships", {"async": "true"})  # its worker never runs here
    job = ExportJob.objects.get(key=response.json()["key"])
    refused = api.get(f"/api/v1/exports/jobs/{job.key}/download")
    assert refused.status_code == 409 and refused.json()["code"] == "export_not_ready"
    assert api.get("/api/v1/exports/jobs/nope").json()["code"] == "export_job_not_found"


def test_text_a_spreadsheet_would_run_as_a_formula_is_neutralised(api, program, run):
    record = {"firstName": '=HYPERLINK("http://evil")', "lastName": "-1+1", "email": "f@example.com"}
    run(lambda: api.post(f"{IMPORTS}/memberships", [record], format="json"))
    rows = list(csv.DictReader(io.StringIO(content(api.get(f"{EXPORTS}/memberships")).decode("utf-8-sig"))))
    assert rows[0]["firstName"].startswith("'=") and rows[0]["lastName"] == "'-1+1"
    workbook = load_workbook(io.BytesIO(content(api.get(f"{EXPORTS}/memberships", {"format": "xlsx"}))))
    assert workbook.active["E2"].value.startswith("'=") and workbook.active["E2"].data_type == "s"


def test_negative_points_stay_numbers(api, program, member, earn):
    from ledger.services import adjust_points
    from tests.ledger.conftest import ACTOR

    earn(member, 500)
    adjust_points(
        membership=member, points=-200, point_type=program.points, sponsor=program.shop, reason="fix", actor=ACTOR
    )
    rows = list(csv.DictReader(io.StringIO(content(api.get(f"{EXPORTS}/bookings")).decode("utf-8-sig"))))
    assert sorted(r["points"] for r in rows) == ["-2.00", "5.00"]


def test_templates_are_found_by_text_and_format_and_sorted(api, program):
    found = api.get(f"{EXPORTS}/templates", {"q": "VOUCH"}).json()
    assert [t["key"] for t in found] == ["vouchers"]
    every = api.get(f"{EXPORTS}/templates", {"format": "xlsx", "ordering": "-key"}).json()
    keys = [t["key"] for t in every]
    assert keys == sorted(keys, key=str.lower, reverse=True) and len(keys) >= 6
    by_title = [t["title"] for t in api.get(f"{EXPORTS}/templates", {"ordering": "title"}).json()]
    assert by_title == sorted(by_title, key=str.lower)
    for bad in ({"format": "pdf"}, {"ordering": "size"}, {"sort": "key"}):
        response = api.get(f"{EXPORTS}/templates", bad)
        assert response.status_code == 400 and response.json()["code"] == "validation_error"
