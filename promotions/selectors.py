"""Reads of promotions: the compiled active set, cached per process until the configuration changes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

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
