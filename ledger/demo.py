"""Demo points: an earning history with blocked, soon-expiring and expired points (idempotent)."""

from datetime import timedelta

from django.utils import timezone

from ledger.models import Booking, PointType
from ledger.services import EarnLine, earn_points, expire_due, redeem_points
from loyalty.actors import Actor
from loyalty.demo import upsert
from loyalty.models import Sponsor

# seed_demo runs this after the demo data of these apps.
AFTER = ("loyalty", "memberships")


def seed(actor: Actor) -> None:
    points = upsert(
        PointType,
        {"key": "points"},
        {
            "name": "Northwind points",
            "is_main": True,
            "redeemable": True,
            "transferable": True,
            "precision": 2,
            "expiry_policy": PointType.Expiry.END_OF_MONTH,
            "expiry_months": 12,
            "maturation_days": 14,
        },
        actor,
    )
    status = upsert(
        PointType,
        {"key": "status"},
        {
            "name": "Status points",
            "is_main": False,
            "redeemable": False,
            "transferable": False,
            "counts_for_tiers": True,
            "precision": 0,
            "expiry_policy": PointType.Expiry.MONTHS,
            "expiry_months": 12,
            "maturation_days": 0,
        },
        actor,
    )
    if Booking.objects.filter(receipt_id__startswith="DEMO-").exists():
        return
    from memberships.models import Membership

    members = list(Membership.objects.filter(status="active").order_by("pk")[:60])
    northwind, fuel = Sponsor.objects.get(key="northwind"), Sponsor.objects.get(key="brightfuel")
    now = timezone.now()
    for index, member in enumerate(members):
        history = [(400, 13), (250, 11), (120, 6), (80, 0)]  # (euros spent, months ago)
        for step, (spent, months) in enumerate(history):
            sponsor = fuel if (index + step) % 4 == 0 else northwind
            earn_points(
                membership=member,
                sponsor=sponsor,
                lines=[EarnLine(points, spent * 100 + index), EarnLine(status, spent)],
                receipt_id=f"DEMO-{member.number}-{step}",
                earned_at=now - timedelta(days=30 * months + 3),
                actor=actor,
            )
        if index % 3 == 0:
            redeem_points(
                membership=member,
                points=15000,
                point_type=points,
                sponsor=northwind,
                actor=actor,
                reference="demo: coffee machine",
            )
    expire_due(actor=actor)
