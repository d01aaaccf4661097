"""The ledger's actions on the member page: redeem and transfer points, with a confirmation that says
in points what will happen. The same services as POST /deposits/{key}/redeem and /transfer."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms

from ledger.amounts import show_points, to_minor
from ledger.models import PointType
from ledger.selectors import balance_of
from ledger.services import redeem_points, transfer_points
from loyalty.errors import DomainError
from loyalty.models import Sponsor
from memberships import hooks, selectors
from memberships.admin.actions import MemberActionForm


def _points_field() -> forms.DecimalField:
    return forms.DecimalField(max_digits=19, decimal_places=4, min_value=Decimal("0.0001"), help_text="In points.")


class PointsForm(MemberActionForm):
    """A form with a point type and an amount of points: `minor` is the amount in the type's minor units."""

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("point_type") and data.get("points") is not None:
            try:
                data["minor"] = to_minor(data["points"], data["point_type"].precision)
            except DomainError as exc:
                self.add_error("points", exc.detail)
        return data


class RedeemForm(PointsForm):
    point_type = forms.ModelChoiceField(PointType.objects.filter(active=True, redeemable=True))
    sponsor = forms.ModelChoiceField(Sponsor.objects.filter(active=True), help_text="Where the points are spent.")
    points = _points_field()
    reference = forms.CharField(max_length=200, required=False, help_text="E.g. the reward or order it pays for.")


class TransferForm(PointsForm):
    target = forms.CharField(
        label="To member",
        max_length=100,
        help_text="Who receives the points: membership number, card number or alternate id.",
    )
    point_type = forms.ModelChoiceField(PointType.objects.filter(active=True, transferable=True))
    points = _points_field()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("target"):
            try:
                data["target_member"] = selectors.resolve_membership(data["target"].strip())
            except DomainError as exc:
                self.add_error("target", exc.detail)
        return data


def _may_move(request: Any, membership: Any) -> bool:
    return request.user.has_perm("ledger.move_points") and membership.is_open


def _redeemable(membership: Any, point_type: PointType) -> str:
    return show_points(balance_of(membership, point_type).redeemable, point_type.precision)


def _redeem_preview(membership: Any, data: dict[str, Any]) -> list[str]:
    pt = data["point_type"]
    return [
        f"{show_points(data['minor'], pt.precision)} {pt.name} will be redeemed at {data['sponsor'].name}; "
        f"{membership.number} has {_redeemable(membership, pt)} {pt.name} redeemable now."
    ]


def _redeem(membership: Any, data: dict[str, Any], actor: Any) -> str:
    pt = data["point_type"]
    redeem_points(
        membership=membership,
        points=data["minor"],
        point_type=pt,
        sponsor=data["sponsor"],
        reference=data.get("reference", ""),
        actor=actor,
    )
    return f"Redeemed {show_points(data['minor'], pt.precision)} {pt.name} of {membership.number}."


def _transfer_preview(membership: Any, data: dict[str, Any]) -> list[str]:
    pt, target = data["point_type"], data["target_member"]
    return [
        f"{show_points(data['minor'], pt.precision)} {pt.name} will move from {membership.number} "
        f"({_redeemable(membership, pt)} redeemable now) to {target.number} ({target.full_name or 'no name'}).",
        "Each point keeps its expiry date and the sponsor that issued it.",
    ]


def _transfer(membership: Any, data: dict[str, Any], actor: Any) -> str:
    pt, target = data["point_type"], data["target_member"]
    transfer_points(source=membership, target=target, points=data["minor"], point_type=pt, actor=actor)
    return f"Moved {show_points(data['minor'], pt.precision)} {pt.name} from {membership.number} to {target.number}."


def register() -> None:
    hooks.register_member_action(
        hooks.MemberAction(
            key="redeem",
            title="Redeem points",
            order=20,
            allowed=_may_move,
            form=RedeemForm,
            run=_redeem,
            preview=_redeem_preview,
            explanation="Spends the member's redeemable points, those that expire first first.",
        )
    )
    hooks.register_member_action(
        hooks.MemberAction(
            key="transfer",
            title="Transfer points",
            order=30,
            allowed=_may_move,
            form=TransferForm,
            run=_transfer,
            preview=_transfer_preview,
            explanation="Moves redeemable points to another member, e.g. within a household.",
        )
    )
