"""Event types the memberships app emits (the feed's `type` field).

Payloads carry membership numbers, keys and the names of changed fields, never personal data:
an integrator that needs the new values reads `GET /memberships/{key}/details`.
"""

MEMBERSHIP_ENROLLED = "membership.enrolled"
MEMBERSHIP_ANONYMOUS_CREATED = "membership.anonymous_created"
MEMBERSHIP_UPDATED = "membership.updated"
MEMBERSHIP_CLAIMED = "membership.claimed"
MEMBERSHIP_MERGED = "membership.merged"
MEMBERSHIP_CANCELLED = "membership.cancelled"
MEMBERSHIP_REACTIVATED = "membership.reactivated"
MEMBERSHIP_BLOCKED = "membership.blocked"
MEMBERSHIP_UNBLOCKED = "membership.unblocked"
TIER_CHANGED = "tier.changed"

CARD_ISSUED = "card.issued"
CARD_UPDATED = "card.updated"
CARD_DELETED = "card.deleted"

ALTERNATE_ID_ADDED = "alternate_id.added"
ALTERNATE_ID_DELETED = "alternate_id.deleted"

REMARK_ADDED = "remark.added"

LEGAL_ENTITY_CREATED = "legal_entity.created"
LEGAL_ENTITY_UPDATED = "legal_entity.updated"
LEGAL_ENTITY_CANCELLED = "legal_entity.cancelled"
LEGAL_ENTITY_REACTIVATED = "legal_entity.reactivated"

ALL = [
    value
    for name, value in sorted(globals().items())
    if name.isupper() and isinstance(value, str) and "." in value and name != "ALL"
]
