from rest_framework import serializers

from loyalty.api.serializers import DecimalStringField, QueryIntegerField, StrictInputSerializer

POINTS = {"max_digits": 19, "decimal_places": 4}


class PointsField(DecimalStringField):
    """Points as a strict decimal string; more decimals than the point type allows is refused later."""

    def __init__(self, **kwargs):
        super().__init__(**POINTS, coerce_to_string=True, **kwargs)


class RedeemInputSerializer(StrictInputSerializer):
    points = PointsField(min_value=0, help_text='Points to redeem, e.g. "120.00".')
    point_type = serializers.CharField(required=False, help_text="Default: the program's main point type.")
    sponsor = serializers.CharField(
        required=False, help_text="Where the points are spent. Default: the default sponsor."
    )
    reference = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")


class AdjustInputSerializer(StrictInputSerializer):
    points = PointsField(help_text="Positive to credit, negative to debit.")
    reason = serializers.CharField(max_length=500)
    point_type = serializers.CharField(required=False)
    sponsor = serializers.CharField(required=False, help_text="Who pays for (or gets back) the points.")


class TransferInputSerializer(StrictInputSerializer):
    points = PointsField(min_value=0)
    point_type = serializers.CharField(required=False)


class RedemptionReversalInputSerializer(StrictInputSerializer):
    receipt_id = serializers.CharField(max_length=64)


class BookingResultSerializer(serializers.Serializer):
    receipt_id = serializers.CharField()
    booking_id = serializers.IntegerField()
    kind = serializers.CharField()
    point_type = serializers.CharField()
    points = serializers.CharField(help_text="Decimal string, negative for a debit.")
    balance = serializers.CharField(help_text="The membership's balance after the booking.")
    redeemable = serializers.CharField()
    created_at = serializers.DateTimeField()


class RedemptionReversalResultSerializer(BookingResultSerializer):
    reverses = serializers.CharField(help_text="The receipt id of the reversed redemption.")


class TransferResultSerializer(BookingResultSerializer):
    target_balance = serializers.CharField()


class RedeemableSerializer(serializers.Serializer):
    point_type = serializers.CharField()
    balance = serializers.CharField()
    blocked = serializers.CharField(help_text="Earned but not yet matured: counts in the balance, cannot be spent.")
    redeemable = serializers.CharField()


class BalanceQuerySerializer(StrictInputSerializer):
    point_type = serializers.CharField(required=False)


class StatementQuerySerializer(StrictInputSerializer):
    point_type = serializers.CharField(required=False)
    since = serializers.DateTimeField(required=False, help_text="Period start (inclusive). Default: the beginning.")
    until = serializers.DateTimeField(required=False, help_text="Period end (exclusive). Default: now.")
    limit = QueryIntegerField(required=False, min_value=1, max_value=500, default=100)
    cursor = serializers.CharField(required=False)
    expiring_months = QueryIntegerField(required=False, min_value=1, max_value=24, default=3)


class StatementEntrySerializer(serializers.Serializer):
    booking_id = serializers.IntegerField()
    kind = serializers.CharField()
    created_at = serializers.DateTimeField()
    amount = serializers.CharField()
    running_balance = serializers.CharField()
    sponsor = serializers.CharField()
    receipt_id = serializers.CharField()
    tx_id = serializers.CharField()
    reference = serializers.CharField()
    reason = serializers.CharField()


class BlockedPointsSerializer(serializers.Serializer):
    matures_at = serializers.DateTimeField()
    amount = serializers.CharField()


class ExpiringPointsSerializer(serializers.Serializer):
    month = serializers.CharField(help_text="YYYY-MM in the program's time zone.")
    amount = serializers.CharField()


class StatementSerializer(serializers.Serializer):
    membership_number = serializers.CharField()
    point_type = serializers.CharField()
    since = serializers.DateTimeField(allow_null=True)
    until = serializers.DateTimeField()
    opening_balance = serializers.CharField()
    closing_balance = serializers.CharField()
    entries = StatementEntrySerializer(many=True)
    next = serializers.CharField(allow_null=True, help_text="Pass as `cursor` for the next page of entries.")
    blocked = BlockedPointsSerializer(many=True)
    expiring = ExpiringPointsSerializer(many=True)
