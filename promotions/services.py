"""Every write of promotions: saving creates a new version when the rules change."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.db import transaction
from django.utils import timezone

from loyalty.actors import Actor
from loyalty.audit import record_audit
from loyalty.errors import InvalidInput
from loyalty.models import Program
from loyalty.outbox import emit_event
from promotions.errors import ApprovalBySecondPerson, ApprovalNotRequested
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
    was_active = promotion.active and not creating
    before = {"name": promotion.name, "description": promotion.description, "active": was_active}
    rules_change = creating or promotion.current_version is None or promotion.current_version.definition != cleaned
    requested = withdrawn = False
    if active and not was_active and Program.current().promotion_approval:
        # Two-person approval: asking is all one person can do; it stays inactive until another approves.
        # Changed rules ask again (the approver approves what they see).
        requested = promotion.approval_requested_at is None or rules_change
        if requested:
            promotion.approval_requested_at, promotion.approval_requested_by = timezone.now(), actor.user
        active = False
    elif not active and promotion.approval_requested_at is not None:
        promotion.approval_requested_at, promotion.approval_requested_by = None, None
        withdrawn = True
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
    if requested:
        changes["activation"] = "asked for; a second person must approve"
    elif withdrawn:
        changes["activation"] = "request withdrawn"
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


@transaction.atomic
def approve_activation(*, promotion: Promotion, actor: Actor) -> Promotion:
    """Two-person approval: another person than the one who asked activates the promotion."""
    promotion = Promotion.objects.select_for_update().get(pk=promotion.pk)
    if promotion.approval_requested_at is None:
        raise ApprovalNotRequested()
    if actor.user is None or actor.user.pk == promotion.approval_requested_by_id:
        raise ApprovalBySecondPerson()
    asked_by = promotion.approval_requested_by
    promotion.active = True
    promotion.activated_at = promotion.activated_at or timezone.now()
    promotion.approval_requested_at, promotion.approval_requested_by = None, None
    promotion.save()
    record_audit(
        actor,
        "promotion.approved",
        promotion,
        changes={"active": [False, True], "asked by": str(asked_by) if asked_by else "(removed user)"},
    )
    emit_event("promotion.updated", payload={"key": promotion.key, "version": promotion.current_version.number})
    return promotion


@transaction.atomic
def decline_activation(*, promotion: Promotion, actor: Actor, reason: str = "") -> Promotion:
    """Turn an activation request down: the promotion stays inactive, the request is gone."""
    promotion = Promotion.objects.select_for_update().get(pk=promotion.pk)
    if promotion.approval_requested_at is None:
        raise ApprovalNotRequested()
    promotion.approval_requested_at, promotion.approval_requested_by = None, None
    promotion.save()
    record_audit(actor, "promotion.declined", promotion, changes={"reason": reason or "(none given)"})
    return promotion
