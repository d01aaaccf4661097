"""Demo vouchers: 10% off, a free coffee bought with points, and the welcome voucher a promotion
issues (idempotent: types are upserted, demo vouchers are issued once)."""

import contextlib
from decimal import Decimal

from ledger.models import PointType
from loyalty.actors import Actor
from loyalty.demo import upsert
from loyalty.errors import DomainError
from loyalty.models import Sponsor
from vouchers.models import Voucher, VoucherType
from vouchers.services import issue_promotion_voucher, issue_voucher

# seed_demo runs this after the demo data of these apps.
AFTER = ("loyalty", "memberships", "ledger")


def seed(actor: Actor) -> None:
    sponsor = Sponsor.objects.filter(key="northwind").first() or Sponsor.objects.filter(is_default=True).first()
    points = PointType.objects.filter(key="points").first()
    if sponsor is None:
        return
    ten_off = upsert(
        VoucherType,
        {"key": "ten-percent-off"},
        {
            "name": "10% off your next purchase",
            "description": "10% off one purchase at Northwind Market, within 30 days.",
            "kind": VoucherType.Kind.PERCENT_OFF,
            "value": Decimal("10"),
            "valid_days": 30,
            "limit_per_member": 3,
            "sponsor": sponsor,
            "code_prefix": "NW10-",
        },
        actor,
    )
    coffee = None
    if points is not None:
        coffee = upsert(
            VoucherType,
            {"key": "free-coffee"},
            {
                "name": "Free coffee",
                "description": "A regular coffee of your choice, for 250 points. Valid 60 days in our stores.",
                "kind": VoucherType.Kind.FREE_PRODUCT,
                "product_key": "coffee-regular",
                "price_points": Decimal("250.00"),
                "point_type": points,
                "valid_days": 60,
                "stock": 1000,
                "sponsor": sponsor,
                "code_pattern": "####-####-##",
            },
            actor,
        )
    welcome = upsert(
        VoucherType,
        {"key": "welcome"},
        {
            "name": "Welcome: EUR 5 off",
            "description": "EUR 5 off your first purchase over EUR 25, within 30 days of joining. "
            "Issued by the welcome promotion.",
            "kind": VoucherType.Kind.AMOUNT_OFF,
            "value": Decimal("5.00"),
            "valid_days": 30,
            "limit_per_member": 1,
            "sponsor": sponsor,
        },
        actor,
    )
    if Voucher.objects.filter(reference__startswith="DEMO-").exists():
        return
    from memberships.models import Membership

    members = list(Membership.objects.filter(status="active").order_by("pk")[:6])
    for member in members[:3]:
        issue_promotion_voucher(
            voucher_type=welcome, recipient=member, tx_id=f"DEMO-{member.number}", promotion="welcome", actor=actor
        )
    for member in members[3:5]:
        issue_voucher(voucher_type=ten_off, recipient=member, actor=actor, source="demo", reference="DEMO-mailing")
    if coffee is not None and members:
        with contextlib.suppress(DomainError):  # bought with points, when the demo ledger gave them enough
            issue_voucher(voucher_type=coffee, recipient=members[0], actor=actor, source="demo", reference="DEMO-shop")
