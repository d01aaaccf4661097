"""The vouchers app on the member page: the member's vouchers, newest first, in words."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.db.models import Count, Q
from django.urls import reverse

from memberships.selectors import membership_and_merged_ids
from vouchers.models import Voucher, VoucherStatus

LATEST = 10


def vouchers_panel(membership: Any, request: Any) -> dict[str, Any] | None:
    if not request.user.has_perm("vouchers.view_voucher"):
        return None
    mine = Voucher.objects.filter(recipient_id__in=membership_and_merged_ids(membership))
    counts = mine.aggregate(total=Count("id"), usable=Count("id", filter=Q(status=VoucherStatus.ISSUED)))
    rows = mine.select_related("voucher_type").order_by("-id")[:LATEST]
    return {
        "total": counts["total"],
        "usable": counts["usable"],
        "latest": [
            {
                "name": v.voucher_type.name,
                "code": v.token,
                "status": v.get_status_display(),
                "issued": v.issued_at,
                "until": v.valid_until,
                "uses_left": v.uses_left,
                "url": reverse("admin:vouchers_voucher_change", args=[v.pk]),
            }
            for v in rows
        ],
        "all_url": reverse("admin:vouchers_voucher_changelist") + "?" + urlencode({"q": membership.number}),
    }
