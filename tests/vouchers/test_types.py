"""POST /voucher/type and GET /voucher/types."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from loyalty.models import AuditEntry, Event
from tests.vouchers.conftest import BASE, assert_refused
from vouchers.models import VoucherStock, VoucherType

pytestmark = pytest.mark.django_db

CATALOG_ITEM = {
    "key": "cinema",
    "name": "Cinema ticket",
    "description": "One ticket, any film.",
    "kind": "free_product",
    "productKey": "cinema-ticket",
    "validDays": 90,
    "codePrefix": "CIN-",
    "codePattern": "####-####-##",
    "usesPerVoucher": 1,
    "limitPerMember": 2,
    "stock": 100,
    "pricePoints": "120.00",
    "sponsor": "fuel",
    "channels": ["web", "store-berlin"],
}


@pytest.fixture(autouse=True)
def channels(ledger_program):
    """The channels CATALOG_ITEM names: a type's channels must exist."""
    from loyalty.actors import Actor
    from promotions.catalog_services import save_channel

    for key, kind in (("web", "webshop"), ("store-berlin", "store")):
        save_channel(key=key, name=key.title(), kind=kind, sponsor=ledger_program.shop, actor=Actor.for_system("t"))


def test_a_voucher_type_is_created_with_its_key_and_shown_in_camel_case(api, ledger_program):
    response = api.post(f"{BASE}/type", CATALOG_ITEM, format="json")
    body = response.json()
    assert response.status_code == 201, body
    assert body["key"] == "cinema" and body["kind"] == "free_product" and body["productKey"] == "cinema-ticket"
    assert body["pricePoints"] == "120.00" and body["pointType"] == "points" and body["purchasable"] is True
    assert body["sponsor"] == "fuel" and body["channels"] == ["web", "store-berlin"]
    assert body["stock"] == 100 and body["stockLeft"] == 100 and body["issued"] == 0
    assert body["codeAlphabet"] == "23456789ABCDEFGHJKMNPQRSTUVWXYZ" and body["active"] is True
    voucher_type = VoucherType.objects.get(key="cinema")
    assert voucher_type.point_type == ledger_program.points
    assert VoucherStock.objects.filter(voucher_type=voucher_type).exists()
    assert AuditEntry.objects.filter(action="vouchertype.created", object_id=str(voucher_type.pk)).exists()
    assert Event.objects.filter(type="vouchertype.created").exists()


def test_amount_off_takes_the_program_currency_unless_named(api, ledger_program):
    body = api.post(
        f"{BASE}/type", {"key": "five", "name": "5 off", "kind": "amount_off", "value": "5.00"}, format="json"
    ).json()
    assert body["currency"] == "EUR" and body["value"] == "5.00" and body["sponsor"] == "shop"
    assert body["pricePoints"] is None and body["pointType"] is None and body["purchasable"] is False


@pytest.mark.parametrize(
    ("changes", "status", "code", "field"),
    [
        ({"kind": "percent_off", "productKey": ""}, 400, "invalid_voucher_type", "value"),
        ({"kind": "percent_off", "value": "120", "productKey": ""}, 400, "invalid_voucher_type", "value"),
        ({"productKey": ""}, 400, "invalid_voucher_type", "productKey"),
        ({"codeAlphabet": "0123456789"}, 400, "invalid_voucher_type", "codeAlphabet"),
        ({"codePattern": "####"}, 400, "invalid_voucher_type", "codePattern"),
        ({"codePattern": "", "codeLength": 6}, 400, "invalid_voucher_type", "codeLength"),
        ({"codePrefix": "a b"}, 400, "invalid_voucher_type", "codePrefix"),
        ({"pricePoints": "1.001"}, 400, "invalid_voucher_type", "pricePoints"),
        ({"pointType": "status"}, 400, "invalid_voucher_type", "pointType"),
        ({"pointType": "nope"}, 400, "unknown_point_type", None),
        ({"pricePoints": "999999999999999.00"}, 400, "invalid_voucher_type", "pricePoints"),
        ({"limitPerMember": 10**12}, 400, "validation_error", "limitPerMember"),
        ({"sponsor": "nope"}, 400, "unknown_sponsor", None),
        ({"channels": ["Not A Key"]}, 400, "validation_error", "channels.0"),
        ({"channels": ["web", "nowhere"]}, 400, "invalid_voucher_type", "channels"),
        ({"key": "Bad Key"}, 400, "validation_error", "key"),
        ({"colour": "red"}, 400, "validation_error", "colour"),
        (
            {"validFrom": "2030-01-02T00:00:00Z", "validUntil": "2030-01-01T00:00:00Z"},
            400,
            "invalid_voucher_type",
            "validUntil",
        ),
    ],
)
def test_an_invalid_type_is_refused_naming_the_field_and_creates_nothing(
    api, ledger_program, changes, status, code, field
):
    before = (VoucherType.objects.count(), AuditEntry.objects.count(), Event.objects.count())
    body = assert_refused(api.post(f"{BASE}/type", {**CATALOG_ITEM, **changes}, format="json"), status, code)
    if field:
        assert field in {e["field"] for e in body["errors"]}, body
    assert (VoucherType.objects.count(), AuditEntry.objects.count(), Event.objects.count()) == before


def test_a_second_type_with_the_same_key_is_a_409(api, ledger_program):
    assert api.post(f"{BASE}/type", CATALOG_ITEM, format="json").status_code == 201
    assert_refused(
        api.post(f"{BASE}/type", {**CATALOG_ITEM, "name": "Other"}, format="json"), 409, "voucher_type_exists"
    )
    assert VoucherType.objects.count() == 1


def test_creating_a_type_again_with_the_same_idempotency_key_replays_the_answer(api, ledger_program):
    first = api.post(f"{BASE}/type", CATALOG_ITEM, format="json", HTTP_IDEMPOTENCY_KEY="type-1")
    again = api.post(f"{BASE}/type", CATALOG_ITEM, format="json", HTTP_IDEMPOTENCY_KEY="type-1")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json() and again["Idempotent-Replayed"] == "true"
    assert VoucherType.objects.count() == 1
    other = api.post(f"{BASE}/type", {**CATALOG_ITEM, "key": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="type-1")
    assert_refused(other, 409, "idempotency_key_reused")


def test_the_list_filters_by_active_sponsor_purchasable_and_kind(api, make_type, ledger_program):
    make_type(key="a-free", active=True)
    make_type(key="b-off", active=False, sponsor=ledger_program.fuel)
    make_type(
        key="c-bought",
        kind="custom",
        value=None,
        price_points="10.00",
        point_type=ledger_program.points,
    )

    def keys(query=""):
        response = api.get(f"{BASE}/types{query}")
        assert response.status_code == 200, response.json()
        return [row["key"] for row in response.json()["results"]]

    assert keys() == ["a-free", "b-off", "c-bought"]
    assert keys("?active=false") == ["b-off"]
    assert keys("?sponsor=fuel") == ["b-off"]
    assert keys("?purchasable=true") == ["c-bought"]
    assert keys("?purchasable=false") == ["a-free", "b-off"]
    assert keys("?kind=custom") == ["c-bought"]
    assert keys("?pointType=points") == ["c-bought"]
    assert api.get(f"{BASE}/types").json()["count"] == 3
    assert keys("?active=1&purchasable=0") == keys("?active=true&purchasable=false")


@pytest.mark.parametrize("query", ["?colour=red", "?active=maybe", "?kind=gift", "?purchasable=yes"])
def test_bad_type_filters_are_a_400(api, ledger_program, query):
    assert_refused(api.get(f"{BASE}/types{query}"), 400, "validation_error")


def test_the_type_list_costs_the_same_queries_for_1_or_20_types(api, make_type, ledger_program):
    make_type(price_points="5.00", point_type=ledger_program.points)
    api.get(f"{BASE}/types")  # warm the API key lookup
    with CaptureQueriesContext(connection) as one:
        assert len(api.get(f"{BASE}/types").json()["results"]) == 1
    for _ in range(19):
        make_type(price_points="5.00", point_type=ledger_program.points, stock=10)
    with CaptureQueriesContext(connection) as twenty:
        assert len(api.get(f"{BASE}/types").json()["results"]) == 20
    assert len(twenty) == len(one), [q["sql"] for q in twenty.captured_queries]
