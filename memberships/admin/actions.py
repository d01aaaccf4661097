"""The member page's actions (memberships.hooks.MemberAction): those of the memberships app itself
(change the tier, merge into another membership), and the helpers every app's actions share."""

from __future__ import annotations

import hashlib
from typing import Any

from django import forms
from django.http import QueryDict

from loyalty.models import Tier
from memberships import hooks, selectors, services
from memberships.models import Membership
from memberships.services.enrollment import claim_membership
from memberships.services.tiers import change_tier

# Fields of a posted action form that are not the action's own data.
NOT_DATA = {"csrfmiddlewaretoken", "confirmed"}


def confirmation_digest(data: QueryDict) -> str:
    """What the confirmation was shown for: a "Yes" applies only to exactly these values."""
    items = sorted((k, v) for k in data if k not in NOT_DATA for v in data.getlist(k))
    return hashlib.sha256(repr(items).encode()).hexdigest()[:32]


class MemberActionForm(forms.Form):
    """A member action's form: it knows the member it acts on."""

    def __init__(self, *args: Any, membership: Membership, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.membership = membership


class ChangeTierForm(MemberActionForm):
    tier = forms.ModelChoiceField(
        Tier.objects.order_by("rank", "name"), required=False, empty_label="No tier", help_text="The new tier."
    )
    reason = forms.CharField(
        max_length=500, widget=forms.Textarea(attrs={"rows": 2}), help_text="Kept in the audit log."
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["tier"].initial = self.membership.tier_id


class MergeForm(MemberActionForm):
    target = forms.CharField(
        label="Merge into",
        max_length=100,
        help_text="The membership that stays: its number, card number or alternate id.",
    )

    def clean_target(self) -> Membership:
        from loyalty.errors import DomainError

        try:
            target = selectors.resolve_membership(self.cleaned_data["target"].strip())
        except DomainError as exc:
            raise forms.ValidationError(exc.detail) from exc
        if target.pk == self.membership.pk:
            raise forms.ValidationError("Choose another membership: a membership cannot be merged into itself.")
        return target


class ClaimForm(MemberActionForm):
    into = forms.CharField(
        label="Existing membership",
        max_length=100,
        required=False,
        help_text="If the holder is already a member: their number, card or alternate id (this card joins it). "
        "Otherwise leave it empty and fill in the holder below.",
    )
    first_name = forms.CharField(max_length=100, required=False)
    last_name = forms.CharField(max_length=100, required=False)
    email = forms.EmailField(required=False, label="E-mail")
    phone = forms.CharField(max_length=30, required=False)
    marketing_consent = forms.BooleanField(required=False, label="Agrees to receive marketing messages")

    def clean(self) -> dict[str, Any]:
        from loyalty.errors import DomainError

        data = super().clean()
        if data.get("into"):
            try:
                data["into_member"] = selectors.resolve_membership(data["into"].strip())
            except DomainError as exc:
                self.add_error("into", exc.detail)
        elif not (data.get("first_name") and data.get("last_name") and data.get("email")):
            raise forms.ValidationError(
                "Give the holder's first name, last name and e-mail, or an existing membership."
            )
        return data


def _may_claim(request: Any, membership: Membership) -> bool:
    return (
        membership.status == "anonymous"
        and request.user.has_perm("memberships.change_membership")
        and request.user.has_perm("memberships.view_personal_data")
    )


def _claim_preview(membership: Membership, data: dict[str, Any]) -> list[str]:
    into = data.get("into_member")
    if into is None:
        return []
    moving = [f"{a.balance:,} {a.name}" for a in hooks.accounts_of(membership) if a.balance]
    return [
        f"{membership.number} joins {into.number} ({into.full_name or 'no name'}): its cards"
        + (f" and points ({', '.join(moving)})" if moving else "")
        + " move there, and its number leads there from now on."
    ]


def _claim(membership: Membership, data: dict[str, Any], actor: Any) -> str:
    into = data.get("into_member")
    identity = {k: data[k] for k in ("first_name", "last_name", "email", "phone") if data.get(k)}
    held = claim_membership(
        membership=membership,
        actor=actor,
        into=into,
        identity=None if into else identity,
        marketing_consent=None if into else data.get("marketing_consent", False),
        consent_source="admin",
    )
    return f"{membership.number} is claimed: it now belongs to {held.full_name or held.number} ({held.number})."


class RemarkForm(MemberActionForm):
    text = forms.CharField(
        label="Remark",
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="A note for colleagues, kept with the member with your name and the time; it cannot be edited.",
    )


def _may_remark(request: Any, membership: Membership) -> bool:
    """Remarks need their own permission, not the right to change the member (support agents)."""
    return request.user.has_perm("memberships.add_remark")


def _remark(membership: Membership, data: dict[str, Any], actor: Any) -> str:
    services.add_remark(membership=membership, text=data["text"], actor=actor)
    return f"Remark added to {membership.number}."


def _may_change(request: Any, membership: Membership) -> bool:
    return request.user.has_perm("memberships.change_membership") and membership.is_open


def _change_tier(membership: Membership, data: dict[str, Any], actor: Any) -> str:
    change_tier(membership=membership, tier=data["tier"], reason=data["reason"], actor=actor)
    return f"{membership.number} is now in {data['tier'].name if data['tier'] else 'no tier'}."


def _merge_preview(membership: Membership, data: dict[str, Any]) -> list[str]:
    target = data["target"]
    moving = [f"{a.balance:,} {a.name}" for a in hooks.accounts_of(membership) if a.balance]
    sentences = [
        f"Everything of {membership.number} moves to {target.number} ({target.full_name or 'no name'}): "
        "cards, alternate ids, remarks, vouchers and points.",
        f"Points that move: {', '.join(moving)}." if moving else "No points move: the balances are zero.",
        f"{membership.number} becomes 'merged': its number and cards lead to {target.number} from now on. "
        "This cannot be undone.",
    ]
    return sentences


def _merge(membership: Membership, data: dict[str, Any], actor: Any) -> str:
    services.merge_memberships(source=membership, target=data["target"], actor=actor)
    return f"Merged {membership.number} into {data['target'].number}."


def register() -> None:
    hooks.register_member_action(
        hooks.MemberAction(
            key="remark", title="Add a remark", order=60, allowed=_may_remark, form=RemarkForm, run=_remark
        )
    )
    hooks.register_member_action(
        hooks.MemberAction(
            key="change-tier",
            title="Change tier",
            order=40,
            allowed=_may_change,
            form=ChangeTierForm,
            run=_change_tier,
            explanation="Sets the member's tier by hand. The next assessment may change it again by the rules.",
        )
    )
    hooks.register_member_action(
        hooks.MemberAction(
            key="claim",
            title="Claim for its holder",
            order=10,
            allowed=_may_claim,
            form=ClaimForm,
            run=_claim,
            preview=_claim_preview,
            explanation="An anonymous membership (a card handed out unregistered) gets its holder: a new member, or "
            "an existing membership the card joins.",
        )
    )
    hooks.register_member_action(
        hooks.MemberAction(
            key="merge",
            title="Merge into another membership",
            order=90,
            allowed=_may_change,
            form=MergeForm,
            run=_merge,
            preview=_merge_preview,
            explanation="For a member with two memberships: this one is folded into the one that stays.",
        )
    )
