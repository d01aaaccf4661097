"""Every import type end to end through the API: a good record applied through the app's service
(same audit and events), a bad one reported failed with its code while the good ones go in."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from imports.models import BatchStatus
from ledger.models import Booking
from ledger.selectors import balance_of
from loyalty.models import AuditEntry, Event
from memberships.models import AlternateId, Card, LegalEntity, Membership
from promotions.models import CategoryValue, CustomCategory, Product
from tests.imports.conftest import IMPORTS, records_by_line
from tests.vouchers.factories import VoucherTypeFactory
from transactions.models import Transaction
from vouchers.models import Voucher

pytestmark = pytest.mark.django_db


def outcome(batch):
    """(status, ok, failed); the failures' codes and messages are printed for a failing test."""
    batch.refresh_from_db()
    for record in batch.records.filter(status="failed"):
        print(record.line, record.error_code, record.error_message)
    return batch.status, batch.ok_count, batch.failed_count


def failure(batch, line):
    record = records_by_line(batch)[line]
    assert record.status == "failed"
    return record.error_code


def test_memberships_are_enrolled_through_the_service_with_audit_and_events(program, import_json):
    response, batch = import_json(
        "memberships",
        [
            {
                "firstName": "Ada",
                "lastName": "Lovelace",
                "email": "ada@example.com",
                "cardNumber": "6001000000001",
                "alternateIdType": "crm",
                "alternateIdValue": "C-1",
                "city": "Amsterdam",
                "country": "NL",
                "marketingConsent": True,
            },
            {"firstName": "Bad", "lastName": "Mail", "email": "not-an-email"},
        ],
    )
    assert response.status_code == 202 and response.json()["key"] == batch.key
    assert outcome(batch) == (BatchStatus.COMPLETED, 1, 1)
    ada = Membership.objects.get(email="ada@example.com")
    assert ada.city == "Amsterdam" and ada.marketing_consent
    assert Card.objects.get(number="6001000000001").membership == ada
    assert AlternateId.objects.get(type="crm", value="C-1").membership == ada
    assert records_by_line(batch)[1].result == {"membershipNumber": ada.number}
    assert AuditEntry.objects.filter(action="membership.enrolled", object_id=str(ada.pk)).exists()
    assert AuditEntry.objects.get(action="membership.enrolled", object_id=str(ada.pk)).actor_label.startswith("client:")
    assert Event.objects.filter(type="membership.enrolled", membership_number=ada.number).exists()
    assert failure(batch, 2) == "validation_error"
    assert Event.objects.filter(type="import.completed", payload__key=batch.key).count() == 1


def test_a_membership_record_naming_an_unknown_channel_fails_with_its_own_code(program, import_json):
    _, batch = import_json(
        "memberships",
        [
            {"firstName": "A", "lastName": "B", "email": "ab@example.com", "channel": "webshop"},
            {"firstName": "C", "lastName": "D", "email": "cd@example.com", "channel": "nowhere"},
        ],
    )
    assert failure(batch, 2) == "unknown_channel"
    assert Membership.objects.get(email="ab@example.com").channel == "webshop"
    assert not Membership.objects.filter(email="cd@example.com").exists()


def test_a_taken_card_fails_its_record_with_the_domain_code(program, member, import_json):
    import_json("cards", [{"membershipKey": member.number, "number": "6001000000009"}])
    _, batch = import_json(
        "memberships", [{"firstName": "X", "lastName": "Y", "email": "x@example.com", "cardNumber": "6001000000009"}]
    )
    assert failure(batch, 1) == "card_taken"
    assert not Membership.objects.filter(email="x@example.com").exists()  # the savepoint undid it


def test_cards_are_issued_and_an_unknown_membership_is_reported(program, member, import_json):
    _, batch = import_json(
        "cards",
        [
            {"membershipKey": member.number, "number": "6001000000002", "type": "virtual"},
            {"membershipKey": "nobody-here", "number": "6001000000003"},
        ],
    )
    assert outcome(batch) == (BatchStatus.COMPLETED, 1, 1)
    assert Card.objects.get(number="6001000000002").membership == member
    assert failure(batch, 2) == "membership_not_found"


def test_alternate_ids_are_added_and_a_duplicate_is_reported(program, member, make_member, import_json):
    other = make_member()
    _, batch = import_json(
        "alternateIds",
        [
            {"membershipKey": member.number, "type": "crm", "value": "C-77"},
            {"membershipKey": other.number, "type": "crm", "value": "C-77"},
        ],
    )
    assert outcome(batch) == (BatchStatus.COMPLETED, 1, 1)
    assert AlternateId.objects.get(value="C-77").membership == member
    assert failure(batch, 2) == "alternate_id_taken"


def test_a_value_another_member_holds_fails_its_record_with_key_taken(program, member, make_member, import_json):
    """One key space: a card number, alternate id or new member's card that is another member's
    number, card or alternate id fails with key_taken, in bulk chunks and one by one alike."""
    other = make_member(card_number="6001000000010", alternate_ids=[("crm", "C-88")])
    _, batch = import_json(
        "memberships",
        [
            {"firstName": "A", "lastName": "B", "email": "ab@example.com", "cardNumber": member.number},
            {
                "firstName": "C",
                "lastName": "D",
                "email": "cd@example.com",
                "alternateIdType": "shop",
                "alternateIdValue": "C-88",
            },
            {"firstName": "E", "lastName": "F", "email": "ef@example.com", "cardNumber": "6001000000011"},
        ],
    )
    assert outcome(batch) == (BatchStatus.COMPLETED, 1, 2)
    assert failure(batch, 1) == "key_taken" and failure(batch, 2) == "key_taken"
    assert records_by_line(batch)[1].errors[0]["field"] == "cardNumber"
    _, cards = import_json("cards", [{"membershipKey": member.number, "number": "C-88"}])
    assert failure(cards, 1) == "key_taken"
    _, ids = import_json("alternateIds", [{"membershipKey": member.number, "type": "shop", "value": other.number}])
    assert failure(ids, 1) == "key_taken"
    assert not Card.objects.filter(number="C-88").exists()
    assert not AlternateId.objects.filter(value=other.number).exists()


def test_legal_entities_are_saved_and_a_consumer_type_is_refused(program, member, import_json):
    _, batch = import_json(
        "legalEntities",
        [
            {"membershipType": "business", "registrationNumber": "KVK-1", "name": "Northwind", "users": member.number},
            {"membershipType": "consumer", "registrationNumber": "KVK-2", "name": "Not a company"},
        ],
    )
    assert outcome(batch) == (BatchStatus.COMPLETED, 1, 1)
    entity = LegalEntity.objects.get(registration_number="KVK-1")
    assert Membership.objects.get(pk=member.pk).legal_entity == entity
    assert failure(batch, 2) == "not_company_type"


def test_a_legal_entity_record_leaving_out_a_section_keeps_it_as_the_api_does(program, member, import_json):
    first = {"membershipType": "business", "registrationNumber": "KVK-3", "name": "Northwind"}
    import_json("legalEntities", [{**first, "vatNumber": "NL1", "city": "Delft", "users": member.number}])
    _, batch = import_json("legalEntities", [{**first, "name": "Northwind BV"}])
    assert outcome(batch) == (BatchStatus.COMPLETED, 1, 0)
    entity = LegalEntity.objects.get(registration_number="KVK-3")
    assert (entity.name, entity.vat_number, entity.city) == ("Northwind BV", "NL1", "Delft")
    assert Membership.objects.get(pk=member.pk).legal_entity == entity
    # Given, a section is replaced whole: a street alone leaves no city; null users releases them.
    _, batch = import_json("legalEntities", [{**first, "name": "Northwind BV", "street": "Dam 1", "users": None}])
    assert outcome(batch) == (BatchStatus.COMPLETED, 1, 0)
    entity.refresh_from_db()
    assert (entity.street, entity.city, entity.vat_number) == ("Dam 1", "", "NL1")
    assert Membership.objects.get(pk=member.pk).legal_entity is None


def test_point_adjustments_book_through_the_ledger_and_never_overdraw(program, member, import_json):
    _, batch = import_json(
        "pointAdjustments",
        [
            {"membershipKey": member.number, "points": "25.50", "reason": "opening balance"},
            {"membershipKey": member.number, "points": "-100.00", "reason": "too much"},
            {"membershipKey": member.number, "points": "1.001", "reason": "bad precision"},
        ],
    )
    assert outcome(batch) == (BatchStatus.COMPLETED, 1, 2)
    assert balance_of(member, program.points).balance == 2550
    assert failure(batch, 2) == "insufficient_points"
    assert failure(batch, 3) in ("invalid_amount", "validation_error")
    assert Booking.objects.filter(idempotency_key=f"import:{batch.key}:1").count() == 1


def test_transfers_move_points_and_a_non_transferable_type_is_refused(program, member, make_member, earn, import_json):
    target = make_member()
    earn(member, 1000)
    earn(member, 10, point_type=program.status)
    _, batch = import_json(
        "transfers",
        [
            {"sourceKey": member.number, "targetKey": target.number, "points": "4.00"},
            {"sourceKey": member.number, "targetKey": target.number, "points": "1", "pointType": "status"},
        ],
    )
    assert outcome(batch) == (BatchStatus.COMPLETED, 1, 1)
    assert balance_of(target, program.points).balance == 400
    assert failure(batch, 2) == "not_transferable"


def _tx(member, tx_id, **fields):
    return {
        "txId": tx_id,
        "receiptId": f"R-{tx_id}",
        "membershipKey": member.number,
        "channel": "webshop",
        "occurredAt": (timezone.now() - timedelta(days=30)).isoformat(),
        "totalAmount": "12.98",
        "currency": "EUR",
        "items": [{"productKey": "COF-001", "quantity": "2", "unitPrice": "6.49", "amount": "12.98"}],
        **fields,
    }


def test_transactions_are_evaluated_and_booked_once(program, member, import_json):
    _, batch = import_json(
        "transactions", [_tx(member, "T-1"), _tx(member, "T-2", currency="USD"), _tx(member, "T-3", txId="")]
    )
    assert outcome(batch) == (BatchStatus.COMPLETED, 1, 2)
    assert Transaction.objects.filter(tx_id="T-1").count() == 1
    assert balance_of(member, program.points).balance == 1298
    assert failure(batch, 2) == "wrong_currency"
    assert failure(batch, 3) == "validation_error"


def test_products_are_saved_with_categories_and_an_unknown_channel_is_reported(program, import_json):
    _, batch = import_json(
        "products",
        [
            {
                "channel": "webshop",
                "key": "COF-009",
                "name": "Decaf",
                "price": "5.00",
                "categories": "department:coffee",
            },
            {"channel": "nowhere", "key": "X-1", "name": "Lost"},
        ],
    )
    assert outcome(batch) == (BatchStatus.COMPLETED, 1, 1)
    product = Product.objects.get(key="COF-009")
    assert product.price == Decimal("5.00")
    assert failure(batch, 2) == "channel_not_found"


def test_category_values_are_saved_and_an_unknown_master_is_reported(program, import_json):
    _, batch = import_json(
        "categoryValues",
        [
            {"masterCategory": "department", "channel": "webshop", "key": "tea", "name": "Tea"},
            {"masterCategory": "nope", "channel": "webshop", "key": "x", "name": "X"},
        ],
    )
    assert outcome(batch) == (BatchStatus.COMPLETED, 1, 1)
    assert CategoryValue.objects.filter(key="tea", channel__key="webshop").exists()
    assert failure(batch, 2).endswith("not_found")


def test_custom_categories_are_set_and_unknown_products_are_reported(program, import_json):
    _, batch = import_json(
        "customCategories",
        [
            {"key": "favourites", "name": "Favourites", "products": "webshop/COF-001|webshop/TEA-001"},
            {"key": "broken", "products": [{"channel": "webshop", "productKey": "NOPE"}]},
        ],
    )
    assert outcome(batch) == (BatchStatus.COMPLETED, 1, 1)
    assert CustomCategory.objects.get(key="favourites").products.count() == 2
    assert failure(batch, 2) == "unknown_products"


def test_vouchers_are_issued_and_an_unknown_type_is_reported(program, member, import_json):
    VoucherTypeFactory(key="ten-off", name="10% off")
    _, batch = import_json(
        "vouchers",
        [
            {"voucherType": "ten-off", "recipient": member.number},
            {"voucherType": "ten-off", "count": 3},
            {"voucherType": "nope"},
        ],
    )
    assert outcome(batch) == (BatchStatus.COMPLETED, 2, 1)
    assert Voucher.objects.filter(voucher_type__key="ten-off").count() == 4
    assert Voucher.objects.filter(recipient=member).count() == 1
    assert failure(batch, 3).endswith("not_found")


def test_import_types_list_every_type_with_its_fields(api, program):
    body = api.get(f"{IMPORTS}/importtypes").json()
    keys = {t["key"] for t in body}
    assert keys == {
        "memberships",
        "cards",
        "alternateIds",
        "legalEntities",
        "transactions",
        "pointAdjustments",
        "transfers",
        "products",
        "categoryValues",
        "customCategories",
        "vouchers",
        "voucherCodes",
    }
    memberships = next(t for t in body if t["key"] == "memberships")
    fields = {f["name"]: f for f in memberships["fields"]}
    assert fields["email"]["required"] and fields["email"]["type"] == "email"
    assert fields["birthDate"]["type"] == "date" and not fields["birthDate"]["required"]
    assert memberships["example"]["email"] == "ada@example.com"
    assert "firstName" in memberships["csvHeader"]


def test_records_that_are_not_objects_fail_and_the_rest_go_in(program, import_json):
    _, batch = import_json("memberships", [42, {"firstName": "A", "lastName": "B", "email": "ab@example.com"}])
    assert outcome(batch) == (BatchStatus.COMPLETED, 1, 1)
    assert failure(batch, 1) == "validation_error"
    assert records_by_line(batch)[1].error_message


def test_a_chunk_of_transactions_reads_the_catalog_and_the_program_once(program, member, import_json):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        _, batch = import_json("transactions", [_tx(member, f"T-{n}") for n in range(5)])
    assert outcome(batch) == (BatchStatus.COMPLETED, 5, 0)
    reads = [q["sql"] for q in captured.captured_queries if q["sql"].lstrip().startswith("SELECT")]

    def reading(table: str) -> int:
        return sum(1 for sql in reads if f'FROM "{table}"' in sql)

    # One unit of work per chunk (loyalty.memo): not once per record.
    assert reading("promotions_channel") == 1
    assert reading("promotions_product") == 1
    assert reading("loyalty_program") == 1  # its generation validates the configuration cached per process
    assert reading("ledger_pointtype") <= 2  # the memo's, and compiling the promotions at first use
    assert Transaction.objects.filter(tx_id__startswith="T-").count() == 5
