"""Import type of the /tx flow: purchase transactions, evaluated by the rules engine and booked
once per txId (the same txId again replays the first answer and books nothing)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from rest_framework import serializers

from imports.registry import ApplyContext, BulkItem, ImportType, register
from transactions.bulk import book_many
from transactions.serializers import TxInputSerializer
from transactions.services import TxRequest, book

ITEM_COLUMNS = ("product_key", "quantity", "unit_price", "amount")
# The example's purchase is of yesterday (as of the process start): a fixed date would fall out of TX_MAX_AGE_DAYS.
EXAMPLE_DAY = datetime.now(UTC).date() - timedelta(days=1)


class TransactionRecord(TxInputSerializer):
    tx_id = serializers.CharField(max_length=100, help_text="Required in an import: the points are booked once.")


def prepare_transaction(values: dict[str, Any]) -> dict[str, Any]:
    """CSV: one line item in flat columns (productKey, quantity, unitPrice, amount) instead of `items`."""
    if any(column in values for column in ITEM_COLUMNS):
        item = {column: values.pop(column) for column in ITEM_COLUMNS if column in values}
        values.setdefault("items", [item])
    return values


def _result(answer: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    return {"txId": answer.get("tx_id", data["tx_id"]), "points": answer.get("points", [])}


def apply_transaction(data: dict[str, Any], context: ApplyContext) -> dict[str, Any]:
    answer, _ = book(TxRequest.from_input(data), actor=context.actor)
    return _result(answer, data)


def apply_transactions(items: list[BulkItem]) -> None:
    """A run of the chunk through book_many: it books from the start up to the first record it leaves,
    which the worker then books one by one with `book` before handing over the rest."""
    if not items:
        return
    answers = book_many([TxRequest.from_input(item.values) for item in items], actor=items[0].context.actor)
    for item, answer in zip(items, answers, strict=True):
        if answer is not None:
            item.result = _result(answer, item.values)


register(
    ImportType(
        key="transactions",
        title="Transactions",
        description="Purchase transactions, evaluated against the promotions and booked once per txId (as POST /tx). "
        "In CSV, give `items` as a JSON array, or one line item in the columns productKey, quantity, "
        "unitPrice and amount.",
        serializer=TransactionRecord,
        apply=apply_transaction,
        apply_bulk=apply_transactions,
        bulk_keeps_order=True,
        app="loyalty",
        books_points=True,
        prepare=prepare_transaction,
        csv_alternatives={"items": ITEM_COLUMNS},
        example={
            "txId": f"POS-1-{EXAMPLE_DAY:%Y%m%d}-0001",
            "receiptId": "R-0001",
            "membershipKey": "100000001",
            "channel": "webshop",
            "occurredAt": f"{EXAMPLE_DAY:%Y-%m-%d}T10:00:00+01:00",
            "totalAmount": "12.98",
            "currency": "EUR",
            "items": [{"productKey": "COF-001", "quantity": "2", "unitPrice": "6.49", "amount": "12.98"}],
        },
    )
)
