"""The vouchers app's action on the member page: issue a voucher to the member (the same service as
POST /voucher/{typeKey}/issue); the confirmation names the price when the member pays in points."""

from __future__ import annotations

from typing import Any

from django import forms

from memberships import hooks
from memberships.admin.actions import MemberActionForm
from vouchers.models import VoucherType
from vouchers.services.issue import issue_voucher


class IssueForm(MemberActionForm):
    voucher_type = forms.ModelChoiceField(VoucherType.objects.filter(active=True).order_by("name"), label="Voucher")
    charge_points = forms.BooleanField(
        required=False,
        initial=True,
        label="The member pays its price in points",
        help_text="Only for vouchers with a price; untick to give it for free.",
    )


def _may_issue(request: Any, membership: Any) -> bool:
    return request.user.has_perm("vouchers.add_voucher") and membership.is_open


def _issue_preview(membership: Any, data: dict[str, Any]) -> list[str]:
    kind = data["voucher_type"]
    if kind.price_points is None or not data.get("charge_points"):
        return []
    unit = kind.point_type.name if kind.point_type_id else "points"
    return [f"{membership.number} pays {kind.price_points.normalize():,f} {unit} for '{kind.name}'."]


def _issue(membership: Any, data: dict[str, Any], actor: Any) -> str:
    kind = data["voucher_type"]
    result = issue_voucher(
        voucher_type=kind,
        actor=actor,
        recipient=membership,
        source="admin",
        charge_points=bool(data.get("charge_points")),
    )
    return f"Issued '{kind.name}' to {membership.number}: code {result.tokens[0]}."


def register() -> None:
    hooks.register_member_action(
        hooks.MemberAction(
            key="issue-voucher",
            title="Issue a voucher",
            order=50,
            allowed=_may_issue,
            form=IssueForm,
            run=_issue,
            preview=_issue_preview,
            explanation="Gives the member a voucher of a type, within its stock and per-member limit.",
        )
    )
