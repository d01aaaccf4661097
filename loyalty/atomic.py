"""The atomic blocks of services that other services call.

A service opens an atomic block so that, called alone, it commits or rolls back as one. Called
inside another service's transaction, Django makes that block a savepoint: two more round trips
(SAVEPOINT, RELEASE) that only matter to a caller that catches the error and goes on. A caller
whose whole transaction ends at the first error (a booking through POST /tx) runs the services it
calls inside `whole_or_nothing()`, and their blocks open no savepoint. An error still cannot be
half-committed: Django marks the transaction for rollback, refuses every query until the nearest
block that has a savepoint (or the outermost one) ends, and rolls back there. A service that
catches an error from what it calls and goes on opens its own `transaction.atomic()` around the
call, which keeps its savepoint here too.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import transaction

_savepoints: ContextVar[bool] = ContextVar("nested_savepoints", default=True)


def atomic() -> transaction.Atomic:
    """transaction.atomic() for a service's own block: no savepoint inside whole_or_nothing()."""
    return transaction.atomic(savepoint=_savepoints.get())


@contextmanager
def whole_or_nothing() -> Iterator[None]:
    """Services called in here open no savepoints: the caller's transaction ends at the first error."""
    token = _savepoints.set(False)
    try:
        yield
    finally:
        _savepoints.reset(token)
