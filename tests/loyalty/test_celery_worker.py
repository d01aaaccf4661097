"""A real Celery worker (broker from CELERY_BROKER_URL) runs the idempotency purge; skipped when eager."""

import time
from datetime import timedelta

import pytest
from celery.result import EagerResult
from django.conf import settings
from django.utils import timezone

from loyalty.models import IdempotencyRecord
from loyalty.tasks import purge_idempotency_records

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]

WAIT_SECONDS = 20


def record(key: str, age: timedelta) -> IdempotencyRecord:
    row = IdempotencyRecord.objects.create(principal="client:1", key=key, request_hash="0" * 64)
    # created_at is auto_now_add: the age can only be set after the insert.
    IdempotencyRecord.objects.filter(pk=row.pk).update(created_at=timezone.now() - age)
    return row


def test_the_worker_purges_records_past_the_retention_and_keeps_the_others(celery_app, celery_worker):
    assert not celery_app.conf.task_always_eager
    retention = timedelta(days=settings.IDEMPOTENCY_RETENTION_DAYS)
    old = [record(f"old-{i}", retention + timedelta(days=i + 1)) for i in range(3)]
    inside = record("inside", retention - timedelta(hours=1))
    fresh = record("fresh", timedelta(0))

    result = purge_idempotency_records.delay()
    assert not isinstance(result, EagerResult)

    old_rows = IdempotencyRecord.objects.filter(pk__in=[r.pk for r in old])
    deadline = time.monotonic() + WAIT_SECONDS
    while old_rows.exists():
        if time.monotonic() > deadline:
            pytest.fail(f"the worker did not purge the old records within {WAIT_SECONDS} s")
        time.sleep(0.1)
    assert set(IdempotencyRecord.objects.values_list("pk", flat=True)) == {inside.pk, fresh.pk}
