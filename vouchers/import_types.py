"""Import type of the vouchers app: issue vouchers of a type, to a member or to nobody.

The codes are drawn by the type's generator (as POST /voucher/{type}/issue); importing codes made
elsewhere needs a vouchers service that stores given codes, which does not exist yet.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from imports.registry import ApplyContext, ImportType, register
from memberships.selectors import resolve_membership
from vouchers import selectors, services
from vouchers.serializers import IssueInput


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
