"""CSV uploads: streamed in, BOM and `;` handled, unusable files refused at once with a clear code
(and nothing stored), bad rows reported, and the failed rows offered back as a CSV to fix."""

import csv
import io
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from imports.models import ImportBatch, ImportRecord
from memberships.models import Membership
from tests.imports.conftest import CSV_IMPORTS, IMPORTS, csv_bytes, records_by_line

pytestmark = pytest.mark.django_db

HEADER = ["firstName", "lastName", "email", "birthDate"]
ROWS = [["Ada", "Lovelace", "ada@example.com", "1990-12-10"], ["Grace", "Hopper", "grace@example.com", ""]]


def refused(response, status, code):
    body = response.json()
    assert response.status_code == status, body
    assert body["code"] == code and body["status"] == status and body["detail"], body
    assert not ImportBatch.objects.exists() and not ImportRecord.objects.exists()
    return body


@pytest.mark.parametrize("bom", [False, True])
@pytest.mark.parametrize("delimiter", [",", ";"])
def test_a_csv_with_or_without_bom_and_either_delimiter_is_imported(program, import_csv, bom, delimiter):
    response = import_csv("memberships", csv_bytes([HEADER, *ROWS], delimiter=delimiter, bom=bom))
    assert response.status_code == 202, response.json()
    batch = ImportBatch.objects.get(key=response.json()["key"])
    assert (batch.status, batch.total, batch.ok_count) == ("completed", 2, 2)
    assert batch.columns == HEADER
    assert set(Membership.objects.values_list("email", flat=True)) == {"ada@example.com", "grace@example.com"}
    assert records_by_line(batch)[2].data["firstName"] == "Ada"  # CSV line numbers: the header is line 1


def test_snake_case_headers_and_quoted_cells_with_the_delimiter_inside_work(program, import_csv):
    content = csv_bytes(
        [["first_name", "last_name", "email", "city"], ["Jo", "Smith; Jr", "jo@example.com", "Den Haag"]], delimiter=";"
    )
    response = import_csv("memberships", content)
    assert response.status_code == 202
    assert Membership.objects.get(email="jo@example.com").last_name == "Smith; Jr"


def test_a_raw_text_csv_body_is_accepted(api, program, run):
    content = csv_bytes([HEADER, *ROWS])
    response = run(lambda: api.generic("POST", f"{CSV_IMPORTS}/memberships", content, content_type="text/csv"))
    assert response.status_code == 202, response.json()
    assert Membership.objects.count() == 2


def test_bad_rows_fail_with_their_reason_and_good_rows_go_in(program, import_csv):
    content = csv_bytes([HEADER, ROWS[0], ["No", "Mail", "", ""], ["Too", "Many", "t@example.com", "", "extra"]])
    response = import_csv("memberships", content)
    batch = ImportBatch.objects.get(key=response.json()["key"])
    records = records_by_line(batch)
    assert (batch.ok_count, batch.failed_count) == (1, 2)
    assert records[3].error_code == "validation_error" and "email" in records[3].error_message
    assert records[4].error_code == "validation_error" and "cells" in records[4].error_message


def test_transactions_take_one_line_item_in_flat_columns(program, member, import_csv):
    header = ["txId", "receiptId", "membershipKey", "channel", "occurredAt", "totalAmount", "currency"]
    header += ["productKey", "quantity", "unitPrice", "amount"]
    row = [
        "T-9",
        "R-9",
        member.number,
        "webshop",
        (timezone.now() - timedelta(days=30)).isoformat(),  # within TX_MAX_AGE_DAYS
        "6.49",
        "EUR",
        "COF-001",
        "1",
        "6.49",
        "6.49",
    ]
    response = import_csv("transactions", csv_bytes([header, row]))
    batch = ImportBatch.objects.get(key=response.json()["key"])
    assert (batch.ok_count, batch.failed_count) == (1, 0), list(batch.records.values("error_message"))


def test_a_file_that_is_not_utf8_is_refused_with_invalid_encoding(api, program, import_csv):
    content = csv_bytes([HEADER, ["Zoë", "Müller", "z@example.com", ""]], encoding="latin-1")
    refused(import_csv("memberships", content), 400, "invalid_encoding")


def test_bad_encoding_deep_in_a_large_file_refuses_the_whole_file(api, program, import_csv):
    rows = [[f"N{i}", "L", f"n{i}@example.com", ""] for i in range(5000)]
    content = csv_bytes([HEADER, *rows]) + "Zoë,X,z@example.com,\n".encode("latin-1")
    refused(import_csv("memberships", content), 400, "invalid_encoding")


def test_a_binary_file_is_refused_with_invalid_file(program, import_csv):
    refused(import_csv("memberships", b"PK\x03\x04\x00\x00binary", name="book.xlsx"), 400, "invalid_file")


def test_missing_required_columns_are_named(program, import_csv):
    body = refused(
        import_csv("memberships", csv_bytes([["firstName", "lastName"], ["A", "B"]])), 400, "missing_columns"
    )
    assert "email" in body["detail"]


def test_unknown_columns_are_named(program, import_csv):
    body = refused(
        import_csv("memberships", csv_bytes([[*HEADER, "shoeSize"], [*ROWS[0], "42"]])), 400, "unknown_columns"
    )
    assert "shoeSize" in body["detail"]


@pytest.mark.parametrize("content", [b"", csv_bytes([HEADER])])
def test_an_empty_file_or_a_header_alone_is_refused(program, import_csv, content):
    refused(import_csv("memberships", content), 400, "empty_import")


def test_an_unknown_import_type_is_a_404(program, import_csv):
    refused(import_csv("spaceships", csv_bytes([HEADER, *ROWS])), 404, "unknown_import_type")


def test_no_file_is_a_400(api, program):
    refused(api.post(f"{CSV_IMPORTS}/memberships", {"other": "x"}, format="multipart"), 400, "no_file")


def test_the_upload_limit_follows_the_setting_at_start(settings):
    from django.conf import settings as live

    from imports import conf

    assert live.API_BODY_LIMITS["/api/v1/csvimports/"] == conf.max_bytes()


@pytest.mark.parametrize("how", ["multipart", "text/csv"])
def test_a_file_above_the_size_limit_is_a_413(api, program, import_csv, how):
    rows = [[f"N{i}", "L", f"n{i}@example.com", ""] for i in range(50)]
    content = csv_bytes([HEADER, *rows])
    # The body limit the middleware applies before reading, and the import limit while reading.
    with override_settings(API_BODY_LIMITS={"/api/v1/csvimports/": 10**9}, IMPORT_MAX_BYTES=100):
        if how == "multipart":
            response = import_csv("memberships", content)
        else:
            response = api.generic("POST", f"{CSV_IMPORTS}/memberships", content, content_type="text/csv")
    refused(response, 413, "payload_too_large")
    with override_settings(API_BODY_LIMITS={"/api/v1/csvimports/": 100}):
        response = api.generic("POST", f"{CSV_IMPORTS}/memberships", content, content_type="text/csv")
    refused(response, 413, "payload_too_large")


def test_failed_records_download_as_a_csv_that_goes_straight_back_in(api, program, import_csv):
    content = csv_bytes([HEADER, ROWS[0], ["Bad", "Date", "bad@example.com", "31-12-1990"]])
    batch = ImportBatch.objects.get(key=import_csv("memberships", content).json()["key"])
    response = api.get(f"{IMPORTS}/{batch.key}", {"format": "csv"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == [*HEADER, "line", "errorCode", "errorMessage"]
    assert len(rows) == 2 and rows[1][:3] == ["Bad", "Date", "bad@example.com"] and rows[1][5] == "validation_error"

    rows[1][3] = "1990-12-31"  # fixed
    again = import_csv("memberships", csv_bytes(rows))
    assert again.status_code == 202, again.json()
    assert Membership.objects.get(email="bad@example.com").birth_date.isoformat() == "1990-12-31"


def test_the_failed_records_download_is_an_operation_of_its_own(api, program, import_csv):
    """GET /imports/{key}/csv: text/csv only, so a generated client reads it as a file, not as JSON."""
    batch = import_csv(
        "memberships", b"firstName,lastName,email\nAda,Lovelace,not-an-email\nAlan,Turing,alan@example.com\n"
    )
    key = batch.json()["key"]
    response = api.get(f"/api/v1/imports/{key}/csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    body = b"".join(response.streaming_content).decode()
    assert "not-an-email" in body and "alan@example.com" not in body
    assert body == b"".join(api.get(f"/api/v1/imports/{key}?format=csv").streaming_content).decode()
    ok = b"".join(api.get(f"/api/v1/imports/{key}/csv?status=ok").streaming_content).decode()
    assert "alan@example.com" in ok
    assert api.get(f"/api/v1/imports/{key}/csv?status=nope").json()["code"] == "validation_error"
    assert api.get("/api/v1/imports/nosuchbatch/csv").status_code == 404
