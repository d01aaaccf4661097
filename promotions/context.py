"""Turning stored rows into the engine's input: transaction lines with catalog facts, the member."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from loyalty.models import MembershipType, Program, Tier
from promotions.errors import ItemsDoNotAddUp
from promotions.rules import Line, Member

CENT = Decimal("0.01")


@dataclass(frozen=True)
class Item:
    product_key: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal


def _keys(name: str, model: type) -> dict[int, str]:
    """Keys of tiers or membership types by id, from the configuration cached per process."""
    from loyalty.configuration import cached

    return cached(name, lambda: dict(model.objects.values_list("pk", "key")))


def member_context(membership: Any, at: datetime) -> Member:
    local = at.astimezone(ZoneInfo(Program.current().time_zone)).date()
    enrolled = getattr(membership, "enrolled_at", None)
    birth: date | None = getattr(membership, "birth_date", None)
    tier = _keys("tier_keys", Tier).get(membership.tier_id) if membership.tier_id else ""
    kind = _keys("membership_type_keys", MembershipType).get(membership.membership_type_id) or ""
    return Member(
        # One made after the cached generation was read is still found, through the row.
        tier=tier if tier is not None else membership.tier.key,
        type=kind or (membership.membership_type.key if membership.membership_type_id else ""),
        days_since_enrollment=(local - enrolled.astimezone(ZoneInfo(Program.current().time_zone)).date()).days
        if enrolled
        else None,
        is_birthday=bool(birth and (birth.month, birth.day) == (local.month, local.day)),
        status=membership.status,
        properties=dict(getattr(membership, "properties", None) or {}),
    )


def anonymous_context() -> Member:
    return Member(status="anonymous")


def member_to_json(member: Member) -> dict[str, Any]:
    return {
        "tier": member.tier,
        "type": member.type,
        "days_since_enrollment": member.days_since_enrollment,
        "is_birthday": member.is_birthday,
        "status": member.status,
        "properties": member.properties,
    }


def member_from_json(data: dict[str, Any]) -> Member:
    return Member(**data)


def build_lines(items: list[Item], facts: dict[str, dict[str, Any]], *, unknown: str) -> tuple[list[Line], list[int]]:
    """Engine lines (position = index + 1) and the positions of products the catalog does not know.

    With the program setting `unknown_products = ignore`, unknown lines earn nothing: they stay out of
    the engine's lines (the transaction total still counts them)."""
    lines, unknown_positions = [], []
    for position, item in enumerate(items, start=1):
        fact = facts.get(item.product_key) or {"known": False}
        if not fact.get("known"):
            unknown_positions.append(position)
            if unknown == "ignore":
                continue
        lines.append(line_for(position, item, fact))
    return lines, unknown_positions


def line_for(position: int, item: Item, fact: dict[str, Any]) -> Line:
    return Line(
        index=position,
        product_key=item.product_key,
        quantity=item.quantity,
        unit_price=item.unit_price,
        amount=item.amount,
        known=bool(fact.get("known")),
        categories=dict(fact.get("categories") or {}),
        custom_categories=frozenset(fact.get("custom_categories") or []),
        brand=fact.get("brand") or "",
        attributes=dict(fact.get("attributes") or {}),
    )


def check_items(total: Decimal, items: list[Item]) -> None:
    """Each line costs at most quantity x unit price (less is a discount); the lines sum to the total."""
    problems = []
    for position, item in enumerate(items, start=1):
        full = (item.quantity * item.unit_price).quantize(CENT, rounding=ROUND_HALF_UP)
        if item.amount > full:
            problems.append(
                {
                    "field": f"items.{position - 1}.amount",
                    "code": "amount_above_price",
                    "message": f"{item.amount} is more than quantity x unit price ({full}).",
                }
            )
    lines_total = sum((item.amount for item in items), Decimal(0))
    if lines_total != total:
        problems.append(
            {
                "field": "totalAmount",
                "code": "items_do_not_add_up",
                "message": f"The items add up to {lines_total}, the total says {total}.",
            }
        )
    if problems:
        raise ItemsDoNotAddUp("; ".join(p["message"] for p in problems), errors=problems)
