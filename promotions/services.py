"""Every write of promotions: saving creates a new version when the rules change."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.db import transaction
from django.utils import timezone

from loyalty.actors import Actor
from loyalty.audit import record_audit
from loyalty.errors import InvalidInput
from loyalty.outbox import emit_event
from promotions.hooks import voucher_types
from promotions.models import Promotion, PromotionVersion
from promotions.rules import RuleErrors, validate_definition


class InvalidPromotion(InvalidInput):
    code = "invalid_promotion"
    default_detail = "The promotion's rules are not valid."


def _reference_errors(definition: dict[str, Any]) -> list[dict[str, str]]:
    """Keys a promotion names must exist: point type, sponsors, channels, tiers, types, voucher types."""
    from ledger.models import PointType
    from loyalty.models import MembershipType, Sponsor, Tier

    errors = []

    def check(path: str, keys: list[str], model, label: str) -> None:
        known = set(model.objects.filter(key__in=keys).values_list("key", flat=True))
        for key in keys:
            if key not in known:
                errors.append({"field": path, "code": "unknown_reference", "message": f"No {label} {key!r}."})

    check("pointType", [definition["pointType"]], PointType, "point type")
    scope = definition.get("scope") or {}
    check("scope.sponsors", scope.get("sponsors") or [], Sponsor, "sponsor")
    check("scope.tiers", scope.get("tiers") or [], Tier, "tier")
    check("scope.membershipTypes", scope.get("membershipTypes") or [], MembershipType, "membership type")
    channel = apps.get_model("promotions", "Channel")
    check("scope.channels", scope.get("channels") or [], channel, "channel")
    vouchers = [e["voucherType"] for e in definition["effects"] if e["type"] == "issueVoucher"]
    if vouchers:
        known = voucher_types()
        if known is None:
            errors.append({"field": "effects", "code": "unknown_reference", "message": "Vouchers are not installed."})
        for key in [] if known is None else [key for key in vouchers if key not in known]:
            message = f"No voucher type {key!r}."
            errors.append({"field": "effects.voucherType", "code": "unknown_reference", "message": message})
    return errors


def clean_definition(definition: Any) -> dict[str, Any]:
    try:
        cleaned = validate_definition(definition)
    except RuleErrors as exc:
        raise InvalidPromotion(str(exc), errors=exc.errors) from exc
    errors = _reference_errors(cleaned)
    if errors:
        raise InvalidPromotion("; ".join(e["message"] for e in errors), errors=errors)
    return cleaned


@transaction.atomic
def save_promotion(
    *,
    key: str,
    name: str,
    definition: dict[str, Any],
    actor: Actor,
    description: str = "",
    active: bool = True,
) -> Promotion:
    """Create or update a promotion. Changed rules make a new version; booked transactions keep theirs."""
    cleaned = clean_definition(definition)
    promotion = Promotion.objects.select_for_update().filter(key=key).first()
    creating = promotion is None
    if creating:
        promotion = Promotion(key=key)
    before = {"name": promotion.name, "description": promotion.description, "active": promotion.active}
    promotion.name, promotion.description, promotion.active = name, description, active
    if active and promotion.activated_at is None:
        promotion.activated_at = timezone.now()  # no longer a draft (promotions.lifecycle)
    try:
        promotion.full_clean(exclude=["current_version"])
    except Exception as exc:
        from django.core.exceptions import ValidationError

        if isinstance(exc, ValidationError):
            raise InvalidPromotion(
                "The promotion is not valid.",
                errors=[
                    {"field": f, "code": "invalid", "message": str(m)} for f, ms in exc.message_dict.items() for m in ms
                ],
            ) from exc
        raise
    promotion.save()
    changes: dict[str, Any] = {
        k: [before[k], getattr(promotion, k)] for k in before if creating or before[k] != getattr(promotion, k)
    }
    current = promotion.current_version
    if current is None or current.definition != cleaned:
        number = (current.number if current else 0) + 1
        version = PromotionVersion.objects.create(
            promotion=promotion, number=number, definition=cleaned, created_by=actor.label[:200]
        )
        promotion.current_version = version
        promotion.save(update_fields=["current_version", "updated_at"])
        changes["version"] = [current.number if current else None, number]
    if not changes:
        return promotion
    verb = "created" if creating else "updated"
    record_audit(actor, f"promotion.{verb}", promotion, changes=changes)
    emit_event(f"promotion.{verb}", payload={"key": promotion.key, "version": promotion.current_version.number})
    return promotion


def clone_promotion(promotion: Promotion, *, actor: Actor) -> Promotion:
    """A copy of a promotion's current rules under a new key ("<key>-copy", "-copy-2", ...), as a draft:
    inactive and never activated, so nothing earns by it until a manager activates it."""
    base = f"{promotion.key[:50]}-copy"
    taken = set(Promotion.objects.filter(key__startswith=base).values_list("key", flat=True))
    key = next(k for k in (base, *(f"{base}-{n}" for n in range(2, 1000))) if k not in taken)
    return save_promotion(
        key=key,
        name=f"Copy of {promotion.name}"[:200],
        description=promotion.description,
        definition=promotion.definition,
        active=False,
        actor=actor,
    )


def save_test_basket(
    *, promotion: Promotion, name: str, sample: dict[str, Any], expected: dict[str, str], actor: Actor
) -> Any:
    """Keep a simulated purchase and the points it earned, to run again on the promotion's later versions.
    A second basket of the same name replaces the first."""
    from promotions.models import TestBasket

    name = name.strip()[:120]
    if not name:
        raise InvalidInput(
            "Give the test basket a name.",
            errors=[{"field": "name", "code": "required", "message": "Give the test basket a name."}],
        )
    with transaction.atomic():
        basket, _ = TestBasket.objects.update_or_create(
            promotion=promotion,
            name=name,
            defaults={"sample": sample, "expected": expected, "created_by": actor.label[:200]},
        )
        record_audit(
            actor,
            "promotion.test_basket_saved",
            promotion,
            changes={
                "test basket": name,
                "expected": ", ".join(f"{v} {k}" for k, v in expected.items()) or "no points",
            },
        )
    return basket


def delete_test_basket(*, promotion: Promotion, basket_id: int, actor: Actor) -> None:
    from promotions.models import TestBasket

    with transaction.atomic():
        basket = TestBasket.objects.filter(promotion=promotion, pk=basket_id).first()
        if basket is None:
            return
        basket.delete()
        record_audit(actor, "promotion.test_basket_deleted", promotion, changes={"test basket": basket.name})
