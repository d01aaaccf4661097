"""System accounts are remembered per process once committed, never from a rolled-back transaction."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from ledger.models import Account
from ledger.services.core import system_accounts

pytestmark = pytest.mark.django_db(transaction=True)  # on_commit runs: real commits and rollbacks


def _account_reads(queries) -> int:
    return sum('"ledger_account"' in (q["sql"] or "") for q in queries.captured_queries)


def test_a_system_account_made_in_a_transaction_that_rolls_back_is_not_remembered(ledger_program):
    shop, points = ledger_program.shop, ledger_program.points
    with pytest.raises(RuntimeError), transaction.atomic():
        (lost,) = system_accounts(shop, [points], Account.Kind.ISSUED).values()
        raise RuntimeError("the booking failed")
    assert not Account.objects.filter(pk=lost.pk).exists()

    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        (issued,) = system_accounts(shop, [points], Account.Kind.ISSUED).values()
    assert _account_reads(queries) >= 1  # read (and made) again, not remembered
    assert Account.objects.filter(pk=issued.pk, kind=Account.Kind.ISSUED, sponsor=shop).exists()


def test_committed_system_accounts_are_read_once_per_process(ledger_program):
    shop, points, status = ledger_program.shop, ledger_program.points, ledger_program.status
    with transaction.atomic():
        first = system_accounts(shop, [points, status], Account.Kind.ISSUED)
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        again = system_accounts(shop, [points, status], Account.Kind.ISSUED)
    assert again == first and _account_reads(queries) == 0
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        other = system_accounts(ledger_program.fuel, [points], Account.Kind.ISSUED)  # another sponsor: read
    assert _account_reads(queries) >= 1 and other[points.pk].sponsor_id == ledger_program.fuel.pk
