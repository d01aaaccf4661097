from .audit import AuditEntry
from .clients import ApiClient, ApiKey
from .events import Event, EventCursor
from .idempotency import IdempotencyRecord
from .program import MembershipType, Program, Sponsor, Tier
from .rollups import RollupState, Snapshot

__all__ = [
    "ApiClient",
    "ApiKey",
    "AuditEntry",
    "Event",
    "EventCursor",
    "IdempotencyRecord",
    "MembershipType",
    "Program",
    "RollupState",
    "Snapshot",
    "Sponsor",
    "Tier",
]
