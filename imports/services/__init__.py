"""Every write of the imports app: queueing, control (cancel, resume) and processing."""

from imports.services.control import cancel_batch, resume_batch, resume_type
from imports.services.processing import claim_chunk, process_batch
from imports.services.queueing import actor_of, queue_batch

__all__ = [
    "actor_of",
    "cancel_batch",
    "claim_chunk",
    "process_batch",
    "queue_batch",
    "resume_batch",
    "resume_type",
]
