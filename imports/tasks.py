"""Celery tasks: they only call services. Both are safe to run twice (acks_late redelivery)."""

from celery import shared_task

from imports import workers
from imports.exports import run_job
from imports.services.processing import process_batch


@shared_task(name=workers.PROCESS_IMPORT_BATCH)
def process_import_batch(batch_id: int) -> dict:
    result = process_batch(batch_id)
    if result.get("status") == "running" and not process_import_batch.app.conf.task_always_eager:
        # Another worker holds the last chunks (or died holding them): look again once its claim
        # could have timed out, so a dead worker's records are finished without anyone resuming.
        from imports import conf

        process_import_batch.apply_async((batch_id,), countdown=conf.claim_timeout() + 5)
    return result


@shared_task(name=workers.RUN_EXPORT_JOB)
def run_export_job(job_id: int) -> None:
    run_job(job_id)
