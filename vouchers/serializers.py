"""Wire shapes of the /voucher endpoints (snake_case here, camelCase on the wire).

Input serializers check form; the services and VoucherType.clean check the rules. Output
serializers read prepared dicts (see views.present_*): they run no queries of their own.
Statuses and kinds are plain strings in the schema (their values are listed in the help text): an
enum named `kind` or `status` would collide with other apps' choice sets of the same name.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from loyalty.api.serializers import DecimalStringField, StrictInputSerializer
from loyalty.models.program import key_validator
from vouchers.codes import SAFE_ALPHABET
from vouchers.models import VoucherStatus, VoucherType

STATUSES = ", ".join(f"`{s}`" for s in VoucherStatus.values)
KINDS = ", ".join(f"`{k}`" for k in VoucherType.Kind.values)


class ChannelKeyField(serializers.CharField):
    def __init__(self, **kwargs):
        super().__init__(max_length=40, **kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        try:
            key_validator(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc
        return value


# Input ----------------------------------------------------------------------------------------


class VoucherTypeInput(StrictInputSerializer):
    key = serializers.CharField(max_length=40, help_text="Lower-case letters, digits, '-' and '_'.")
    name = serializers.CharField(max_length=120)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    kind = serializers.ChoiceField(
        choices=VoucherType.Kind.choices,
        default=VoucherType.Kind.CUSTOM,
        help_text=f"What the voucher gives: {KINDS}. Default: `custom`.",
    )
    value = DecimalStringField(
        max_digits=12,
        decimal_places=2,
        required=False,
        allow_null=True,
        help_text='Amount off (e.g. "5.00") or percent off (e.g. "10"); leave out for the other kinds.',
    )
    currency = serializers.CharField(
        max_length=3, required=False, allow_blank=True, default="", help_text="Amount off only; default: the program's."
    )
    product_key = serializers.CharField(
        max_length=100, required=False, allow_blank=True, default="", help_text="Free product only: what is given."
    )
    valid_from = serializers.DateTimeField(required=False, allow_null=True, help_text="Usable from (fixed window).")
    valid_until = serializers.DateTimeField(
        required=False, allow_null=True, help_text="Expires at, and no issue after (fixed window)."
    )
    valid_days = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=3660, help_text="Or: expires N days after issue."
    )
    code_length = serializers.IntegerField(required=False, default=12, min_value=6, max_value=40)
    code_alphabet = serializers.CharField(
        required=False,
        max_length=36,
        default=SAFE_ALPHABET,
        help_text="Upper-case letters and digits without 0, O, 1, I, L.",
    )
    code_prefix = serializers.CharField(required=False, allow_blank=True, max_length=12, default="")
    code_suffix = serializers.CharField(required=False, allow_blank=True, max_length=12, default="")
    code_pattern = serializers.CharField(
        required=False, allow_blank=True, max_length=48, default="", help_text="'#' per random character."
    )
    uses_per_voucher = serializers.IntegerField(required=False, default=1, min_value=1, max_value=10_000)
    limit_per_member = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=2_000_000_000)
    stock = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=2_000_000_000)
    price_points = DecimalStringField(
        max_digits=19,
        decimal_places=4,
        required=False,
        allow_null=True,
        min_value=0,
        help_text='Price in points (a rewards catalog item), e.g. "250.00"; leave out for a free voucher.',
    )
    point_type = serializers.CharField(
        max_length=40, required=False, allow_null=True, help_text="Default: the program's main point type."
    )
    sponsor = serializers.CharField(
        max_length=40, required=False, allow_null=True, help_text="Who funds it. Default: the default sponsor."
    )
    channels = serializers.ListField(
        child=ChannelKeyField(),
        required=False,
        default=list,
        max_length=200,
        help_text="Channel keys where it converts; empty: every channel.",
    )
    active = serializers.BooleanField(required=False, default=True)

    def validate_key(self, value):
        try:
            key_validator(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc
        return value


class IssueInput(StrictInputSerializer):
    recipient = serializers.CharField(
        max_length=100,
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text="A membership key (number, card or alternate id). Leave out: anyone may use the voucher.",
    )
    count = serializers.IntegerField(
        required=False, default=1, min_value=1, max_value=10_000, help_text="Bulk issue: N codes at once."
    )
    reference = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default="", help_text="What it is issued for."
    )


class ConvertInput(StrictInputSerializer):
    membership_key = serializers.CharField(
        max_length=100,
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text="Who uses it; required for a voucher issued to a member.",
    )
    channel = serializers.CharField(
        max_length=40, required=False, allow_blank=True, default="", help_text="Where it is used (a channel key)."
    )
    reference = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default="", help_text="The transaction it is used in."
    )


class RevokeInput(StrictInputSerializer):
    reason = serializers.CharField(max_length=500, help_text="Why it is withdrawn (kept in its history).")
    recipient = serializers.CharField(
        max_length=100,
        required=False,
        help_text="Optional: the member it is revoked from (a membership key); another member's voucher is "
        "refused with `wrong_recipient`.",
    )


# Output ---------------------------------------------------------------------------------------


class VoucherTypeOutput(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    kind = serializers.CharField(help_text=f"One of {KINDS}.")
    value = serializers.CharField(allow_null=True, help_text="Amount or percent off, a decimal string.")
    currency = serializers.CharField(allow_null=True, help_text="For an amount off.")
    product_key = serializers.CharField()
    valid_from = serializers.DateTimeField(allow_null=True)
    valid_until = serializers.DateTimeField(allow_null=True)
    valid_days = serializers.IntegerField(allow_null=True)
    code_length = serializers.IntegerField()
    code_alphabet = serializers.CharField()
    code_prefix = serializers.CharField()
    code_suffix = serializers.CharField()
    code_pattern = serializers.CharField()
    uses_per_voucher = serializers.IntegerField()
    limit_per_member = serializers.IntegerField(allow_null=True)
    stock = serializers.IntegerField(allow_null=True, help_text="Total that may be out; null: unlimited.")
    stock_left = serializers.IntegerField(allow_null=True)
    issued = serializers.IntegerField(help_text="Vouchers out now (issued and not revoked).")
    purchasable = serializers.BooleanField(help_text="Bought with points.")
    price_points = serializers.CharField(allow_null=True, help_text="Decimal string in the point type's precision.")
    point_type = serializers.CharField(allow_null=True)
    sponsor = serializers.CharField()
    channels = serializers.ListField(child=serializers.CharField())
    active = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class VoucherOutput(serializers.Serializer):
    token = serializers.CharField(help_text="The voucher code.")
    voucher_type = serializers.CharField(help_text="The voucher type's key.")
    name = serializers.CharField(help_text="The voucher type's name.")
    kind = serializers.CharField(help_text=f"One of {KINDS}.")
    value = serializers.CharField(allow_null=True)
    currency = serializers.CharField(allow_null=True)
    product_key = serializers.CharField()
    status = serializers.CharField(
        help_text=f"One of {STATUSES}. An issued voucher past its end shows `expired` at once."
    )
    uses_left = serializers.IntegerField()
    uses_total = serializers.IntegerField()
    recipient = serializers.CharField(allow_null=True, help_text="Membership number; null: anyone may use it.")
    valid_from = serializers.DateTimeField()
    valid_until = serializers.DateTimeField(allow_null=True)
    issued_at = serializers.DateTimeField()
    source = serializers.CharField()
    reference = serializers.CharField()
    batch = serializers.IntegerField(allow_null=True, help_text="The bulk issue it came from.")
    points_paid = serializers.CharField(allow_null=True)
    point_type = serializers.CharField(allow_null=True)
    receipt_id = serializers.CharField(allow_null=True, help_text="The redemption that paid for it.")
    refund_receipt_id = serializers.CharField(allow_null=True, help_text="The reversal that refunded it.")
    revoked_at = serializers.DateTimeField(allow_null=True)
    revoke_reason = serializers.CharField(allow_null=True)


class HistoryEntryOutput(serializers.Serializer):
    action = serializers.CharField(help_text="`issued`, `converted`, `revoked` or `expired`.")
    at = serializers.DateTimeField(allow_null=True)
    membership = serializers.CharField(allow_null=True)
    channel = serializers.CharField()
    reference = serializers.CharField(help_text="Transaction reference, or the refund receipt of a revocation.")
    reason = serializers.CharField(help_text="Revocation reason, or the source of the issue.")
    actor = serializers.CharField()


class VoucherInfoOutput(VoucherOutput):
    channels = serializers.ListField(child=serializers.CharField(), help_text="Where it converts; empty: anywhere.")
    history = HistoryEntryOutput(many=True)


class IssueResultOutput(VoucherOutput):
    count = serializers.IntegerField()
    tokens = serializers.ListField(child=serializers.CharField(), help_text="Every code issued (`token` is the first).")
