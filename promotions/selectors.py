"""Reads of promotions: the compiled active set, cached per process until a promotion changes."""

from __future__ import annotations

import threading

from promotions.engine import CompiledPromotion, compile_promotion
from promotions.models import Promotion, PromotionGeneration, PromotionVersion

_lock = threading.Lock()
_cache: dict[str, object] = {"generation": None, "promotions": []}


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


def generation() -> int:
    return PromotionGeneration.objects.filter(pk=1).values_list("value", flat=True).first() or 0


def forget_compiled() -> None:
    """Drop the compiled set (tests roll generations back, so a number can come round again)."""
    with _lock:
        _cache["generation"], _cache["promotions"] = None, []


def active_promotions() -> list[CompiledPromotion]:
    """Compiled once per process and generation: one cheap query per request (per unit of work, see
    loyalty.memo: an import chunk) when nothing changed."""
    from loyalty.memo import memoized

    current = memoized("promotion_generation", generation)
    if _cache["generation"] == current:
        return _cache["promotions"]  # type: ignore[return-value]
    with _lock:
        precisions = _precisions()
        versions = PromotionVersion.objects.filter(
            pk__in=Promotion.objects.filter(active=True, current_version__isnull=False).values("current_version")
        ).select_related("promotion")
        compiled = [_compile(v, precisions) for v in versions]
        _cache["promotions"], _cache["generation"] = compiled, current
    return compiled


def compiled_versions(version_ids: list[int]) -> list[CompiledPromotion]:
    """Exactly the versions a booked transaction used (for recomputing a return)."""
    precisions = _precisions()
    versions = PromotionVersion.objects.filter(pk__in=version_ids).select_related("promotion")
    return [_compile(v, precisions) for v in versions]
