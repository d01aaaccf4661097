"""bench/tx.py's URLconf: the project's URLs plus a minimal view to compare POST /api/v1/tx with.

The minimal view does what the floor of any booking does: lock one account row, update it, insert
one history row, in one transaction, and answer with a little JSON. Its tables (bench_account,
bench_history) exist only in the benchmark database; bench/tx.py creates them.
"""

import json

from django.db import connection, transaction
from django.http import JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from config.urls import handler404, handler500
from config.urls import urlpatterns as project_urlpatterns

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


urlpatterns = [path("bench/minimal/<int:account>", minimal_booking), *project_urlpatterns]
