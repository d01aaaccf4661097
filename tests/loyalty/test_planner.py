"""Planner statistics kept current while bulk work grows a table (PostgreSQL)."""

import time

import pytest
from django.db import transaction

from loyalty.bulk import insert_rows
from loyalty.models import Event
from loyalty.planner import MIN_CHANGES, refresh_if_stale, stale_tables

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _until(condition, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)  # the server publishes its change counts about once a second
    return False


def test_a_table_grown_past_its_statistics_is_analyzed_once():
    with transaction.atomic():
        insert_rows(Event, [{"type": "bulk.test", "payload": {"n": i}} for i in range(MIN_CHANGES + 500)])
    assert _until(lambda: ("public", "loyalty_event") in stale_tables())
    with transaction.atomic():
        assert refresh_if_stale(force=True) == []  # never inside a transaction: ANALYZE there holds locks
    assert "loyalty_event" in refresh_if_stale(force=True)
    assert _until(lambda: ("public", "loyalty_event") not in stale_tables())
    assert "loyalty_event" not in refresh_if_stale(force=True)
