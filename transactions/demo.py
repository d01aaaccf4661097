"""Demo promotions and purchases (idempotent): the earning rules of Northwind Rewards, and 1,200
transactions of the demo members over the last 90 days, booked through /tx's own service.

The promotions are saved through promotions.services.save_promotion (an unchanged definition makes
no new version) and every purchase goes through transactions.services.book, so the rewards, the
ledger, the cap usage and the tier upgrades of the demo are what the program really computes.
seed_demo runs this after the apps' demos: it needs their members, point types, tiers and catalog.
A second run finds the demo transactions (txId DEMO-TX-...) and books nothing.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import timezone

from loyalty.actors import Actor
from loyalty.models import Program
from transactions.models import Transaction

# seed_demo runs this after the demo data of these apps.
AFTER = ("loyalty", "memberships", "ledger", "vouchers", "promotions")

# 3,000 purchases take about 140 s on SQLite on the 2-core machine (about 45 ms a booking, most of
# it in the ledger's earn and the tier check); 1,200 keep seed_demo near a minute. seed(actor,
# transactions=3000) books the full few thousand.
TRANSACTIONS = 1200
DAYS = 90
TX_PREFIX = "DEMO-TX-"

PROMOTIONS: list[tuple[str, str, str, dict[str, Any]]] = [
    (
        "base-earning",
        "1 point per euro",
        "The base earning every purchase gets: one point per euro, on every line.",
        {
            "pointType": "points",
            "base": True,
            "effects": [{"type": "perAmount", "points": "1", "per": "1", "lines": "all"}],
        },
    ),
    (
        "status-earning",
        "1 status point per euro",
        "Status points count towards the Silver and Gold tiers.",
        {"pointType": "status", "effects": [{"type": "perAmount", "points": "1", "per": "1", "lines": "all"}]},
    ),
    (
        "coffee-double",
        "Double points on coffee",
        "Every coffee line earns twice the base points, in the shops, online and at the stations.",
        {
            "pointType": "points",
            "condition": {
                "lines": "any",
                "where": {"fact": "line.category.department", "op": "eq", "value": "coffee"},
            },
            "effects": [{"type": "multiplier", "factor": "2", "lines": "qualifying"}],
            "priority": 50,
        },
    ),
    (
        "weekend-bonus",
        "50% more at the weekend",
        "Saturdays and Sundays (Amsterdam time), on the whole basket.",
        {
            "pointType": "points",
            "validity": {"weekdays": [6, 7]},
            "effects": [{"type": "multiplier", "factor": "1.5", "lines": "all"}],
            "priority": 40,
        },
    ),
    (
        "tier-bonus",
        "Silver and Gold: 25% more",
        "Members of the Silver and Gold tiers earn a quarter more on every purchase.",
        {
            "pointType": "points",
            "scope": {"tiers": ["silver", "gold"]},
            "effects": [{"type": "multiplier", "factor": "1.25", "lines": "all"}],
            "priority": 30,
        },
    ),
    (
        "welcome-bonus",
        "Welcome bonus: 250 points",
        "250 points on a purchase of at least 20 euro in the first year of membership, once per member, "
        "while the budget of 25,000 points lasts.",
        {
            "pointType": "points",
            "condition": {
                "all": [
                    {"fact": "member.daysSinceEnrollment", "op": "lte", "value": "365"},
                    {"fact": "tx.totalAmount", "op": "gte", "value": "20"},
                ]
            },
            "effects": [{"type": "fixed", "points": "250"}],
            "caps": {"perMember": [{"period": "lifetime", "points": "250"}], "budget": "25000"},
            "priority": 20,
        },
    ),
]


def seed(actor: Actor, *, transactions: int | None = None) -> None:
    """The promotions, then `transactions` purchases (default TRANSACTIONS) unless booked before."""
    from ledger.models import PointType
    from promotions.models import Channel

    if PointType.objects.filter(key__in=["points", "status"]).count() != 2 or not Channel.objects.exists():
        return  # the ledger and catalog demos make the point types and the shops
    seed_promotions(actor)
    if Transaction.objects.filter(tx_id__startswith=TX_PREFIX).exists():
        return
    seed_transactions(actor, TRANSACTIONS if transactions is None else transactions)


def seed_promotions(actor: Actor) -> None:
    from promotions.services import save_promotion

    for key, name, description, definition in PROMOTIONS:
        save_promotion(key=key, name=name, description=description, definition=definition, actor=actor)


def seed_transactions(actor: Actor, count: int) -> int:
    """`count` purchases of the active demo members, spread over the last DAYS days, oldest first."""
    from memberships.models import Membership
    from promotions.models import Channel, Product
    from transactions.services import TxRequest, book

    rng = random.Random(20261125)  # the same demo every time
    members = list(
        Membership.objects.filter(status="active", cards__number__startswith="6010")
        .order_by("pk")
        .values_list("number", "enrolled_at")
    )
    if not members:
        return 0
    # A few regulars shop far more than most: they reach the Silver and Gold tiers.
    weights = [1 / (rank + 1) for rank in range(len(members))]
    rng.shuffle(weights)
    shops = [
        (channel, list(Product.objects.filter(channel=channel, active=True).values_list("key", "price")))
        for channel in Channel.objects.filter(active=True).order_by("key")
    ]
    shops = [(channel, products) for channel, products in shops if products]
    shop_weights = [{"webshop": 3, "brightfuel-stations": 2}.get(channel.key, 4) for channel, _ in shops]
    zone = ZoneInfo(Program.current().time_zone)
    now = timezone.now()
    planned = []
    for _ in range(count):
        number, enrolled_at = rng.choices(members, weights)[0]
        channel, products = rng.choices(shops, shop_weights)[0]
        planned.append((_moment(rng, now, enrolled_at, zone), number, channel, products))
    planned.sort(key=lambda p: p[0])
    for index, (occurred_at, number, channel, products) in enumerate(planned, start=1):
        items, total = _basket(rng, products)
        book(
            TxRequest(
                membership_key=number,
                channel=channel.key,
                occurred_at=occurred_at,
                total_amount=total,
                currency="EUR",
                items=items,
                receipt_id=f"{TX_PREFIX}{index:05d}",
                tx_id=f"{TX_PREFIX}{index:05d}",
                payment_method=rng.choice(["card", "card", "card", "cash", "mobile"]),
            ),
            actor=actor,
        )
    return len(planned)


def _moment(rng: random.Random, now: datetime, enrolled_at: datetime, zone: ZoneInfo) -> datetime:
    """A shop-hours moment (08:00-21:00 local) in the last DAYS days, after the member enrolled."""
    earliest = max(now - timedelta(days=DAYS), enrolled_at)
    for _ in range(10):
        day = (now - timedelta(days=rng.randrange(0, DAYS + 1))).astimezone(zone)
        moment = day.replace(hour=rng.randrange(8, 21), minute=rng.randrange(60), second=rng.randrange(60))
        if earliest <= moment <= now - timedelta(minutes=1):
            return moment
    return now - timedelta(minutes=rng.randrange(1, 600))


def _basket(rng: random.Random, products: list[tuple[str, Decimal]]):
    from promotions.context import Item

    items = []
    for key, price in rng.sample(products, min(len(products), rng.choice([1, 2, 2, 3, 3, 4, 5, 6, 8]))):
        quantity = Decimal(rng.choice([1, 1, 1, 2, 2, 3]))
        items.append(Item(key, quantity, price, price * quantity))
    return items, sum((item.amount for item in items), Decimal(0))
