"""factory-boy factories of the vouchers app. Vouchers themselves are issued through the service
(`issue` below), so every test voucher has its stock count, audit entry and event."""

from decimal import Decimal

import factory

from ledger.services.core import default_sponsor
from loyalty.actors import Actor
from vouchers.models import Voucher, VoucherType
from vouchers.services import issue_voucher

ACTOR = Actor.for_system("tests")


class VoucherTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = VoucherType

    key = factory.Sequence(lambda n: f"vt-{n}")
    name = factory.Sequence(lambda n: f"Voucher type {n}")
    kind = VoucherType.Kind.PERCENT_OFF
    value = Decimal("10")
    sponsor = factory.LazyFunction(default_sponsor)
    valid_days = 30


def issue(voucher_type, recipient=None, **kwargs):
    """One voucher (or kwargs count=N vouchers: the result's list)."""
    result = issue_voucher(voucher_type=voucher_type, recipient=recipient, actor=ACTOR, **kwargs)
    if result.count == 1:
        return result.voucher
    return list(Voucher.objects.filter(batch=result.batch).order_by("pk"))
