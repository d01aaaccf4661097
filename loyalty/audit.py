"""The audit trail. Services call record_audit inside their own transaction."""

from collections.abc import Iterable, Mapping
from typing import Any

from django.db import models

from loyalty.actors import Actor
from loyalty.models import AuditEntry


def json_value(value: Any) -> Any:
    """Audit values must survive JSON: dates, decimals and model instances become strings."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, models.Model):
        return str(value.pk)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def diff_fields(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """{field: [before, after]} for the fields whose value changed."""
    return {
        name: [json_value(before.get(name)), json_value(after[name])]
        for name in after
        if name not in before or before[name] != after[name]
    }


def audit_entry(
    actor: Actor,
    action: str,
    obj: models.Model | None = None,
    *,
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
    changes: dict[str, Any] | None = None,
) -> AuditEntry:
    """The entry record_audit writes, unsaved (for record_audits, which writes many at once)."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
        object_repr = object_repr or str(obj)[:200]
    return AuditEntry(
        actor_type=actor.kind,
        actor_user=actor.user,
        actor_client=actor.client,
        actor_label=actor.label[:200],
        action=action,
        object_type=object_type,
        object_id=object_id,
        object_repr=object_repr[:200],
        changes=json_value(changes or {}),
        request_id=actor.request_id[:64],
        remote_addr=actor.remote_addr,
    )


def record_audit(actor: Actor, action: str, obj: models.Model | None = None, **fields: Any) -> AuditEntry:
    from loyalty.bulk import insert_models

    entry = audit_entry(actor, action, obj, **fields)
    insert_models([entry], ids=True)  # a fraction of save()'s CPU; a booking writes two
    return entry


def record_audits(entries: list[AuditEntry]) -> None:
    from loyalty.bulk import insert_models

    insert_models(entries)


# The subject of an action ("membership" of "membership.enrolled") as a manager names it.
SUBJECT_WORDS = {
    "tx": "Purchase",
    "membership": "Membership",
    "legalentity": "Legal entity",
    "alternateid": "Alternate id",
    "pointtype": "Point type",
    "vouchertype": "Voucher type",
    "categoryvalue": "Category value",
    "customcategory": "Custom category",
    "mastercategory": "Master category",
    "membershiptype": "Membership type",
    "apiclient": "API client",
    "apikey": "API key",
}


def action_in_words(action: str) -> str:
    """ "membership.merge_received" -> "Membership merge received"; "tx.booked" -> "Purchase booked"."""
    subject, _, verb = action.partition(".")
    words = SUBJECT_WORDS.get(subject, subject.replace("_", " ").capitalize())
    return f"{words} {verb.replace('_', ' ').replace('.', ' ')}".strip()


# Object types recorded under a label that has since moved (the audit trail is never rewritten).
MOVED_OBJECT_TYPES = {"loyalty.transaction": "transactions.transaction"}
# Requests of an import batch carry this before the batch's key (imports.services.queueing.actor_of).
IMPORT_REQUEST_PREFIX = "import-"


def referenced_ids(changes: Any, fields: Iterable[str]) -> dict[str, set[str]]:
    """The ids that `changes` names in these reference fields ("sponsor_id": 3 or [2, 3])."""
    found: dict[str, set[str]] = {}
    if isinstance(changes, dict):
        for field in fields:
            value = changes.get(field)
            values = value if isinstance(value, list | tuple) else [value]
            ids = {str(v) for v in values if isinstance(v, int) or (isinstance(v, str) and v.isdigit())}
            if ids:
                found[field] = ids
    return found


def changes_in_words(changes: Any, limit: int = 0, names: Mapping[str, Mapping[str, str]] | None = None) -> list[str]:
    """{field: [before, after]} as "currency: EUR → USD" lines; other shapes as "field: value" lines.
    `limit` > 0 keeps that many lines and says how many more there are. `names` turns a reference
    field's ids into names ({"sponsor_id": {"3": "Bright Fuel"}}: "sponsor: Bright Fuel")."""
    if not isinstance(changes, dict):
        return [value_in_words(changes)] if changes not in (None, "", [], {}) else []
    lines = []
    names = names or {}
    for name, change in changes.items():
        label = str(name).replace("_", " ")
        if name in names:
            label = label.removesuffix(" id")
            change = (
                [_named(v, names[name]) for v in change]
                if isinstance(change, list | tuple)
                else _named(change, names[name])
            )
        if (
            isinstance(change, list | tuple)
            and len(change) == 2
            and not any(isinstance(v, dict | list) for v in change)
        ):
            before, after = change
            if before is None:  # a new object, or a value set for the first time
                lines.append(f"{label}: {value_in_words(after)}")
            else:
                lines.append(f"{label}: {value_in_words(before)} → {value_in_words(after)}")
        else:
            lines.append(f"{label}: {value_in_words(change)}")
    if limit and len(lines) > limit:
        return [*lines[:limit], f"and {len(lines) - limit} more"]
    return lines


def _named(value: Any, known: Mapping[str, str]) -> Any:
    return value if value is None else known.get(str(value), f"(removed, id {value})")


def value_in_words(value: Any) -> str:
    if value is None or value == "":
        return "(empty)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict) and {"amount", "point_type"} <= value.keys():
        return f"{value['amount']} {value['point_type']}"
    if isinstance(value, dict):
        return ", ".join(f"{str(k).replace('_', ' ')} {value_in_words(v)}" for k, v in value.items()) or "(empty)"
    if isinstance(value, list | tuple):
        return ", ".join(value_in_words(v) for v in value) or "(none)"
    return str(value)
