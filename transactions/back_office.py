"""What the transactions app shows in the back office through the other apps' hooks: the member
page's transactions panel and the list's purchase columns (memberships.hooks), and what a new
program currency means for the purchases booked so far (loyalty.hooks)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.db.models import Count, Max, Sum
from django.urls import reverse

from ledger.services.core import point_types_by_key
from loyalty.models import Program
from memberships.selectors import membership_and_merged_ids, owners_with_merged
from promotions.models import Channel
from transactions.models import Transaction

LATEST = 10


def transactions_panel(membership: Any, request: Any) -> dict[str, Any] | None:
    if not request.user.has_perm("transactions.view_transaction"):
        return None
    program = Program.current()
    zone = ZoneInfo(program.time_zone)
    mine = Transaction.objects.filter(membership_id__in=membership_and_merged_ids(membership))
    totals = mine.aggregate(count=Count("id"), spent=Sum("total_amount"))
    rows = mine.order_by("-occurred_at", "-id").only(
        "id", "tx_id", "receipt_id", "channel", "occurred_at", "total_amount", "currency", "status", "response"
    )[:LATEST]
    names = {key: point_type.name for key, point_type in point_types_by_key().items()}
    channels = dict(Channel.objects.filter(key__in={tx.channel for tx in rows}).values_list("key", "name"))
    latest = [
        {
            "at": tx.occurred_at.astimezone(zone),
            "receipt": tx.receipt_id,
            "channel": channels.get(tx.channel, tx.channel),
            "total": f"{tx.total_amount:,.2f} {tx.currency}",
            "points": ", ".join(
                f"{Decimal(p['amount']):,} {names.get(p['point_type'], p['point_type'])}"
                for p in (tx.response or {}).get("points", [])
            ),
            "status": tx.get_status_display(),
            "url": reverse("admin:transactions_transaction_change", args=[tx.pk]),
        }
        for tx in rows
    ]
    return {
        "count": totals["count"],
        "spent": f"{totals['spent'] or 0:,.2f} {program.currency}",
        "latest": latest,
        "zone": program.time_zone,
        "all_url": reverse("admin:transactions_transaction_changelist") + "?" + urlencode({"q": membership.number}),
    }


def purchase_columns(ids: list[int]) -> dict[str, dict[int, str]]:
    """The membership list's purchase columns for a page of memberships, merged memberships' purchases
    counted with their survivor's (as on the member page): one query, and one per merge level."""
    zone = ZoneInfo(Program.current().time_zone)
    owner = owners_with_merged(ids)
    rows = (
        Transaction.objects.filter(membership_id__in=list(owner))
        .values("membership_id")
        .annotate(count=Count("id"), spent=Sum("total_amount"), last=Max("occurred_at"))
        .order_by()
    )
    totals: dict[int, list] = {}
    for row in rows:
        total = totals.setdefault(owner[row["membership_id"]], [0, Decimal(0), row["last"]])
        total[0] += row["count"]
        total[1] += row["spent"]
        total[2] = max(total[2], row["last"])
    return {
        "purchases": {pk: f"{totals[pk][0]:,}" if pk in totals else "0" for pk in ids},
        "spent": {pk: f"{totals[pk][1]:,.2f}" for pk in totals},
        "last_purchase": {pk: f"{totals[pk][2].astimezone(zone):%d %b %Y}" for pk in totals},
    }


def program_change_notes(program: Any, changes: dict[str, tuple[Any, Any]]) -> list[str]:
    """loyalty.hooks: what a new currency means for the purchases booked so far."""
    if "currency" not in changes:
        return []
    before, after = changes["currency"]
    booked = Transaction.objects.filter(currency=before).count()
    if not booked:
        return []
    purchases = f"{booked:,} purchase was" if booked == 1 else f"{booked:,} purchases were"
    return [
        f"{purchases} booked in {before}. From now on purchases must come in {after}; those in {before} are "
        f"refused. Nothing is converted: stored amounts stay in {before}, and the amounts in promotions (points "
        f"per {after}, thresholds) are read in {after}."
    ]
