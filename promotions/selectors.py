"""Reads of promotions: the compiled active set, cached per process until the configuration changes."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from promotions.engine import CompiledPromotion, compile_promotion
from promotions.models import Promotion, PromotionVersion


def _precisions() -> dict[str, int]:
    from ledger.models import PointType

    return dict(PointType.objects.values_list("key", "precision"))


def _compile(version: PromotionVersion, precisions: dict[str, int]) -> CompiledPromotion:
    return compile_promotion(
        key=version.promotion.key,
        version=version.number,
        version_id=version.pk,
        promotion_id=version.promotion_id,
        name=version.promotion.name,
        definition=version.definition,
        precision=precisions.get(version.definition["pointType"], 0),
    )


def _compile_active() -> list[CompiledPromotion]:
    precisions = _precisions()
    versions = PromotionVersion.objects.filter(
        pk__in=Promotion.objects.filter(active=True, current_version__isnull=False).values("current_version")
    ).select_related("promotion")
    return [_compile(v, precisions) for v in versions]


def active_promotions() -> list[CompiledPromotion]:
    """Compiled once per process and configuration generation (loyalty.configuration: promotions,
    their versions and the point types move it). Compiled promotions are immutable: no copies."""
    from loyalty.configuration import cached

    return cached("promotions", _compile_active)


def compiled_versions(version_ids: list[int]) -> list[CompiledPromotion]:
    """Exactly the versions a booked transaction used (for recomputing a return)."""
    precisions = _precisions()
    versions = PromotionVersion.objects.filter(pk__in=version_ids).select_related("promotion")
    return [_compile(v, precisions) for v in versions]


def budgets_of(keys: list[str]) -> dict[str, dict[str, Any]]:
    """Name, point type and budget use of the promotions with these keys (two queries):
    `budget` is the cap in minor units of its point type (None without one), `used` what it gave,
    `precision` its point type's."""
    rows = (
        Promotion.objects.filter(key__in=keys)
        .select_related("current_version", "budget")
        .only("key", "name", "active", "current_version__definition", "budget__used")
    )
    precisions = _precisions()
    result: dict[str, dict[str, Any]] = {}
    for promo in rows:
        definition = promo.current_version.definition if promo.current_version else {}
        point_type = definition.get("pointType", "")
        cap = (definition.get("caps") or {}).get("budget")
        budget = int(Decimal(str(cap)).scaleb(precisions.get(point_type, 0))) if cap is not None else None
        used = promo.budget.used if hasattr(promo, "budget") else 0
        result[promo.key] = {
            "name": promo.name,
            "active": promo.active,
            "budget": budget,
            "used": used,
            "precision": precisions.get(point_type, 0),
        }
    return result


# The promotion list ------------------------------------------------------------------------------------

GIVEN_DAYS = 30


def scope_names() -> dict[str, dict[str, str]]:
    """The names of what a scope can name, by its field and key (four queries)."""
    from loyalty.models import MembershipType, Sponsor, Tier
    from promotions.models import Channel

    return {
        "sponsors": dict(Sponsor.objects.order_by("name").values_list("key", "name")),
        "channels": dict(Channel.objects.order_by("name").values_list("key", "name")),
        "tiers": dict(Tier.objects.order_by("rank").values_list("key", "name")),
        "membershipTypes": dict(MembershipType.objects.order_by("name").values_list("key", "name")),
    }


def list_context(now: datetime) -> dict[str, Any]:
    """What a page of the promotion list shows beside each row, read once: names for the scopes, the
    point types' precisions, the program's zone, and the points each promotion gave over the last 30 days
    of booked purchases (from the daily summary, "1,234.50 Points in 57 rewards")."""
    from ledger.amounts import show_points
    from ledger.models import PointType
    from loyalty.models import Program
    from promotions.hooks import points_given

    zone = ZoneInfo(Program.current().time_zone)
    point_types = {pt.key: pt for pt in PointType.objects.all()}
    today = now.astimezone(zone).date()
    given: dict[str, list[str]] = {}
    for row in points_given(today - timedelta(days=GIVEN_DAYS - 1), today):
        point_type = point_types.get(row["point_type"])
        amount = show_points(row["amount"], point_type.precision) if point_type else str(row["amount"])
        name = point_type.name if point_type else row["point_type"]
        given.setdefault(row["promotion_key"], []).append(f"{amount} {name} in {row['rewards']:,} rewards")
    return {
        "zone": zone,
        "names": scope_names(),
        "precisions": {key: pt.precision for key, pt in point_types.items()},
        "given": {key: "; ".join(parts) for key, parts in given.items()},
    }


def dates_in_words(definition: dict[str, Any], zone: ZoneInfo) -> str:
    """The validity dates as days of the program's zone: "1 Dec 2026 – 31 Dec 2026", "from …", "always"."""
    validity = definition.get("validity") or {}

    def day(value: str | None, *, end: bool = False) -> str:
        if not value:
            return ""
        moment = datetime.fromisoformat(value) - (timedelta(microseconds=1) if end else timedelta(0))
        return moment.astimezone(zone).strftime("%-d %b %Y")

    # The end is the first moment it no longer applies: the last day shown is the one before it.
    start, until = day(validity.get("from")), day(validity.get("until"), end=True)
    if start and until:
        return f"{start} – {until}"
    if start:
        return f"from {start}"
    return f"until {until}" if until else "always"


def budget_in_words(promotion: Promotion, precisions: dict[str, int]) -> str:
    """How much of its budget the promotion has given: "69.0 % of 25,000.00", or "—" without a budget."""
    definition = promotion.definition
    cap = (definition.get("caps") or {}).get("budget")
    if cap is None:
        return "—"
    precision = precisions.get(definition.get("pointType", ""), 0)
    budget = int(Decimal(str(cap)).scaleb(precision))
    used = promotion.budget.used if hasattr(promotion, "budget") else 0
    share = f"{100 * used / budget:.1f} %" if budget else "—"
    return f"{share} of {Decimal(budget).scaleb(-precision):,.{precision}f}"
