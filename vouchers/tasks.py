"""Periodic voucher jobs (beat schedule in config/settings/tasks.py; `manage.py run_job NAME`)."""

from celery import shared_task

from loyalty.actors import Actor
from vouchers.services import expire_vouchers as expire_due_vouchers


@shared_task(name="vouchers.tasks.expire_vouchers")
def expire_vouchers() -> int:
    """Mark issued vouchers past their end as expired, with a `voucher.expired` event each."""
    return expire_due_vouchers(actor=Actor.for_system("expire_vouchers"))
