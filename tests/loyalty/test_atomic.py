"""loyalty.atomic: inside whole_or_nothing() a service's nested block opens no savepoint, and an
error still cannot be half-committed."""

import contextlib

import pytest
from django.db import connection, transaction
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext

from loyalty.atomic import atomic, whole_or_nothing
from loyalty.models import Sponsor


def _savepoints(queries) -> int:
    return sum(1 for q in queries if q["sql"].startswith("SAVEPOINT"))


@pytest.mark.django_db
def test_a_nested_service_block_opens_a_savepoint_except_inside_whole_or_nothing():
    with transaction.atomic():
        with CaptureQueriesContext(connection) as alone, atomic():
            Sponsor.objects.create(key="a", name="A")
        with CaptureQueriesContext(connection) as inside, whole_or_nothing(), atomic():
            Sponsor.objects.create(key="b", name="B")
        with CaptureQueriesContext(connection) as own, whole_or_nothing(), transaction.atomic():
            Sponsor.objects.create(key="c", name="C")  # a caller's own atomic() keeps its savepoint
    assert (_savepoints(alone), _savepoints(inside), _savepoints(own)) == (1, 0, 1)
    assert set(Sponsor.objects.values_list("key", flat=True)) >= {"a", "b", "c"}


@pytest.mark.django_db(transaction=True)
def test_an_error_inside_rolls_back_the_whole_transaction():
    with pytest.raises(ValueError), transaction.atomic():
        Sponsor.objects.create(key="kept-before", name="Before")
        with whole_or_nothing(), atomic():
            Sponsor.objects.create(key="inner", name="Inner")
            raise ValueError("refused")
    assert not Sponsor.objects.filter(key__in=["kept-before", "inner"]).exists()


@pytest.mark.django_db(transaction=True)
def test_a_caller_that_swallows_the_error_cannot_go_on_and_commits_nothing():
    with pytest.raises(TransactionManagementError), transaction.atomic():
        Sponsor.objects.create(key="outer", name="Outer")
        with contextlib.suppress(ValueError), whole_or_nothing(), atomic():
            Sponsor.objects.create(key="inner", name="Inner")
            raise ValueError("refused")
        Sponsor.objects.count()  # Django refuses: the transaction is marked for rollback
    assert not Sponsor.objects.filter(key__in=["outer", "inner"]).exists()


@pytest.mark.django_db(transaction=True)
def test_a_service_that_catches_inside_its_own_block_goes_on():
    with transaction.atomic():
        Sponsor.objects.create(key="outer", name="Outer")
        with whole_or_nothing():
            # The service's own savepoint, around what it calls.
            with contextlib.suppress(ValueError), transaction.atomic(), atomic():
                Sponsor.objects.create(key="inner", name="Inner")
                raise ValueError("refused")
            Sponsor.objects.create(key="after", name="After")
    assert set(Sponsor.objects.filter(key__in=["outer", "inner", "after"]).values_list("key", flat=True)) == {
        "outer",
        "after",
    }


def test_whole_or_nothing_ends_with_its_block():
    from loyalty import atomic as module

    with whole_or_nothing():
        assert module._savepoints.get() is False
    assert module._savepoints.get() is True
