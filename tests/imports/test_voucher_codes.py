"""`voucherCodes`: codes made elsewhere imported end to end through /imports and /csvimports. The
good records become vouchers (through vouchers.services.register_vouchers, a chunk at a time); a
duplicate or a bad record is reported failed with the service's code."""

from datetime import timedelta

import pytest
from django.utils import timezone

from imports.models import BatchStatus, ImportBatch
from imports.registry import get_type
from loyalty.models import AuditEntry, Event
from tests.imports.conftest import IMPORTS, csv_bytes, records_by_line
from tests.vouchers.factories import VoucherTypeFactory, issue
from vouchers.models import Voucher, VoucherStock

pytestmark = pytest.mark.django_db


@pytest.fixture
def flyer(program):
    return VoucherTypeFactory(key="flyer", name="Flyer", stock=5)


def outcomes(batch) -> dict[int, str]:
    """line -> "ok" or the failure's code."""
    batch.refresh_from_db()
    return {line: r.error_code or r.status for line, r in records_by_line(batch).items()}


def test_codes_are_registered_and_bad_ones_are_reported_with_their_codes(
    program, flyer, member, make_member, import_json
):
    issued = issue(flyer)  # already stored: its code cannot come in again
    now = timezone.now()
    records = [
        {"voucherType": "flyer", "code": "flyer-0001-aaaa", "recipient": member.number, "reference": "june"},
        {"voucherType": "flyer", "code": "FLYER-0001-BBBB", "validUntil": (now + timedelta(days=7)).isoformat()},
        {"voucherType": "flyer", "code": issued.token.lower()},
        {"voucherType": "flyer", "code": "FLYER-0001-AAAA"},  # twice in the file
        {"voucherType": "flyer", "code": "no good"},
        {"voucherType": "flyer", "code": "FLYER-0001-CCCC", "validUntil": (now + timedelta(days=90)).isoformat()},
        {"voucherType": "nope", "code": "FLYER-0001-DDDD"},
        {"voucherType": "flyer", "code": "FLYER-0001-EEEE", "recipient": "no-such-member"},
        {"voucherType": "flyer", "code": "FLYER-0001-FFFF", "shoeSize": 42},
        {"voucherType": "flyer", "code": "FLYER-0001-GGGG"},
        {"voucherType": "flyer", "code": "FLYER-0001-HHHH"},
        {"voucherType": "flyer", "code": "FLYER-0001-JJJJ"},  # stock 5: one issued + four imported
    ]
    response, batch = import_json("voucherCodes", records)
    assert response.status_code == 202, response.json()
    assert outcomes(batch) == {
        1: "ok",
        2: "ok",
        3: "voucher_code_taken",
        4: "voucher_code_taken",
        5: "invalid_voucher_code",
        6: "invalid_validity",
        7: "voucher_type_not_found",
        8: "membership_not_found",
        9: "validation_error",
        10: "ok",
        11: "ok",
        12: "out_of_stock",
    }
    assert batch.status == BatchStatus.COMPLETED and (batch.ok_count, batch.failed_count) == (4, 8)
    stored = {v.token: v for v in Voucher.objects.filter(source="import")}
    assert set(stored) == {"FLYER-0001-AAAA", "FLYER-0001-BBBB", "FLYER-0001-GGGG", "FLYER-0001-HHHH"}
    assert stored["FLYER-0001-AAAA"].recipient == member and stored["FLYER-0001-AAAA"].reference == "june"
    assert stored["FLYER-0001-GGGG"].reference == f"import:{batch.key}:10"
    assert stored["FLYER-0001-BBBB"].valid_until < stored["FLYER-0001-GGGG"].valid_until
    assert records_by_line(batch)[1].result == {"token": "FLYER-0001-AAAA"}
    assert VoucherStock.objects.get(pk=flyer.pk).issued == 5

    # The service's trail, with whoever queued the batch as the actor.
    event = Event.objects.get(type="voucher.issued", membership_number=member.number)
    assert event.payload["tokens"] == ["FLYER-0001-AAAA"] and event.payload["source"] == "import"
    audit = AuditEntry.objects.filter(action="voucher.issued").exclude(actor_label="system:tests")
    assert audit.count() == 2 and all(a.actor_label.startswith("client:") for a in audit)


def test_a_csv_of_printed_codes_goes_in(program, flyer, import_csv):
    content = csv_bytes(
        [
            ["voucherType", "code", "validFrom", "validUntil"],
            ["flyer", "print-0000-0001", "", ""],
            ["flyer", "print-0000-0002", "", (timezone.now() + timedelta(days=3)).date().isoformat()],
            ["flyer", "print 0000 0003", "", ""],
            ["flyer", "print-0000-0001", "", ""],
        ],
        delimiter=";",
        bom=True,
    )
    response = import_csv("voucherCodes", content)
    assert response.status_code == 202, response.json()
    batch = ImportBatch.objects.get(key=response.json()["key"])
    assert outcomes(batch) == {2: "ok", 3: "ok", 4: "invalid_voucher_code", 5: "voucher_code_taken"}
    assert set(Voucher.objects.values_list("token", flat=True)) == {"PRINT-0000-0001", "PRINT-0000-0002"}


def test_chunks_write_in_bulk_and_a_duplicate_across_chunks_is_refused(program, flyer, import_json, settings):
    settings.IMPORT_CHUNK_SIZE = 2
    codes = ["CHUNK-0000-0001", "CHUNK-0000-0002", "CHUNK-0000-0003", "chunk-0000-0001"]
    _, batch = import_json("voucherCodes", [{"voucherType": "flyer", "code": c} for c in codes])
    assert outcomes(batch) == {1: "ok", 2: "ok", 3: "ok", 4: "voucher_code_taken"}
    # One register call per chunk: the two codes of the first chunk share an issue batch.
    first = Voucher.objects.get(token="CHUNK-0000-0001")
    assert first.batch is not None and first.batch.count == 2 and first.batch.reference == f"import:{batch.key}"


def test_a_type_refused_as_a_whole_fails_each_of_its_records(program, import_json):
    VoucherTypeFactory(key="paused", active=False)
    VoucherTypeFactory(key="open")
    records = [
        {"voucherType": "paused", "code": "PAUSED-00000001"},
        {"voucherType": "open", "code": "OPEN-0000000001"},
        {"voucherType": "paused", "code": "PAUSED-00000002"},
    ]
    _, batch = import_json("voucherCodes", records)
    assert outcomes(batch) == {1: "voucher_type_inactive", 2: "ok", 3: "voucher_type_inactive"}


def test_bulk_and_one_by_one_store_the_same_vouchers(program, member, import_json, monkeypatch):
    VoucherTypeFactory(key="flyer")
    import_type = get_type("voucherCodes")

    def run(prefix):
        records = [
            {"voucherType": "flyer", "code": f"{prefix}-0001", "recipient": member.number, "reference": "r"},
            {"voucherType": "flyer", "code": f"{prefix}-0002"},
            {"voucherType": "flyer", "code": "x"},
        ]
        _, batch = import_json("voucherCodes", records)
        assert outcomes(batch) == {1: "ok", 2: "ok", 3: "invalid_voucher_code"}
        ignored = {"id", "token", "batch_id", "issued_at", "valid_from", "valid_until", "updated_at", "reference"}
        return [
            {k: v for k, v in row.items() if k not in ignored}
            for row in Voucher.objects.filter(token__startswith=prefix).order_by("token").values()
        ]

    bulk = run("BULKWAY")
    monkeypatch.setattr(import_type, "apply_bulk", None)
    single = run("SINGLEWAY")
    assert bulk == single and len(bulk) == 2
    assert Event.objects.filter(type="voucher.issued", payload__given_codes=True).count() == 4


def test_the_type_is_listed_with_its_fields(api, program):
    body = api.get(f"{IMPORTS}/importtypes").json()
    codes = next(t for t in body if t["key"] == "voucherCodes")
    fields = {f["name"]: f for f in codes["fields"]}
    assert fields["code"]["required"] and fields["voucherType"]["required"]
    assert fields["validUntil"]["type"] == "datetime" and not fields["recipient"]["required"]
    assert codes["csvHeader"] == ["voucherType", "code", "recipient", "validFrom", "validUntil", "reference"]
