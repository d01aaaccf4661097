"""Demo program: a retailer with a fuel partner. seed_demo runs this first: every other demo needs it."""

from decimal import Decimal
from typing import Any

from django.db import models

from loyalty.actors import Actor
from loyalty.models import MembershipType, Program, Sponsor, Tier
from loyalty.services import save_configuration


def upsert(
    model: type[models.Model],
    lookup: dict[str, Any],
    values: dict[str, Any],
    actor: Actor,
) -> models.Model:
    """Create or bring up to date through the services; unchanged rows write nothing."""
    obj = model.objects.filter(**lookup).first() or model(**lookup)
    for name, value in values.items():
        setattr(obj, name, value)
    return save_configuration(obj, actor=actor)


def seed(actor: Actor) -> None:
    program = Program.objects.first() or Program()
    upsert(
        Program,
        {"pk": program.pk} if program.pk else {},
        {
            "name": "Northwind Rewards",
            "currency": "EUR",
            "time_zone": "Europe/Amsterdam",
            "points_precision": 2,
        },
        actor,
    )
    upsert(
        Sponsor,
        {"key": "northwind"},
        {"name": "Northwind Market", "is_default": True},
        actor,
    )
    upsert(
        Sponsor,
        {"key": "brightfuel"},
        {"name": "Bright Fuel (partner)", "is_default": False},
        actor,
    )
    upsert(
        MembershipType,
        {"key": "consumer"},
        {"name": "Consumer", "is_default": True, "description": "Private shoppers."},
        actor,
    )
    upsert(
        MembershipType,
        {"key": "business"},
        {
            "name": "Business",
            "is_company": True,
            "description": "Companies and their staff cards.",
        },
        actor,
    )
    tiers = [
        ("bronze", "Bronze", 1, "0", "Welcome tier: earn on every purchase."),
        ("silver", "Silver", 2, "1000", "Double points weekends and free delivery."),
        (
            "gold",
            "Gold",
            3,
            "5000",
            "Triple points weekends, free delivery and priority service.",
        ),
    ]
    for key, name, rank, threshold, description in tiers:
        upsert(
            Tier,
            {"key": key},
            {
                "name": name,
                "rank": rank,
                "qualification_threshold": Decimal(threshold),
                "description": description,
            },
            actor,
        )
