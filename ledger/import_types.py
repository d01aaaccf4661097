"""Import types of the ledger: point adjustments and transfers, booked through the ledger services.

Each record carries its own idempotency key (batch + line), so the ledger books it at most once
whatever happens to the worker that applies it.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from imports.registry import ApplyContext, ImportType, register
from ledger.amounts import to_minor, to_points
from ledger.serializers import AdjustInputSerializer, TransferInputSerializer
from ledger.services import adjust_points, transfer_points
from ledger.services.core import point_type_by_key, sponsor_by_key
from memberships.selectors import MAX_KEY_LENGTH, resolve_membership


class AdjustmentRecord(AdjustInputSerializer):
    membership_key = serializers.CharField(max_length=MAX_KEY_LENGTH, help_text="Number, card or alternate id.")


def apply_adjustment(data: dict[str, Any], context: ApplyContext) -> dict[str, Any]:
    point_type = context.cached("point_type", data.get("point_type"), lambda: point_type_by_key(data.get("point_type")))
    points = to_minor(data["points"], point_type.precision)
    booking = adjust_points(
        membership=resolve_membership(data["membership_key"]),
        points=points,
        point_type=point_type,
        sponsor=context.cached("sponsor", data.get("sponsor"), lambda: sponsor_by_key(data.get("sponsor"))),
        reason=data["reason"],
        actor=context.actor,
        idempotency_key=context.idempotency_key,
    )
    return {"receiptId": booking.receipt_id, "points": str(to_points(points, point_type.precision))}


register(
    ImportType(
        key="pointAdjustments",
        title="Point adjustments",
        description="Credit (positive) or debit (negative) points with a reason, as POST /deposits/{key}/adjust.",
        serializer=AdjustmentRecord,
        apply=apply_adjustment,
        app="ledger",
        books_points=True,
        example={"membershipKey": "100000001", "points": "250.00", "reason": "Migration opening balance"},
    )
)


class TransferRecord(TransferInputSerializer):
    source_key = serializers.CharField(max_length=MAX_KEY_LENGTH, help_text="The membership giving points.")
    target_key = serializers.CharField(max_length=MAX_KEY_LENGTH, help_text="The membership receiving them.")


def apply_transfer(data: dict[str, Any], context: ApplyContext) -> dict[str, Any]:
    point_type = context.cached("point_type", data.get("point_type"), lambda: point_type_by_key(data.get("point_type")))
    points = to_minor(data["points"], point_type.precision)
    booking = transfer_points(
        source=resolve_membership(data["source_key"]),
        target=resolve_membership(data["target_key"]),
        points=points,
        point_type=point_type,
        actor=context.actor,
        idempotency_key=context.idempotency_key,
    )
    return {"receiptId": booking.receipt_id}


register(
    ImportType(
        key="transfers",
        title="Point transfers",
        description="Move points between memberships, as POST /deposits/{sourceKey}/transfer/{targetKey}.",
        serializer=TransferRecord,
        apply=apply_transfer,
        app="ledger",
        books_points=True,
        example={"sourceKey": "100000001", "targetKey": "100000002", "points": "10.00"},
    )
)
