"""Where a promotion stands, computed from its flag, its first activation and its validity dates (never
stored, so it moves with the clock): draft, scheduled, active, paused or ended. Pure."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

STATUSES = {
    "draft": "Draft",  # never activated
    "scheduled": "Scheduled",  # active, starts later
    "active": "Active",  # active and within its dates: purchases earn by it
    "paused": "Paused",  # activated once, inactive now
    "pending": "Awaiting approval",  # two-person approval: asked for, not yet approved
    "ended": "Ended",  # its last valid moment has passed
}


def _moment(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def status_of(
    *,
    active: bool,
    activated_at: datetime | None,
    definition: dict[str, Any],
    now: datetime,
    approval_requested: bool = False,
) -> str:
    """The promotion's status key at `now` (an aware datetime). An end in the past wins over the flag; a
    start in the future makes an active promotion scheduled. Weekdays and hours do not change the status:
    an active promotion outside its hours is still active."""
    validity = definition.get("validity") or {}
    until, start = _moment(validity.get("until")), _moment(validity.get("from"))
    if until is not None and until <= now:
        return "ended"
    if not active:
        if approval_requested:
            return "pending"
        return "paused" if activated_at is not None else "draft"
    if start is not None and start > now:
        return "scheduled"
    return "active"


def scope_in_words(definition: dict[str, Any], names: dict[str, dict[str, str]]) -> str:
    """ "Everywhere, every member" or what the scope narrows to, by name ("Channels: Web shop; Tiers: Gold")."""
    scope = definition.get("scope") or {}
    parts = []
    for field, title in (
        ("sponsors", "Sponsors"),
        ("channels", "Channels"),
        ("tiers", "Tiers"),
        ("membershipTypes", "Member types"),
    ):
        keys = scope.get(field) or []
        if keys:
            known = names.get(field, {})
            parts.append(f"{title}: {', '.join(known.get(k, k) for k in keys)}")
    return "; ".join(parts) or "Everywhere, every member"


def _number(value: Any) -> str:
    return f"{Decimal(str(value)):,}"


def caps_in_words(definition: dict[str, Any]) -> str:
    """The caps in a few words: "500 per purchase; 2,000 per member a month; budget 1,000,000"."""
    caps = definition.get("caps") or {}
    parts = []
    if caps.get("perTransaction") is not None:
        parts.append(f"{_number(caps['perTransaction'])} per purchase")
    per_member = caps.get("perMember") or []
    for cap in per_member if isinstance(per_member, list) else [per_member]:
        period = {"day": "a day", "month": "a month", "lifetime": "in all"}.get(cap.get("period"), cap.get("period"))
        parts.append(f"{_number(cap.get('points'))} per member {period}")
    if caps.get("budget") is not None:
        parts.append(f"budget {_number(caps['budget'])}")
    return "; ".join(parts) or "none"
