import re
from decimal import Decimal
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from loyalty.api.serializers import DecimalStringField, StrictInputSerializer
from transactions.models import Transaction, TransactionLine, TransactionReward
from transactions.selectors import Returned, returned_points

MONEY = {"max_digits": 14, "decimal_places": 2}
MAX_LINES = 1000  # line items of a basket


class TxItemInputSerializer(StrictInputSerializer):
    product_key = serializers.CharField(max_length=100)
    quantity = DecimalStringField(max_digits=12, decimal_places=3, min_value=0)
    unit_price = DecimalStringField(**MONEY, min_value=0)
    amount = DecimalStringField(**MONEY, min_value=0, help_text="What the line cost (discounts applied).")

    def run_validation(self, data: Any = serializers.empty) -> Any:
        """The common well-formed line checked in a few plain steps (a basket has up to 1,000 of
        them, and DRF's path cost more than the rules engine); anything else takes DRF's path, which
        gives the same value or the error (tests/promotions/test_tx_input.py holds them equal)."""
        plain = _plain_item(data)
        return plain if plain is not None else super().run_validation(data)


class TxInputSerializer(StrictInputSerializer):
    tx_id = serializers.CharField(
        max_length=100,
        required=False,
        allow_null=True,
        help_text="Given: the points are booked, once. Left out or null (as a dry run's answer says): a dry run.",
    )
    receipt_id = serializers.CharField(max_length=100)
    membership_key = serializers.CharField(max_length=100, help_text="Membership number, card or alternate id.")
    channel = serializers.CharField(max_length=60)
    occurred_at = serializers.DateTimeField()
    total_amount = DecimalStringField(**MONEY, min_value=0)
    currency = serializers.RegexField(r"^[A-Z]{3}$", help_text="ISO 4217, the program's currency.")
    items = TxItemInputSerializer(many=True, allow_empty=False, max_length=MAX_LINES)
    sponsor = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    payment_method = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    properties = serializers.DictField(required=False, default=dict)


class ReturnItemInputSerializer(StrictInputSerializer):
    line = serializers.IntegerField(
        min_value=1, max_value=MAX_LINES, required=False, help_text="Line number (1 = the first item)."
    )
    product_key = serializers.CharField(max_length=100, required=False)
    quantity = DecimalStringField(max_digits=12, decimal_places=3, min_value=Decimal("0.001"))

    def validate(self, attrs):
        if ("line" in attrs) == ("product_key" in attrs):
            raise serializers.ValidationError("Name the line or the productKey (one of them).")
        return attrs


class TxReversalInputSerializer(StrictInputSerializer):
    receipt_id = serializers.CharField(max_length=100)
    sponsor = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    items = ReturnItemInputSerializer(many=True, required=False, allow_empty=False, help_text="Left out: everything.")


class PointsAmountSerializer(serializers.Serializer):
    point_type = serializers.CharField()
    amount = serializers.CharField()


class LineAmountSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    amount = serializers.CharField()


class IssuedVoucherSerializer(serializers.Serializer):
    voucher_type = serializers.CharField()
    token = serializers.CharField(allow_null=True)


class RewardSerializer(serializers.Serializer):
    promotion = serializers.CharField()
    version = serializers.IntegerField()
    point_type = serializers.CharField()
    amount = serializers.CharField()
    lines = LineAmountSerializer(many=True)
    capped = serializers.DictField(allow_null=True, help_text="Which cap cut the reward: {cap, limit, before, after}.")
    vouchers = IssuedVoucherSerializer(many=True)
    trace = serializers.ListField(child=serializers.DictField(), help_text="The conditions and whether they held.")


class NotAppliedSerializer(serializers.Serializer):
    promotion = serializers.CharField()
    version = serializers.IntegerField()
    reason = serializers.ChoiceField(choices=["validity", "scope", "condition", "stacking"])
    detail = serializers.CharField()
    trace = serializers.ListField(child=serializers.DictField(), required=False)


class TxResultSerializer(serializers.Serializer):
    tx_id = serializers.CharField(allow_null=True)
    receipt_id = serializers.CharField()
    booked = serializers.BooleanField()
    membership_number = serializers.CharField(allow_blank=True)
    points = PointsAmountSerializer(many=True)
    rewards = RewardSerializer(many=True)
    not_applied = NotAppliedSerializer(many=True)
    unknown_products = serializers.ListField(child=serializers.IntegerField(), help_text="Lines the catalog lacks.")


class ReturnedLineSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    quantity = serializers.CharField()


class TxReversalResultSerializer(serializers.Serializer):
    tx_id = serializers.CharField()
    receipt_id = serializers.CharField()
    status = serializers.CharField()
    return_number = serializers.IntegerField()
    returned = ReturnedLineSerializer(many=True)
    points = PointsAmountSerializer(many=True, help_text="What was taken back (negative).")
    revoked_vouchers = serializers.ListField(child=serializers.CharField())


class TransactionLineSerializer(serializers.ModelSerializer):
    line = serializers.IntegerField(source="position")

    class Meta:
        model = TransactionLine
        fields = ["line", "product_key", "quantity", "unit_price", "amount", "returned_quantity", "known"]


class TransactionSerializer(serializers.ModelSerializer):
    membership_number = serializers.CharField(source="membership.number")
    sponsor = serializers.CharField(source="sponsor.key")

    class Meta:
        model = Transaction
        fields = [
            "tx_id",
            "receipt_id",
            "membership_number",
            "sponsor",
            "channel",
            "occurred_at",
            "total_amount",
            "currency",
            "payment_method",
            "status",
            "created_at",
        ]


class TransactionDetailSerializer(TransactionSerializer):
    lines = TransactionLineSerializer(many=True)
    properties = serializers.DictField()

    class Meta(TransactionSerializer.Meta):
        fields = [*TransactionSerializer.Meta.fields, "properties", "lines"]


def _returned(serializer: serializers.Serializer, tx: Transaction) -> Returned:
    """What the returns of `tx` took back, read once per transaction for the whole answer."""
    seen = serializer.context.setdefault("returned", {})
    if tx.pk not in seen:
        seen[tx.pk] = returned_points(tx)
    return seen[tx.pk]


CAPPED_AMOUNTS = ("limit", "used", "before", "after")


class TransactionRewardSerializer(serializers.ModelSerializer):
    promotion = serializers.CharField(source="promotion_key")
    version = serializers.IntegerField(source="promotion_version.number")
    amount = serializers.SerializerMethodField(help_text="The points earned when the transaction was booked.")
    returned_amount = serializers.SerializerMethodField(help_text="The points of this reward its returns took back.")
    net_amount = serializers.SerializerMethodField(help_text="What the reward still gives: amount - returnedAmount.")
    lines = serializers.SerializerMethodField()
    capped = serializers.SerializerMethodField(
        help_text="Which cap cut the reward when it was booked: {cap, limit, used, before, after}, in points."
    )

    class Meta:
        model = TransactionReward
        fields = [
            "promotion",
            "version",
            "point_type",
            "amount",
            "returned_amount",
            "net_amount",
            "lines",
            "capped",
            "vouchers",
            "trace",
        ]

    def _show(self, obj, minor: int) -> str:
        from ledger.amounts import to_points

        return to_points(minor, self.context["precisions"].get(obj.point_type, 0))

    def _returned_minor(self, obj) -> int:
        return _returned(self, obj.transaction).by_promotion.get(obj.promotion_key, 0)

    def get_amount(self, obj) -> str:
        return self._show(obj, obj.amount)

    def get_returned_amount(self, obj) -> str:
        return self._show(obj, self._returned_minor(obj))

    def get_net_amount(self, obj) -> str:
        return self._show(obj, obj.amount - self._returned_minor(obj))

    @extend_schema_field(LineAmountSerializer(many=True))
    def get_lines(self, obj) -> list[dict]:
        return [
            {"line": int(k), "amount": self._show(obj, v)}
            for k, v in sorted(obj.lines.items(), key=lambda i: int(i[0]))
        ]

    @extend_schema_field({"type": "object", "nullable": True, "additionalProperties": {"type": "string"}})
    def get_capped(self, obj) -> dict[str, Any] | None:
        if not obj.capped:
            return None
        return {**obj.capped, **{k: self._show(obj, obj.capped[k]) for k in CAPPED_AMOUNTS if k in obj.capped}}


class TransactionRewardsSerializer(TransactionSerializer):
    rewards = TransactionRewardSerializer(many=True)
    points = serializers.SerializerMethodField(help_text="The points earned when the transaction was booked.")
    returned_points = serializers.SerializerMethodField(help_text="What its returns took back, per point type.")
    net_points = serializers.SerializerMethodField(help_text="What the transaction still gives: points - returned.")

    class Meta(TransactionSerializer.Meta):
        fields = [*TransactionSerializer.Meta.fields, "points", "returned_points", "net_points", "rewards"]

    def _show(self, point_type: str, minor: int) -> str:
        from ledger.amounts import to_points

        return to_points(minor, self.context["precisions"].get(point_type, 0))

    @extend_schema_field(PointsAmountSerializer(many=True))
    def get_points(self, obj) -> list[dict]:
        return (obj.response or {}).get("points", [])

    @extend_schema_field(PointsAmountSerializer(many=True))
    def get_returned_points(self, obj) -> list[dict]:
        returned = _returned(self, obj).by_point_type
        return [{"point_type": k, "amount": self._show(k, v)} for k, v in sorted(returned.items())]

    @extend_schema_field(PointsAmountSerializer(many=True))
    def get_net_points(self, obj) -> list[dict]:
        """Earned (the stored rewards, which add up to `points`) less returned, per point type."""
        returned = _returned(self, obj).by_point_type
        earned: dict[str, int] = {}
        for reward in obj.rewards.all():  # prefetched
            if reward.amount:
                earned[reward.point_type] = earned.get(reward.point_type, 0) + reward.amount
        keys = sorted(earned.keys() | returned.keys())
        return [{"point_type": k, "amount": self._show(k, earned.get(k, 0) - returned.get(k, 0))} for k in keys]


# An item as TxItemInputSerializer accepts it without question: the four fields, a key of 1 to 100
# characters without surrounding spaces, NUL or surrogates, and plain non-negative decimal strings
# within each field's digits.
_ITEM_FIELDS = frozenset({"product_key", "quantity", "unit_price", "amount"})
_ODD_KEY = re.compile(r"[\x00\ud800-\udfff]")


def _decimal_check(field: DecimalStringField) -> tuple[re.Pattern, Decimal]:
    whole = field.max_digits - field.decimal_places
    return re.compile(rf"[0-9]{{1,{whole}}}(\.[0-9]{{1,{field.decimal_places}}})?"), Decimal(1).scaleb(
        -field.decimal_places
    )


_DECIMALS = {
    name: _decimal_check(TxItemInputSerializer._declared_fields[name]) for name in ("quantity", "unit_price", "amount")
}


def _plain_item(data: Any) -> dict[str, Any] | None:
    if type(data) is not dict or data.keys() != _ITEM_FIELDS:
        return None
    key = data["product_key"]
    if type(key) is not str or not 0 < len(key) <= 100 or key != key.strip() or _ODD_KEY.search(key):
        return None
    out = {"product_key": key}
    for name, (pattern, step) in _DECIMALS.items():
        value = data[name]
        if type(value) is not str or not pattern.fullmatch(value):
            return None
        out[name] = Decimal(value).quantize(step)
    return out
