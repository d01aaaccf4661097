"""Export template of the memberships app."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice
from typing import Any

from rest_framework import serializers

from imports.exports import ExportTemplate, register_export
from loyalty.api.serializers import StrictInputSerializer
from memberships import hooks
from memberships.models import Membership, MembershipStatus

FIELDS = [
    ("membershipNumber", "number"),
    ("status", "status"),
    ("membershipType", "membership_type__key"),
    ("tier", "tier__key"),
    ("firstName", "first_name"),
    ("lastName", "last_name"),
    ("email", "email"),
    ("phone", "phone"),
    ("birthDate", "birth_date"),
    ("street", "street"),
    ("postalCode", "postal_code"),
    ("city", "city"),
    ("country", "country"),
    ("language", "language"),
    ("channel", "channel"),
    ("sponsor", "sponsor__key"),
    ("enrolledAt", "enrolled_at"),
    ("marketingConsent", "marketing_consent"),
]


class MembershipExportFilters(StrictInputSerializer):
    status = serializers.ChoiceField(choices=MembershipStatus.choices, required=False)
    membership_type = serializers.CharField(required=False, max_length=40, help_text="A membership type key.")
    tier = serializers.CharField(required=False, max_length=40, help_text="A tier key.")
    channel = serializers.CharField(required=False, max_length=40)
    since = serializers.DateTimeField(required=False, help_text="Enrolled at or after.")
    until = serializers.DateTimeField(required=False, help_text="Enrolled before.")


def _queryset(filters: dict[str, Any]):
    qs = Membership.objects.all()
    if filters.get("status"):
        qs = qs.filter(status=filters["status"])
    if filters.get("membership_type"):
        qs = qs.filter(membership_type__key=filters["membership_type"])
    if filters.get("tier"):
        qs = qs.filter(tier__key=filters["tier"])
    if filters.get("channel"):
        qs = qs.filter(channel=filters["channel"])
    if filters.get("since"):
        qs = qs.filter(enrolled_at__gte=filters["since"])
    if filters.get("until"):
        qs = qs.filter(enrolled_at__lt=filters["until"])
    return qs


CHUNK = 2000


def more_columns() -> list[str]:
    """What other apps add (memberships.hooks.ExportColumns): the balances, one per point type."""
    return [name for extra in hooks.export_columns() for name in extra.names()]


def rows(filters: dict[str, Any], ordering: list[str]) -> Iterator[tuple[Any, ...]]:
    """The members' own columns, then the other apps' for each chunk of CHUNK members (one query each)."""
    extras = hooks.export_columns()
    widths = [len(extra.names()) for extra in extras]
    qs = _queryset(filters).order_by(*ordering).values_list("id", *[path for _, path in FIELDS])
    source = qs.iterator(chunk_size=CHUNK)
    while chunk := list(islice(source, CHUNK)):
        ids = [row[0] for row in chunk]
        values = [extra.values(ids) for extra in extras]
        for row in chunk:
            more = [v for got, width in zip(values, widths, strict=True) for v in got.get(row[0], [None] * width)]
            yield (*row[1:], *more)


register_export(
    ExportTemplate(
        key="memberships",
        title="Memberships",
        description="Members with their identity, type, tier, consents and points balance per point type.",
        columns=[name for name, _ in FIELDS],
        rows=rows,
        more_columns=more_columns,
        filters=MembershipExportFilters,
        sort={
            "number": ["number"],
            "enrolledAt": ["enrolled_at", "id"],
            "-enrolledAt": ["-enrolled_at", "-id"],
            "lastName": ["last_name", "first_name", "id"],
        },
        default_sort="number",
        count=lambda filters: _queryset(filters).count(),
    )
)
