"""Import type of the /tx flow: purchase transactions, evaluated by the rules engine and booked
once per txId (the same txId again replays the first answer and books nothing)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from imports.registry import ApplyContext, ImportType, register
from loyalty.tx.context import Item
from loyalty.tx.serializers import TxInputSerializer
from loyalty.tx.services import TxRequest, book

ITEM_COLUMNS = ("product_key", "quantity", "unit_price", "amount")


class TransactionRecord(TxInputSerializer):
    tx_id = serializers.CharField(max_length=100, help_text="Required in an import: the points are booked once.")


def prepare_transaction(values: dict[str, Any]) -> dict[str, Any]:
    """CSV: one line item in flat columns (productKey, quantity, unitPrice, amount) instead of `items`."""
    if any(column in values for column in ITEM_COLUMNS):
        item = {column: values.pop(column) for column in ITEM_COLUMNS if column in values}
        values.setdefault("items", [item])
    return values


def apply_transaction(data: dict[str, Any], context: ApplyContext) -> dict[str, Any]:
    request = TxRequest(
        membership_key=data["membership_key"],
        channel=data["channel"],
        occurred_at=data["occurred_at"],
        total_amount=data["total_amount"],
        currency=data["currency"],
        items=[Item(i["product_key"], i["quantity"], i["unit_price"], i["amount"]) for i in data["items"]],
        receipt_id=data["receipt_id"],
        tx_id=data["tx_id"],
        sponsor=data["sponsor"],
        payment_method=data["payment_method"],
        properties=data["properties"],
    )
    answer, _ = book(request, actor=context.actor)
    return {"txId": answer.get("tx_id", data["tx_id"]), "points": answer.get("points", [])}


register(
    ImportType(
        key="transactions",
        title="Transactions",
        description="Purchase transactions, evaluated against the promotions and booked once per txId (as POST /tx). "
        "In CSV, give `items` as a JSON array, or one line item in the columns productKey, quantity, "
        "unitPrice and amount.",
        serializer=TransactionRecord,
        apply=apply_transaction,
        app="loyalty",
        books_points=True,
        prepare=prepare_transaction,
        csv_alternatives={"items": ITEM_COLUMNS},
        example={
            "txId": "POS-1-20250101-0001",
            "receiptId": "R-0001",
            "membershipKey": "100000001",
            "channel": "webshop",
            "occurredAt": "2025-01-01T10:00:00+01:00",
            "totalAmount": "12.98",
            "currency": "EUR",
            "items": [{"productKey": "COF-001", "quantity": "2", "unitPrice": "6.49", "amount": "12.98"}],
        },
    )
)
