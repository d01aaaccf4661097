"""Names for the ids that audit entries record in reference fields ("sponsor_id": 3), so the audit
log and the member's history say "sponsor: Bright Fuel" rather than "sponsor id: 3"."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.db.models import Model

from ledger.models import PointType
from loyalty.audit import referenced_ids
from loyalty.models import AuditEntry, MembershipType, Sponsor, Tier
from memberships.models import LegalEntity

REFERENCES: dict[str, type[Model]] = {
    "sponsor_id": Sponsor,
    "membership_type_id": MembershipType,
    "point_type_id": PointType,
    "tier_id": Tier,
    "legal_entity_id": LegalEntity,
}


def reference_names(entries: Iterable[AuditEntry]) -> dict[str, dict[str, str]]:
    """{field: {id: name}} for every reference these entries record: one query per kind named."""
    wanted: dict[str, set[str]] = defaultdict(set)
    for entry in entries:
        for field, ids in referenced_ids(entry.changes, REFERENCES).items():
            wanted[field] |= ids
    return {
        field: {str(pk): name for pk, name in REFERENCES[field].objects.filter(pk__in=ids).values_list("pk", "name")}
        for field, ids in wanted.items()
    }
