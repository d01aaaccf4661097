"""Cancel and resume. Cancelling stops a worker between chunks; resuming continues with the
records not yet applied (a record is only ever applied once: see processing)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from imports import events
from imports.errors import BatchNotCancellable, BatchNotResumable
from imports.models import BatchStatus, ImportBatch, ImportRecord, RecordStatus
from imports.services.processing import skip_locked
from imports.services.queueing import enqueue
from loyalty.actors import Actor
from loyalty.audit import record_audit

RESUMABLE = (BatchStatus.CANCELLED, BatchStatus.FAILED)


def _lock(batch: ImportBatch) -> ImportBatch:
    return ImportBatch.objects.select_for_update().get(pk=batch.pk)


@transaction.atomic
def cancel_batch(*, batch: ImportBatch, actor: Actor) -> ImportBatch:
    """Stop a queued or running batch after the chunk in hand. Cancelling twice changes nothing."""
    batch = _lock(batch)
    if batch.status == BatchStatus.CANCELLED:
        return batch
    if batch.status in (BatchStatus.COMPLETED, BatchStatus.FAILED):
        raise BatchNotCancellable(f"The batch is {batch.status}; only a queued or running batch can be cancelled.")
    before = batch.status
    batch.status = BatchStatus.CANCELLED
    batch.cancelled_at = timezone.now()
    batch.eta_seconds = None
    batch.save(update_fields=["status", "cancelled_at", "eta_seconds", "updated_at"])
    record_audit(actor, events.IMPORT_CANCELLED, batch, changes={"status": [before, batch.status]})
    return batch


@transaction.atomic
def resume_batch(*, batch: ImportBatch, actor: Actor) -> ImportBatch:
    """Queue a cancelled or failed batch again; a queued or running one is only nudged (another
    worker joins it, which is harmless: workers claim disjoint chunks)."""
    batch = _lock(batch)
    if batch.status == BatchStatus.COMPLETED:
        raise BatchNotResumable("The batch is completed: every record was applied or reported.")
    before = batch.status
    if batch.status in RESUMABLE:
        batch.status = BatchStatus.QUEUED
        batch.error = ""
        batch.cancelled_at = None
        batch.finished_at = None
        batch.save(update_fields=["status", "error", "cancelled_at", "finished_at", "updated_at"])
    # Chunks claimed by a worker that died go back to pending now instead of after the claim
    # timeout. Safe beside a live worker: it applies only records it re-locks still holding its
    # token. Records a worker has locked are skipped, not waited for: that worker holds them while it
    # waits for the batch row locked here (to count its outcomes), and waiting would deadlock.
    claimed = ImportRecord.objects.filter(batch_id=batch.pk, status=RecordStatus.CLAIMED).order_by("pk")
    free = list(skip_locked(claimed).values_list("pk", flat=True))
    released = ImportRecord.objects.filter(pk__in=free, status=RecordStatus.CLAIMED).update(
        status=RecordStatus.PENDING, claim_token="", claimed_at=None
    )
    record_audit(
        actor, events.IMPORT_RESUMED, batch, changes={"status": [before, batch.status], "released": [None, released]}
    )
    enqueue(batch)
    return batch


def resume_type(*, import_type: str, actor: Actor) -> list[ImportBatch]:
    """Resume every cancelled or failed batch of a type, each in its own transaction."""
    keys = list(
        ImportBatch.objects.filter(import_type=import_type, status__in=RESUMABLE)
        .order_by("created_at", "id")
        .values_list("pk", flat=True)
    )
    resumed = []
    for pk in keys:
        batch = ImportBatch.objects.get(pk=pk)
        if batch.status in RESUMABLE:
            resumed.append(resume_batch(batch=batch, actor=actor))
    return resumed
