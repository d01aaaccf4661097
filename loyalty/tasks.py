from celery import shared_task

from loyalty.services import purge_idempotency_records as purge


@shared_task(name="loyalty.tasks.purge_idempotency_records")
def purge_idempotency_records() -> int:
    return purge()
