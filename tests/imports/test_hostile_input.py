"""Imports against hostile input: a JSON body nested too deep or holding a NUL is refused at once (it was a
RecursionError, or a PostgreSQL DataError while storing the records: 500s) and nothing is stored; a JSON
cell of a CSV holding a NUL fails its record with the reason."""

import csv
import io
import json

import pytest

from imports.models import ImportBatch, ImportRecord
from memberships.models import Membership
from tests.imports.conftest import EXPORTS, IMPORTS, csv_bytes, records_by_line

pytestmark = pytest.mark.django_db

MEMBER = {"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com"}


def refused(response, code="malformed_request"):
    body = response.json()
    assert response.status_code == 400 and body["code"] == code, body
    assert not ImportBatch.objects.exists() and not ImportRecord.objects.exists()
    return body


@pytest.mark.parametrize(
    ("record", "field"),
    [
        ({**MEMBER, "firstName": "A\u0000"}, "0.firstName"),
        ({**MEMBER, "properties": {"k\u0000": "v"}}, "0.properties.k\\u0000"),
        ({**MEMBER, "properties": {"k": ["\u0000"]}}, "0.properties.k.0"),
    ],
)
def test_a_json_import_with_a_nul_is_refused_whole(api, program, record, field):
    body = refused(api.post(f"{IMPORTS}/memberships", [record], format="json"))
    assert body["errors"][0]["field"] == field


def test_a_json_import_nested_too_deep_is_refused_whole(api, program):
    text = json.dumps([{**MEMBER, "properties": {"k": json.loads("[" * 70 + "]" * 70)}}])
    body = refused(api.post(f"{IMPORTS}/memberships", text, content_type="application/json"))
    assert body["errors"][0]["code"] == "too_deep"


def test_a_json_cell_with_a_nul_fails_its_record_and_the_others_go_in(program, import_csv):
    content = csv_bytes(
        [
            ["firstName", "lastName", "email", "properties"],
            ["Ada", "Lovelace", "ada@example.com", '{"k": "\\u0000"}'],
            ["Grace", "Hopper", "grace@example.com", '{"k": "v"}'],
        ]
    )
    response = import_csv("memberships", content)
    assert response.status_code == 202, response.content
    records = records_by_line(ImportBatch.objects.get())
    failed, done = records.values()
    assert failed.status == "failed" and "NUL" in json.dumps(failed.errors)
    assert done.status != "failed"
    assert list(Membership.objects.values_list("first_name", flat=True)) == ["Grace"]


@pytest.mark.parametrize(("months", "code"), [("61", "max_value"), (str(2**63), "max_value"), ("0", "min_value")])
def test_an_export_filter_outside_its_bounds_is_refused(api, program, months, code):
    """The schema declares the bounds of `months` (1 to 60) that the template's filter keeps."""
    response = api.get(f"{EXPORTS}/expiryForecast", {"months": months})
    body = response.json()
    assert response.status_code == 400 and body["code"] == "validation_error", body
    assert [(e["field"], e["code"]) for e in body["errors"]] == [("months", code)]


def test_a_transactions_import_takes_the_dates_post_tx_takes(program, member, import_json):
    """Older than TX_MAX_AGE_DAYS, in the future or at the end of the calendar: the record fails with the code
    POST /tx answers; the good one is booked."""
    from datetime import timedelta

    from django.utils import timezone

    from transactions.models import Transaction

    def tx(tx_id, occurred_at):
        return {
            "txId": tx_id,
            "receiptId": f"R-{tx_id}",
            "membershipKey": member.number,
            "channel": "webshop",
            "occurredAt": occurred_at,
            "totalAmount": "6.49",
            "currency": "EUR",
            "items": [{"productKey": "COF-001", "quantity": "1", "unitPrice": "6.49", "amount": "6.49"}],
        }

    now = timezone.now()
    records = [
        tx("T-old", (now - timedelta(days=366)).isoformat()),
        tx("T-year-1", "0001-01-01T00:00:00+00:00"),
        tx("T-9999", "9999-12-31T23:59:59+00:00"),
        tx("T-ok", (now - timedelta(days=364)).isoformat()),
    ]
    _, batch = import_json("transactions", records)
    codes = {r.line: r.error_code for r in batch.records.all()}
    assert codes == {1: "occurred_too_early", 2: "occurred_too_early", 3: "occurred_in_future", 4: ""}
    assert list(Transaction.objects.values_list("tx_id", flat=True)) == ["T-ok"]


FORMULAS = ["=cmd|' /C calc'!A0", "+1+1", "-1+cmd", "@SUM(1+1)", "\t=1+1", "\r=1+1"]


@pytest.mark.parametrize("path", ["{key}/csv", "{key}?format=csv"])
def test_the_failed_records_csv_escapes_every_formula_and_goes_back_in_unchanged(api, program, import_csv, path):
    """`=HYPERLINK(...)` and the like came back raw in the failed-records download (the exports escaped them)."""
    rows = [["firstName", "lastName", "email"]]
    rows += [[f, "-5.00", f"bad{i}"] for i, f in enumerate(FORMULAS)]  # a bad e-mail fails each record
    batch = ImportBatch.objects.get(key=import_csv("memberships", csv_bytes(rows)).json()["key"])
    response = api.get(f"{IMPORTS}/{path.format(key=batch.key)}")
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    got = list(csv.reader(io.StringIO(text, newline="")))
    assert [r[0] for r in got[1:]] == ["'" + f for f in FORMULAS]
    assert {r[1] for r in got[1:]} == {"-5.00"}  # a number stays a number

    fixed = [got[0]] + [[r[0], r[1], f"member{i}@example.com", *r[3:]] for i, r in enumerate(got[1:])]
    again = import_csv("memberships", csv_bytes(fixed))
    assert again.status_code == 202, again.json()
    assert sorted(Membership.objects.values_list("first_name", flat=True)) == sorted(f.strip() for f in FORMULAS)


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/api/v1/imports/a%00b", "batch_not_found"),
        ("/api/v1/imports/a%00b/csv", "batch_not_found"),
        ("/api/v1/exports/jobs/a%00b", "export_job_not_found"),
        ("/api/v1/exports/jobs/a%00b/download", "export_job_not_found"),
    ],
)
def test_a_key_with_a_nul_in_the_path_is_not_found(api, program, path, code):
    """On PostgreSQL the lookup of a batch key holding a NUL was DataError (a 500)."""
    response = api.get(path)
    assert response.status_code == 404 and response.json()["code"] == code, response.content
