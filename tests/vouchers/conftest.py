"""Fixtures of the voucher tests: the ledger's program and members, voucher types, and helpers."""

from decimal import Decimal

import pytest

from ledger.models import Booking
from loyalty.models import AuditEntry, Event

# The ledger's fixtures (program, members, earning), shared rather than copied.
from tests.ledger.conftest import earn, ledger_program, make_member, member  # noqa: F401
from tests.vouchers.factories import VoucherTypeFactory
from vouchers.models import Conversion, IssueBatch, Voucher, VoucherStock

BASE = "/api/v1/voucher"


@pytest.fixture
def make_type(ledger_program):  # noqa: F811
    """make_type(**fields): a voucher type (10% off, 30 days, unlimited unless told)."""

    def make(**fields):
        return VoucherTypeFactory(**fields)

    return make


@pytest.fixture
def ten_off(make_type):
    return make_type(key="ten-off", name="10% off")


@pytest.fixture
def coffee(make_type, ledger_program):  # noqa: F811
    """A free coffee bought with 25.00 points."""
    return make_type(
        key="coffee",
        name="Free coffee",
        kind="free_product",
        value=None,
        product_key="coffee",
        price_points=Decimal("25.00"),
        point_type=ledger_program.points,
    )


def counts() -> dict[str, int]:
    """Rows of each kind: a refused request must leave these unchanged."""
    return {
        "vouchers": Voucher.objects.count(),
        "conversions": Conversion.objects.count(),
        "batches": IssueBatch.objects.count(),
        "bookings": Booking.objects.count(),
        "audit": AuditEntry.objects.count(),
        "events": Event.objects.count(),
        "stock": sum(VoucherStock.objects.values_list("issued", flat=True)),
        "revoked": Voucher.objects.filter(status="revoked").count(),
        "uses_left": sum(Voucher.objects.values_list("uses_left", flat=True)),
    }


def assert_refused(response, status: int, code: str) -> dict:
    body = response.json()
    assert response.status_code == status, body
    assert body["code"] == code, body
    assert body["status"] == status and body["detail"]
    return body
