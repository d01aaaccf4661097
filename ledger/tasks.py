"""Periodic ledger jobs (beat schedule in config/settings/tasks.py; `manage.py run_job NAME`)."""

import logging

from celery import shared_task
from django.db import transaction

from ledger import events
from ledger.services import expire_due, notify_expiring, notify_matured
from ledger.verify import verify
from loyalty.actors import Actor
from loyalty.outbox import emit_event

logger = logging.getLogger(__name__)


@shared_task(name="ledger.tasks.expire_points")
def expire_points() -> int:
    return expire_due(actor=Actor.for_system("expire_points"))


@shared_task(name="ledger.tasks.notify_matured_points")
def notify_matured_points() -> int:
    return notify_matured()


@shared_task(name="ledger.tasks.notify_expiring_points")
def notify_expiring_points() -> int:
    return notify_expiring()


@shared_task(name="ledger.tasks.verify_ledger")
def verify_ledger() -> int:
    """Nightly: any violation raises an alert event operations can subscribe to."""
    violations = verify()
    if violations:
        logger.error("ledger_verify found %d violation(s)", len(violations))
        with transaction.atomic():
            emit_event(
                events.LEDGER_VERIFY_FAILED,
                payload={"count": len(violations), "violations": [str(v) for v in violations[:50]]},
            )
    return len(violations)
