"""Import types of the vouchers app.

- `vouchers`: issue vouchers of a type, to a member or to nobody; the codes are drawn by the type's
  generator (as POST /voucher/{type}/issue).
- `voucherCodes`: register codes made elsewhere (a partner, a printer) through
  `services.register_vouchers`, a chunk at a time (`apply_bulk`), or one by one through
  `services.register_voucher` for what the bulk call refused, so each refusal has its own code.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from rest_framework import serializers

from imports.registry import ApplyContext, BulkItem, ImportType, register
from loyalty.api.serializers import StrictInputSerializer
from loyalty.errors import DomainError
from memberships.models import Membership
from memberships.selectors import resolve_membership
from vouchers import selectors, services
from vouchers.serializers import IssueInput

CODES_SOURCE = "import"


class VoucherRecord(IssueInput):
    voucher_type = serializers.CharField(max_length=40, help_text="The voucher type's key.")


def apply_voucher(data: dict[str, Any], context: ApplyContext) -> dict[str, Any]:
    recipient = resolve_membership(data["recipient"]) if data.get("recipient") else None
    key = data["voucher_type"]
    result = services.issue_voucher(
        voucher_type=context.cached("voucher_type", key, lambda: selectors.voucher_type_by_key(key)),
        recipient=recipient,
        actor=context.actor,
        source="import",
        reference=data["reference"] or context.idempotency_key,
        count=data["count"],
    )
    return {"tokens": result.tokens[:100], "count": result.count}


register(
    ImportType(
        key="vouchers",
        title="Vouchers",
        description="Issue vouchers of a type (optionally to a member; a priced type redeems its points).",
        serializer=VoucherRecord,
        apply=apply_voucher,
        app="vouchers",
        books_points=True,
        example={"voucherType": "coffee-10", "recipient": "100000001", "count": 1, "reference": "welcome"},
    )
)


# Codes made elsewhere ----------------------------------------------------------------------------


class VoucherCodeRecord(StrictInputSerializer):
    voucher_type = serializers.CharField(max_length=40, help_text="The voucher type's key.")
    code = serializers.CharField(
        max_length=200,
        help_text="The code as printed: letters, digits and '-', at least 8 letters or digits; stored in upper case.",
    )
    recipient = serializers.CharField(
        max_length=100,
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text="A membership key (number, card or alternate id). Leave out: anyone may use the voucher.",
    )
    valid_from = serializers.DateTimeField(
        required=False, allow_null=True, help_text="Usable from. Leave out: from the import (or the type's start)."
    )
    valid_until = serializers.DateTimeField(
        required=False,
        allow_null=True,
        help_text="Expires at; at most what the type allows. Leave out: as the type says.",
    )
    reference = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default="", help_text="What it is for, e.g. a mailing."
    )


def _voucher_type(key: str, context: ApplyContext):
    return context.cached("voucher_type", key, lambda: selectors.voucher_type_by_key(key))


def _given(data: dict[str, Any], context: ApplyContext) -> services.GivenCode:
    recipient = resolve_membership(data["recipient"]) if data.get("recipient") else None
    return services.GivenCode(
        code=data["code"],
        recipient=recipient,
        valid_from=data.get("valid_from"),
        valid_until=data.get("valid_until"),
        reference=data["reference"] or context.idempotency_key,
    )


def apply_voucher_code(data: dict[str, Any], context: ApplyContext) -> dict[str, Any]:
    given = _given(data, context)
    voucher = services.register_voucher(
        voucher_type=_voucher_type(data["voucher_type"], context),
        code=given.code,
        recipient=given.recipient,
        valid_from=given.valid_from,
        valid_until=given.valid_until,
        reference=given.reference,
        actor=context.actor,
        source=CODES_SOURCE,
    )
    return {"token": voucher.token}


def bulk_voucher_codes(items: list[BulkItem]) -> None:
    """A chunk of codes: one `register_vouchers` call per voucher type. A record the service refuses,
    or whose type or recipient does not resolve, is left to `apply_voucher_code`, which raises the
    same refusal with its code. Locks in the order of every issue, for the whole chunk first: the
    recipients in ascending id, then the stock rows in ascending id (each register_vouchers call
    then finds them held)."""
    groups: dict[int, list[tuple[BulkItem, services.GivenCode]]] = defaultdict(list)
    types = {}
    for item in items:
        try:
            voucher_type = _voucher_type(item.values["voucher_type"], item.context)
            given = _given(item.values, item.context)
        except DomainError:
            continue
        types[voucher_type.pk] = voucher_type
        groups[voucher_type.pk].append((item, given))
    recipients = {given.recipient.pk for group in groups.values() for _, given in group if given.recipient}
    list(Membership.objects.select_for_update(no_key=True).filter(pk__in=recipients).order_by("pk").values_list("pk"))
    for pk in sorted(groups):
        services.lock_stock(types[pk])
    for pk in sorted(groups):
        group = groups[pk]
        context = group[0][0].context
        try:
            result = services.register_vouchers(
                voucher_type=types[pk],
                codes=[given for _, given in group],
                actor=context.actor,
                source=CODES_SOURCE,
                reference=f"import:{context.batch_key}",
            )
        except DomainError:  # the whole type refused (inactive, ended): each record says so
            continue
        for (item, _), voucher in zip(group, result.vouchers, strict=True):
            if voucher is not None:
                item.result = {"token": voucher.token}


register(
    ImportType(
        key="voucherCodes",
        title="Voucher codes (made elsewhere)",
        description="Register codes a partner or printer generated as vouchers of a type (optionally to a member, "
        "with their own validity). Refused one by one: invalid_voucher_code, voucher_code_taken, invalid_validity, "
        "out_of_stock, member_limit_reached. Free: a priced type's price is not charged.",
        serializer=VoucherCodeRecord,
        apply=apply_voucher_code,
        apply_bulk=bulk_voucher_codes,
        app="vouchers",
        example={
            "voucherType": "summer-flyer",
            "code": "SUMMER-7K3F-9QX2",
            "recipient": "100000001",
            "validFrom": "2026-06-01T00:00:00+02:00",
            "validUntil": "2026-08-31T23:59:59+02:00",
            "reference": "flyer-june",
        },
    )
)
