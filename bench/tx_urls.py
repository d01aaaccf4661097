"""bench/tx.py's URLconf: the project's URLs plus two plain views to compare POST /api/v1/tx with.

The minimal view does what the floor of any booking does: lock one account row, update it, insert
one history row, in one transaction, and answer with a little JSON. Its tables (bench_account,
bench_history) exist only in the benchmark database; bench/tx.py creates them.

The write-set view measures what storing a booking costs with no platform code at all. It reads
the rows an earlier booked transaction wrote (the transaction, its lines and rewards, the ledger
booking with its postings, lots and lot movements, three audit entries and three events) once per
process, and then writes them again, with the member balances, as parameters of one prepared
statement under a new txId: no validation, no member lookup, no evaluation, one round trip.
"""

import json
import uuid
from typing import Any

from django.db import connection, transaction
from django.http import JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from config.urls import handler404, handler500
from config.urls import urlpatterns as project_urlpatterns
from loyalty.prepared import server_cursor

__all__ = ["handler404", "handler500", "urlpatterns"]


@csrf_exempt
def minimal_booking(request, account: int):
    amount = int(json.loads(request.body or b"{}").get("amount", 1))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT balance FROM bench_account WHERE id = %s FOR UPDATE", [account])
        (balance,) = cursor.fetchone()
        cursor.execute("UPDATE bench_account SET balance = %s WHERE id = %s", [balance + amount, account])
        cursor.execute(
            "INSERT INTO bench_history (account_id, amount, created_at) VALUES (%s, %s, now())", [account, amount]
        )
    return JsonResponse({"account": account, "balance": balance + amount}, status=201)


class WriteSet:
    """The rows one booked transaction wrote, read once, and the one statement that writes them
    again as parameters under a new txId: what a booking would cost with no platform code at all."""

    def __init__(self, template: int):
        from ledger.models import Booking, Lot, LotMovement, Posting
        from loyalty.models import AuditEntry, Event
        from transactions.models import Transaction, TransactionLine, TransactionReward

        tx = Transaction.objects.get(pk=template)
        booking = tx.booking_id
        self.ctes: list[str] = []
        self.params: list[Any] = []
        self.new_id: list[int] = []  # the positions of the params that take the new txId
        self._insert("b", Booking, Booking.objects.filter(pk=booking), {}, returning=True)
        self._insert("p", Posting, Posting.objects.filter(booking_id=booking), {"booking_id": "b"})
        self._insert(
            "l", Lot, Lot.objects.filter(booking_id=booking).order_by("id"), {"booking_id": "b"}, returning=True
        )
        lots = [m.lot_id for m in LotMovement.objects.filter(booking_id=booking).order_by("id")]
        order = sorted(set(lots))
        self._insert(
            "m",
            LotMovement,
            LotMovement.objects.filter(booking_id=booking).order_by("id"),
            {
                "booking_id": "b",
                "lot_id": [f"(SELECT id FROM l ORDER BY id OFFSET {order.index(i)} LIMIT 1)" for i in lots],
            },
        )
        balances = [
            (p.account_id, p.amount) for p in Posting.objects.filter(booking_id=booking, account__kind="member")
        ]
        self.ctes.append(
            "u AS (UPDATE ledger_account a SET balance = a.balance + v.delta FROM (VALUES "
            + ", ".join("(%s::bigint, %s::bigint)" for _ in balances)
            + ") v(id, delta) WHERE a.id = v.id)"
        )
        self.params += [value for row in balances for value in row]
        self._insert("t", Transaction, Transaction.objects.filter(pk=template), {"booking_id": "b"}, returning=True)
        self._insert(
            "tl", TransactionLine, TransactionLine.objects.filter(transaction_id=template), {"transaction_id": "t"}
        )
        self._insert(
            "tr", TransactionReward, TransactionReward.objects.filter(transaction_id=template), {"transaction_id": "t"}
        )
        self._insert("ae", AuditEntry, AuditEntry.objects.order_by("-id")[:3], {})
        self._insert("ev", Event, Event.objects.order_by("-id")[:3], {})
        self.sql = "WITH " + ",\n".join(self.ctes) + "\nSELECT id FROM t"

    def _insert(self, name: str, model, rows, references: dict, *, returning: bool = False) -> None:
        """INSERT INTO model's table VALUES (...): every column a parameter, except references to
        rows this statement inserts (a CTE's id, or one expression per row)."""
        fields = [f for f in model._meta.concrete_fields if not f.primary_key]
        values = []
        for n, row in enumerate(rows):
            cells = []
            for field in fields:
                ref = references.get(field.attname)
                if isinstance(ref, str):
                    cells.append(f"(SELECT id FROM {ref})")
                elif isinstance(ref, list):
                    cells.append(ref[n])
                else:
                    if field.attname in ("tx_id", "receipt_id", "idempotency_key"):
                        self.new_id.append(len(self.params))
                    self.params.append(field.get_db_prep_save(getattr(row, field.attname), connection))
                    cells.append("%s")
            values.append("(" + ", ".join(cells) + ")")
        columns = ", ".join(f'"{f.column}"' for f in fields)
        sql = f"INSERT INTO {model._meta.db_table} ({columns}) VALUES {', '.join(values)}"
        self.ctes.append(f"{name} AS ({sql}{' RETURNING id' if returning else ''})")

    def params_for(self, tx_id: str) -> list[Any]:
        params = list(self.params)
        for i in self.new_id:
            params[i] = tx_id
        return params


_write_sets: dict[int, WriteSet] = {}


@csrf_exempt
def write_set(request, template: int):
    json.loads(request.body or b"{}")  # the basket is read, as any view would, and not used
    rows = _write_sets.get(template) or _write_sets.setdefault(template, WriteSet(template))
    tx_id = uuid.uuid4().hex
    with transaction.atomic(), server_cursor() as cursor:  # prepared once per connection, as the API's are
        cursor.execute(rows.sql, rows.params_for(tx_id))
        (pk,) = cursor.fetchone()
    return JsonResponse({"txId": tx_id, "id": pk}, status=201)


urlpatterns = [
    path("bench/minimal/<int:account>", minimal_booking),
    path("bench/write-set/<int:template>", write_set),
    *project_urlpatterns,
]
