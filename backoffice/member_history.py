"""The member page's history: the latest audit entries about the membership, in words."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.urls import reverse

from backoffice.references import reference_names
from loyalty.audit import action_in_words, changes_in_words
from loyalty.models import AuditEntry

LATEST = 10
OBJECT_TYPE = "memberships.membership"


def history_panel(membership: Any, request: Any) -> dict[str, Any] | None:
    if not request.user.has_perm("loyalty.view_auditentry"):
        return None
    entries = list(
        AuditEntry.objects.filter(object_type=OBJECT_TYPE, object_id=str(membership.pk)).order_by("-id")[:LATEST]
    )
    names = reference_names(entries)
    return {
        "latest": [
            {
                "when": entry.created_at,
                "who": entry.actor_label,
                "what": action_in_words(entry.action),
                "changes": "; ".join(changes_in_words(entry.changes, limit=4, names=names)),
                "url": reverse("admin:loyalty_auditentry_change", args=[entry.pk]),
            }
            for entry in entries
        ],
        "all_url": reverse("admin:loyalty_auditentry_changelist")
        + "?"
        + urlencode({"written_by": "everything", "object_type": OBJECT_TYPE, "object_id": membership.pk}),
    }
