"""The promotion editor's forms: structured fields in, a rule definition (RULES.md) out, and the
service's errors back onto the fields they are about. No writes here: the admin view calls
promotions.services.save_promotion with what `build_definition` returns."""

from __future__ import annotations

import functools
import json
import re
import zoneinfo
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.contrib.admin.widgets import AdminSplitDateTime

from ledger.models import PointType
from loyalty.api import json_input
from loyalty.models import MembershipType, Program, Sponsor, Tier
from promotions import rules
from promotions.hooks import voucher_types
from promotions.models import Channel, CustomCategory, MasterCategory, Promotion

WEEKDAYS = [(1, "Mon"), (2, "Tue"), (3, "Wed"), (4, "Thu"), (5, "Fri"), (6, "Sat"), (7, "Sun")]
STACKING_CHOICES = [
    ("combinable", "Combinable: adds up with the others"),
    ("exclusive", "Exclusive: when it applies, no other (non-base) promotion does"),
    ("stop", "Stop: applies, and skips the promotions of lower priority"),
]
EFFECT_CHOICES = [
    ("", "---------"),
    ("perAmount", "Points per amount spent"),
    ("perItem", "Points per item"),
    ("fixed", "Fixed points once per transaction"),
    ("multiplier", "Multiply the base earning"),
    ("issueVoucher", "Issue a voucher"),
]
LINES_CHOICES = [
    ("", "default (qualifying lines)"),
    ("qualifying", "only the lines the condition matched"),
    ("all", "all lines"),
]
PERIOD_CHOICES = [("", "---------"), ("day", "per day"), ("month", "per month"), ("lifetime", "lifetime")]


@functools.cache
def time_zones() -> list[str]:
    return sorted(zoneinfo.available_timezones())


class LocalDateTimeField(forms.SplitDateTimeField):
    """A date and time read as wall-clock time (no zone): the form attaches the promotion's zone."""

    widget = AdminSplitDateTime

    def compress(self, data_list):
        if data_list and data_list[0] is not None and data_list[1] is not None:
            return datetime.combine(*data_list)
        if data_list and (data_list[0] is None) != (data_list[1] is None):
            raise forms.ValidationError("Give both the date and the time.", code="incomplete")
        return None


def _keys(model, label: str) -> forms.ModelMultipleChoiceField:
    return forms.ModelMultipleChoiceField(
        model.objects.order_by("key"),
        to_field_name="key",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=f"None ticked: every {label}.",
    )


def _number(value: Decimal | None, original: Any = None) -> str | None:
    """A number as the definition stores it (text); the original spelling is kept when equal."""
    if value is None:
        return None
    if original is not None and not isinstance(original, bool):
        try:
            if Decimal(str(original)) == value:
                return original
        except ArithmeticError:
            pass
    return f"{value:f}"


class PromotionForm(forms.ModelForm):
    """Everything but the effects and the per-member caps (two formsets beside it)."""

    valid_from = LocalDateTimeField(required=False, label="Valid from", help_text="Empty: from now on.")
    valid_until = LocalDateTimeField(required=False, label="Valid until", help_text="Empty: no end.")
    weekdays = forms.TypedMultipleChoiceField(
        choices=WEEKDAYS,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every day.",
    )
    hours_from = forms.TimeField(required=False, label="Hours from", help_text="e.g. 07:00; empty: all day.")
    hours_to = forms.TimeField(required=False, label="Hours to", help_text="e.g. 12:00 (before from: overnight).")
    time_zone = forms.ChoiceField(required=False, label="Time zone")
    sponsors = _keys(Sponsor, "sponsor")
    channels = _keys(Channel, "channel")
    tiers = _keys(Tier, "tier")
    membership_types = _keys(MembershipType, "membership type")
    condition = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 12, "cols": 80, "class": "vLargeTextField", "spellcheck": "false"}),
        help_text="The rule text of the API (RULES.md), written by the builder. Empty: every purchase earns.",
    )
    point_type = forms.ModelChoiceField(PointType.objects.order_by("-is_main", "key"), to_field_name="key")
    maturation_days = forms.IntegerField(
        required=False, min_value=0, max_value=365, help_text="Days the points stay blocked; empty: the point type's."
    )
    expires_at = LocalDateTimeField(
        required=False, label="Points expire at", help_text="Empty: the point type's expiry rule."
    )
    cap_per_transaction = forms.DecimalField(required=False, label="At most per transaction", min_value=0)
    cap_budget = forms.DecimalField(required=False, label="Total budget", min_value=0, help_text="Points in all.")
    priority = forms.IntegerField(initial=0, help_text="Higher runs first.")
    stacking = forms.ChoiceField(choices=STACKING_CHOICES, initial="combinable")
    base = forms.BooleanField(
        required=False, label="Base earning", help_text="Computes the base earning that multipliers multiply."
    )

    class Meta:
        model = Promotion
        fields = ["key", "name", "description", "active"]

    VALIDITY_FIELDS = ["valid_from", "valid_until", "weekdays", "hours_from", "hours_to", "time_zone"]
    SCOPE_FIELDS = {
        "sponsors": "sponsors",
        "channels": "channels",
        "tiers": "tiers",
        "membershipTypes": "membership_types",
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.program_zone = Program.current().time_zone
        self.fields["time_zone"].choices = [("", f"the program's ({self.program_zone})")] + [
            (zone, zone) for zone in time_zones()
        ]
        if self.instance.pk:
            self.fields.pop("key")  # what rules, API answers and booked rewards name: fixed
            self.initial.update(initial_from_definition(self.instance.definition, self.program_zone))
            if self.instance.approval_requested_at is not None:
                # Asked for and awaiting a second person: ticked, so saving other changes keeps asking
                # (unticking withdraws the request).
                self.initial["active"] = True
                self.fields["active"].help_text = "Awaiting a second person's approval; untick to withdraw."
        if Program.current().promotion_approval:
            self.fields["active"].help_text = (
                self.fields["active"].help_text
                if self.instance.approval_requested_at is not None
                else "Ticking it asks for activation: a second person approves (two-person approval is on)."
            )
        self.original = self.instance.definition if self.instance.pk else {}

    def clean_condition(self) -> dict | None:
        text = self.cleaned_data.get("condition", "").strip()
        if not text:
            return None
        try:
            return json_input.loads(text)
        except json_input.MalformedJSON as exc:
            raise forms.ValidationError(str(exc.detail)) from None
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(
                f"This is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."
            ) from None

    def clean(self):
        data = super().clean()
        if (data.get("hours_from") is None) != (data.get("hours_to") is None):
            self.add_error("hours_from", "Give both hours, or neither for all day.")
        return data

    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.cleaned_data.get("time_zone") or self.program_zone)

    def _moment(self, name: str, original: Any) -> str | None:
        value = self.cleaned_data.get(name)
        if value is None:
            return None
        moment = value.replace(tzinfo=self.zone())
        if original:
            try:
                if datetime.fromisoformat(str(original)) == moment:
                    return original  # the same instant: keep its spelling (no new version for nothing)
            except ValueError:
                pass
        return moment.isoformat()

    def definition_parts(self) -> dict[str, Any]:
        data, old = self.cleaned_data, self.original
        old_validity = old.get("validity") or {}
        validity: dict[str, Any] = {}
        for key, name in (("from", "valid_from"), ("until", "valid_until")):
            if (moment := self._moment(name, old_validity.get(key))) is not None:
                validity[key] = moment
        if data.get("weekdays"):
            validity["weekdays"] = sorted(data["weekdays"])
        if data.get("hours_from") is not None and data.get("hours_to") is not None:
            validity["hours"] = [data["hours_from"].strftime("%H:%M"), data["hours_to"].strftime("%H:%M")]
        if data.get("time_zone"):
            validity["timeZone"] = data["time_zone"]
        old_scope = old.get("scope") or {}
        scope = {}
        for key, name in self.SCOPE_FIELDS.items():
            chosen = [obj.key for obj in data.get(name) or []]
            if chosen:
                scope[key] = old_scope[key] if set(old_scope.get(key) or []) == set(chosen) else chosen
        old_caps = old.get("caps") or {}
        caps = {}
        for key, name in (("perTransaction", "cap_per_transaction"), ("budget", "cap_budget")):
            if (value := _number(data.get(name), old_caps.get(key))) is not None:
                caps[key] = value
        parts: dict[str, Any] = {
            "validity": validity,
            "scope": scope,
            "condition": data.get("condition"),
            "pointType": data["point_type"].key,
            "maturationDays": data.get("maturation_days"),
            "caps": caps,
            "priority": data.get("priority") or 0,
            "stacking": data["stacking"],
            "base": bool(data.get("base")),
        }
        expires = self._moment("expires_at", old.get("expiresAt"))
        if expires is not None:
            parts["expiresAt"] = expires
        return parts


class EffectForm(forms.Form):
    type = forms.ChoiceField(choices=EFFECT_CHOICES, required=False)
    points = forms.DecimalField(required=False, help_text="Points (per 'per' amount, per item, or once).")
    per = forms.DecimalField(required=False, help_text="Per this much spent (perAmount), e.g. 1.00.")
    factor = forms.DecimalField(required=False, help_text="e.g. 2 for double (multiplier).")
    lines = forms.ChoiceField(choices=LINES_CHOICES, required=False)
    voucher_type = forms.ChoiceField(required=False, label="Voucher type")

    FIELDS = {"type": "type", "points": "points", "per": "per", "factor": "factor", "lines": "lines"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["voucher_type"].choices = [("", "---------"), *voucher_type_choices()]

    def clean(self):
        data = super().clean()
        if not data.get("DELETE") and self.has_changed() and not data.get("type"):
            self.add_error("type", "Choose what the promotion gives.")
        return data

    def effect(self) -> dict[str, Any]:
        data, initial = self.cleaned_data, self.initial
        kind = data["type"]
        effect: dict[str, Any] = {"type": kind}
        wanted = {
            "perAmount": ["points", "per", "lines"],
            "perItem": ["points", "lines"],
            "fixed": ["points"],
            "multiplier": ["factor", "lines"],
            "issueVoucher": ["voucher_type"],
        }.get(kind, [])
        for name in wanted:
            if name == "lines":
                if data.get("lines"):
                    effect["lines"] = data["lines"]
            elif name == "voucher_type":
                effect["voucherType"] = data.get("voucher_type") or None
            else:
                value = _number(data.get(name), initial.get(name) if initial.get("type") == kind else None)
                effect[name] = value  # None when empty: the rules then say it is required
        return {k: v for k, v in effect.items() if v is not None}


class PerMemberCapForm(forms.Form):
    period = forms.ChoiceField(choices=PERIOD_CHOICES, required=False)
    points = forms.DecimalField(required=False, min_value=0)

    def clean(self):
        data = super().clean()
        if not data.get("DELETE") and self.has_changed():
            if not data.get("period"):
                self.add_error("period", "Choose the period.")
            if data.get("points") is None:
                self.add_error("points", "Give the points.")
        return data

    def cap(self) -> dict[str, Any]:
        initial = self.initial
        same = initial.get("period") == self.cleaned_data["period"]
        points = _number(self.cleaned_data["points"], initial.get("points") if same else None)
        return {"period": self.cleaned_data["period"], "points": points}


EffectFormSet = forms.formset_factory(EffectForm, extra=2, can_delete=True)
PerMemberCapFormSet = forms.formset_factory(PerMemberCapForm, extra=1, can_delete=True)


def voucher_type_choices() -> list[tuple[str, str]]:
    return [(key, f"{name} ({key})") for key, name in sorted((voucher_types() or {}).items())]


def _used(formset) -> list[forms.Form]:
    """The rows that make it into the definition, in order: the stored ones and the filled-in new
    ones, less those ticked for deletion."""
    initial = formset.initial_form_count()
    return [
        f
        for i, f in enumerate(formset.forms)
        if (i < initial or f.has_changed()) and not getattr(f, "cleaned_data", {}).get("DELETE")
    ]


def build_definition(form: PromotionForm, effects, per_member) -> dict[str, Any]:
    """The rule definition the forms describe (all three valid)."""
    definition = form.definition_parts()
    definition["effects"] = [f.effect() for f in _used(effects)]
    caps = [f.cap() for f in _used(per_member)]
    if caps:
        definition["caps"]["perMember"] = caps
    return definition


# From a stored definition to initial values ---------------------------------------------------


def _local(value: Any, zone: ZoneInfo) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value)).astimezone(zone).replace(tzinfo=None)
    except ValueError:
        return None


def initial_from_definition(definition: dict[str, Any], program_zone: str) -> dict[str, Any]:
    validity = definition.get("validity") or {}
    scope = definition.get("scope") or {}
    caps = definition.get("caps") or {}
    zone = ZoneInfo(validity.get("timeZone") or program_zone)
    hours = validity.get("hours") or [None, None]
    condition = definition.get("condition")
    return {
        "valid_from": _local(validity.get("from"), zone),
        "valid_until": _local(validity.get("until"), zone),
        "weekdays": validity.get("weekdays") or [],
        "hours_from": hours[0],
        "hours_to": hours[1],
        "time_zone": validity.get("timeZone") or "",
        **{name: scope.get(key) or [] for key, name in PromotionForm.SCOPE_FIELDS.items()},
        "condition": json.dumps(condition, indent=2) if condition is not None else "",
        "point_type": definition.get("pointType"),
        "maturation_days": definition.get("maturationDays"),
        "expires_at": _local(definition.get("expiresAt"), zone),
        "cap_per_transaction": caps.get("perTransaction"),
        "cap_budget": caps.get("budget"),
        "priority": definition.get("priority", 0),
        "stacking": definition.get("stacking", "combinable"),
        "base": bool(definition.get("base")),
    }


def effects_initial(definition: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "type": e.get("type"),
            "points": e.get("points"),
            "per": e.get("per"),
            "factor": e.get("factor"),
            "lines": e.get("lines", ""),
            "voucher_type": e.get("voucherType", ""),
        }
        for e in definition.get("effects") or []
    ]


def per_member_initial(definition: dict[str, Any]) -> list[dict[str, Any]]:
    per_member = (definition.get("caps") or {}).get("perMember") or []
    if isinstance(per_member, dict):
        per_member = [per_member]
    return [{"period": c.get("period"), "points": c.get("points")} for c in per_member]


# The service's errors onto the fields --------------------------------------------------------

FIELD_PATHS = {
    "key": "key",
    "name": "name",
    "description": "description",
    "validity": None,
    "validity.from": "valid_from",
    "validity.until": "valid_until",
    "validity.weekdays": "weekdays",
    "validity.hours": "hours_from",
    "validity.timeZone": "time_zone",
    "scope.sponsors": "sponsors",
    "scope.channels": "channels",
    "scope.tiers": "tiers",
    "scope.membershipTypes": "membership_types",
    "pointType": "point_type",
    "maturationDays": "maturation_days",
    "expiresAt": "expires_at",
    "caps.perTransaction": "cap_per_transaction",
    "caps.budget": "cap_budget",
    "priority": "priority",
    "stacking": "stacking",
    "base": "base",
}
INDEXED = re.compile(r"^(effects|caps\.perMember)\[(\d+)\](?:\.(\w+))?")
ROW_FIELDS = {"voucherType": "voucher_type"}


def _where(path: str) -> str:
    """A condition path in words: condition.all[1].fact -> 'all[1], fact'."""
    rest = path[len("condition") :].lstrip(".")
    return f"At {rest}: " if rest else ""


def apply_errors(errors: list[dict[str, Any]], form: PromotionForm, effects, per_member) -> None:
    """Put each {field, message} of InvalidPromotion on the form field it is about; the rest on top."""
    rows = {"effects": _used(effects), "caps.perMember": _used(per_member)}
    for error in errors:
        path, message = str(error.get("field") or ""), str(error.get("message") or error)
        if path == "condition" or path.startswith("condition."):
            form.add_error("condition", _where(path) + message)
            continue
        indexed = INDEXED.match(path)
        if indexed:
            group, index, name = indexed.group(1), int(indexed.group(2)), indexed.group(3)
            forms_used = rows[group]
            if index < len(forms_used):
                row = forms_used[index]
                name = ROW_FIELDS.get(name, name)
                row.add_error(name if name in row.fields else None, message)
                continue
        if path in ("effects", "effects.voucherType", "caps.perMember"):
            formset = effects if path.startswith("effects") else per_member
            formset.non_form_errors().append(message)
            continue
        name = FIELD_PATHS.get(path)
        if name and name in form.fields:
            form.add_error(name, message)
        else:
            form.add_error(None, f"{path}: {message}" if path else message)


# The condition help panel, generated from the rules ----------------------------------------

CONDITION_EXAMPLES = [
    (
        "A basket of at least 25.00, not paid with a voucher",
        {
            "all": [
                {"fact": "tx.totalAmount", "op": "gte", "value": "25.00"},
                {"not": {"fact": "tx.paymentMethod", "op": "eq", "value": "voucher"}},
            ]
        },
    ),
    (
        "Any coffee line (category 'department' is 'coffee'); effects on qualifying lines earn on those only",
        {"lines": "any", "where": {"fact": "line.category.department", "op": "eq", "value": "coffee"}},
    ),
    (
        "Gold or silver members on their birthday, or anyone buying 3 or more of product COF-001",
        {
            "any": [
                {
                    "all": [
                        {"fact": "member.tier", "op": "in", "value": ["gold", "silver"]},
                        {"fact": "member.isBirthday", "op": "eq", "value": True},
                    ]
                },
                {
                    "lines": "any",
                    "where": {
                        "all": [
                            {"fact": "line.productKey", "op": "eq", "value": "COF-001"},
                            {"fact": "line.quantity", "op": "gte", "value": "3"},
                        ]
                    },
                },
            ]
        },
    ),
]


def condition_help() -> dict[str, Any]:
    """Facts and operators straight from promotions.rules, plus the category keys of the catalog."""

    def rows(facts: dict[str, str], prefixes: dict[str, str]) -> list[dict[str, str]]:
        listed = [
            {"fact": name, "type": kind, "operators": ", ".join(sorted(rules.OPERATORS[kind]))}
            for name, kind in facts.items()
        ]
        listed += [
            {"fact": f"{prefix}<name>", "type": kind, "operators": ", ".join(sorted(rules.OPERATORS[kind]))}
            for prefix, kind in prefixes.items()
        ]
        return listed

    return {
        "transaction_facts": rows(rules.TX_FACTS, rules.TX_PREFIXES),
        "line_facts": rows(rules.LINE_FACTS, rules.LINE_PREFIXES),
        "categories": [
            f"line.category.{key}" for key in MasterCategory.objects.order_by("key").values_list("key", flat=True)
        ],
        "custom_categories": list(CustomCategory.objects.order_by("key").values_list("key", flat=True)),
        "examples": [(title, json.dumps(example, indent=2)) for title, example in CONDITION_EXAMPLES],
    }


# Try it and backtest --------------------------------------------------------------------------

CENT = Decimal("0.01")


class SampleForm(forms.Form):
    """A sample transaction; times are wall-clock times of the program's time zone."""

    membership = forms.CharField(
        required=False, help_text="Membership number, card number or alternate id; empty: an anonymous buyer."
    )
    channel = forms.ModelChoiceField(Channel.objects.order_by("key"), to_field_name="key")
    occurred_at = LocalDateTimeField(label="Occurred at")
    payment_method = forms.CharField(required=False, max_length=40)
    properties = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text='Optional, as JSON: {"store": "north"} (the facts tx.properties.<name>).',
    )

    member_tier = forms.ChoiceField(required=False, label="Or a member in tier")
    member_type = forms.ChoiceField(required=False, label="Membership type")
    member_days = forms.IntegerField(
        required=False, min_value=0, label="Days since enrollment", help_text="For a member described here."
    )
    member_birthday = forms.BooleanField(required=False, label="Birthday that day")
    member_properties = forms.CharField(
        required=False,
        label="Member properties",
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text='Optional, as JSON: {"favoriteStore": "north"} (the facts member.properties.<name>).',
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["member_tier"].choices = [
            ("", "no tier"),
            *Tier.objects.order_by("rank").values_list("key", "name"),
        ]
        self.fields["member_type"].choices = [
            ("", "---------"),
            *MembershipType.objects.order_by("name").values_list("key", "name"),
        ]
        self.fields[
            "member_tier"
        ].help_text = "Without a membership key: a member described by these four fields (else an anonymous buyer)."
        self.program_zone = Program.current().time_zone
        self.fields["occurred_at"].help_text = f"Time in {self.program_zone}."
        now = datetime.now(ZoneInfo(self.program_zone)).replace(tzinfo=None, second=0, microsecond=0)
        self.fields["occurred_at"].initial = now

    def clean_member_properties(self) -> dict[str, Any]:
        return self._json_object("member_properties")

    def clean_properties(self) -> dict[str, Any]:
        return self._json_object("properties")

    def _json_object(self, name: str) -> dict[str, Any]:
        text = self.cleaned_data.get(name, "").strip()
        if not text:
            return {}
        try:
            value = json_input.loads(text)
        except json_input.MalformedJSON as exc:
            raise forms.ValidationError(str(exc.detail)) from None
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"This is not valid JSON: {exc.msg}.") from None
        if not isinstance(value, dict):
            raise forms.ValidationError('Give an object, e.g. {"store": "north"}.')
        return value

    def moment(self) -> datetime:
        return self.cleaned_data["occurred_at"].replace(tzinfo=ZoneInfo(self.program_zone))

    def described_member(self) -> dict[str, Any] | None:
        """The member the four member fields describe, as the engine's member facts; None when none is
        described (or a membership key is given, whose real member is used)."""
        data = self.cleaned_data
        if data.get("membership", "").strip():
            return None
        fields = ("member_tier", "member_type", "member_days", "member_birthday", "member_properties")
        if not any(data.get(name) not in (None, "", False, {}) for name in fields):
            return None
        return {
            "tier": data.get("member_tier") or "",
            "type": data.get("member_type") or "",
            "days_since_enrollment": data.get("member_days"),
            "is_birthday": bool(data.get("member_birthday")),
            "status": "active",
            "properties": data.get("member_properties") or {},
        }


class SampleLineForm(forms.Form):
    product_key = forms.CharField(max_length=100, required=False, label="Product key")
    quantity = forms.DecimalField(required=False, min_value=Decimal("0.001"), max_digits=12, decimal_places=3)
    unit_price = forms.DecimalField(required=False, min_value=0, max_digits=14, decimal_places=2)
    amount = forms.DecimalField(
        required=False, min_value=0, max_digits=14, decimal_places=2, help_text="Empty: quantity x unit price."
    )

    def clean(self):
        data = super().clean()
        if self.has_changed():
            for name in ("product_key", "quantity", "unit_price"):
                if data.get(name) in (None, ""):
                    self.add_error(name, "Required on a line.")
        return data

    def line_amount(self) -> Decimal:
        data = self.cleaned_data
        if data.get("amount") is not None:
            return data["amount"]
        return (data["quantity"] * data["unit_price"]).quantize(CENT)


SampleLineFormSet = forms.formset_factory(SampleLineForm, extra=3)


def sample_items(lines) -> list:
    from promotions.context import Item

    return [
        Item(f.cleaned_data["product_key"], f.cleaned_data["quantity"], f.cleaned_data["unit_price"], f.line_amount())
        for f in lines.forms
        if f.has_changed()
    ]


class BacktestForm(forms.Form):
    days = forms.IntegerField(min_value=1, max_value=365, initial=30, help_text="The last 1 to 365 days.")


def effects_in_words(definition: dict[str, Any]) -> list[dict[str, str]]:
    """The stored effects in words, in their rows' order, each with a worked example on one line (for a
    multiplier: what the active base promotions of the same point type earn it)."""
    from promotions.explain import effect_in_words
    from promotions.selectors import active_promotions

    point_type = PointType.objects.filter(key=definition.get("pointType", "")).first()
    if point_type is None:
        return []
    program = Program.current()
    base = [
        effect
        for promo in active_promotions()
        if promo.base and promo.point_type == point_type.key
        for effect in promo.effects
    ]
    return [
        effect_in_words(
            effect,
            point_type=point_type.name,
            precision=point_type.precision,
            currency=program.currency,
            rounding=program.rounding,
            base_effects=base,
            voucher_names=voucher_types() or {},
        )
        for effect in definition.get("effects") or []
    ]
