"""The /deposits endpoints: parse, call a ledger service, present."""

import base64
import binascii
from zoneinfo import ZoneInfo

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from ledger import selectors, serializers
from ledger.amounts import to_minor, to_points
from ledger.models import Booking
from ledger.services import adjust_points, redeem_points, reverse_redemption, transfer_points
from ledger.services.core import point_type_by_key, sponsor_by_key
from loyalty.api.pagination import invalid_cursor, position_of
from loyalty.api.serializers import parse_query
from loyalty.api.views import ApiViewSet
from loyalty.models import Program
from memberships.selectors import resolve_membership

KEY = OpenApiParameter("key", str, OpenApiParameter.PATH, description="Membership number, card or alternate id.")


def _result(booking: Booking, point_type, membership, points: int) -> dict:
    balance = selectors.balance_of(membership, point_type)
    return {
        "receipt_id": booking.receipt_id,
        "booking_id": booking.pk,
        "kind": booking.kind,
        "point_type": point_type.key,
        "points": to_points(points, point_type.precision),
        "balance": to_points(balance.balance, point_type.precision),
        "redeemable": to_points(balance.redeemable, point_type.precision),
        "created_at": booking.created_at,
    }


def _encode(posting_id: int) -> str:
    return base64.urlsafe_b64encode(str(posting_id).encode()).decode()


def _decode(cursor: str) -> int:
    """The posting id a `next` value names; anything else is `invalid_cursor`, as on the logs."""
    try:
        position = position_of(base64.urlsafe_b64decode(cursor.encode()).decode())
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise invalid_cursor() from exc
    if position is None:
        raise invalid_cursor()
    return position


@extend_schema(tags=["deposits"])
class DepositViewSet(ApiViewSet):
    @extend_schema(
        operation_id="getStatement",
        summary="Account statement for a period",
        description="The membership's account for `pointType` (default: the main point type) from `since` to "
        "`until` (default: from the beginning to now): opening balance, every booking with its running balance, "
        "closing balance, the points still blocked (not yet matured) and the points expiring per month over the next "
        "`expiringMonths` months. History of memberships merged into this one is included. Entries come "
        "`limit` at a time, oldest first; pass `next` as `cursor` for the following ones (any other cursor is "
        "400 with the field code `invalid_cursor`).",
        parameters=[KEY, serializers.StatementQuerySerializer],
        responses={200: serializers.StatementSerializer},
    )
    def statement(self, request, key):
        query = parse_query(serializers.StatementQuerySerializer, request)
        membership = resolve_membership(key)
        point_type = point_type_by_key(query.get("point_type"))
        now = timezone.now()
        since, until = query.get("since"), query.get("until") or now
        if since and since >= until:
            raise ValidationError({"since": ["The period must start before it ends."]})
        account_ids = selectors.statement_accounts(membership, point_type)
        opening = selectors.sum_postings(account_ids, booking__created_at__lt=since) if since else 0
        closing = selectors.sum_postings(account_ids, booking__created_at__lt=until)
        postings = selectors.statement_postings(account_ids, since, until).order_by("pk")
        after = _decode(query["cursor"]) if query.get("cursor") else None
        if after is not None:
            postings = postings.filter(pk__gt=after)
        page = list(postings[: query["limit"] + 1])
        more = len(page) > query["limit"]
        page = page[: query["limit"]]
        running = opening
        if page and after is not None:
            running += selectors.sum_postings(
                account_ids, pk__lte=after, **({"booking__created_at__gte": since} if since else {})
            )
        entries = []
        precision = point_type.precision
        for posting in page:
            running += posting.amount
            booking = posting.booking
            entries.append(
                {
                    "booking_id": booking.pk,
                    "kind": booking.kind,
                    "created_at": booking.created_at,
                    "amount": to_points(posting.amount, precision),
                    "running_balance": to_points(running, precision),
                    "sponsor": booking.sponsor.key,
                    "receipt_id": booking.receipt_id,
                    "tx_id": booking.tx_id,
                    "reference": booking.reference,
                    "reason": booking.reason,
                }
            )
        tz = ZoneInfo(Program.current().time_zone)
        body = {
            "membership_number": membership.number,
            "point_type": point_type.key,
            "since": since,
            "until": until,
            "opening_balance": to_points(opening, precision),
            "closing_balance": to_points(closing, precision),
            "entries": entries,
            "next": _encode(page[-1].pk) if more else None,
            "blocked": [
                {"matures_at": row["matures_at"], "amount": to_points(row["amount"], precision)}
                for row in selectors.blocked_lots(account_ids, now)
            ],
            "expiring": [
                {"month": row["month"], "amount": to_points(row["amount"], precision)}
                for row in selectors.expiring_by_month(account_ids, now, query["expiring_months"], tz)
            ],
        }
        return Response(serializers.StatementSerializer(body).data)

    @extend_schema(
        operation_id="getRedeemableBalance",
        summary="Redeemable balance",
        description="For `pointType` (default: the main point type): the balance, the blocked points (earned "
        "but not yet matured) and what can be spent now. `redeemable` is 0 for a type that cannot be redeemed, "
        "such as status points.",
        parameters=[KEY, serializers.BalanceQuerySerializer],
        responses={200: serializers.RedeemableSerializer},
    )
    def redeemable(self, request, key):
        query = parse_query(serializers.BalanceQuerySerializer, request)
        membership = resolve_membership(key)
        point_type = point_type_by_key(query.get("point_type"))
        balance = selectors.balance_of(membership, point_type)
        return Response(
            serializers.RedeemableSerializer(
                {
                    "point_type": point_type.key,
                    "balance": to_points(balance.balance, point_type.precision),
                    "blocked": to_points(balance.blocked, point_type.precision),
                    "redeemable": to_points(balance.redeemable, point_type.precision),
                }
            ).data
        )

    @extend_schema(
        operation_id="redeemPoints",
        summary="Redeem points",
        description="Spends matured points of an active membership at `sponsor` (default: the default sponsor), "
        "the points that expire first going first. Never overdraws: more than the redeemable balance is 409 "
        "`insufficient_points`, nothing booked. Answers 201 with the booking's `receiptId` (keep it to reverse "
        "the redemption) and the new balance.",
        parameters=[KEY],
        request=serializers.RedeemInputSerializer,
        responses={201: serializers.BookingResultSerializer},
    )
    def redeem(self, request, key):
        data = serializers.RedeemInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        membership = resolve_membership(key)
        point_type = point_type_by_key(data.validated_data.get("point_type"))
        points = to_minor(data.validated_data["points"], point_type.precision)
        booking = redeem_points(
            membership=membership,
            points=points,
            point_type=point_type,
            sponsor=sponsor_by_key(data.validated_data.get("sponsor")),
            reference=data.validated_data["reference"],
            actor=request.actor,
        )
        return Response(
            serializers.BookingResultSerializer(_result(booking, point_type, membership, -points)).data, status=201
        )

    @extend_schema(
        operation_id="adjustPoints",
        summary="Adjust points (credit or debit) with a reason",
        description="A manual correction booked against `sponsor` (default: the default sponsor): positive "
        "`points` credit the membership, negative ones debit it. A credit can be spent at once and expires by "
        "the point type's policy; a debit takes redeemable points like a redemption and never overdraws. "
        "`reason` is required and recorded.",
        parameters=[KEY],
        request=serializers.AdjustInputSerializer,
        responses={201: serializers.BookingResultSerializer},
    )
    def adjust(self, request, key):
        data = serializers.AdjustInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        membership = resolve_membership(key)
        point_type = point_type_by_key(data.validated_data.get("point_type"))
        points = to_minor(data.validated_data["points"], point_type.precision)
        booking = adjust_points(
            membership=membership,
            points=points,
            point_type=point_type,
            sponsor=sponsor_by_key(data.validated_data.get("sponsor")),
            reason=data.validated_data["reason"],
            actor=request.actor,
        )
        return Response(
            serializers.BookingResultSerializer(_result(booking, point_type, membership, points)).data, status=201
        )

    @extend_schema(
        operation_id="reverseRedemption",
        summary="Reverse a redemption by its receipt",
        description="Gives the points of the redemption with `receiptId` back to the lots they came from "
        "(to the surviving membership after a merge). A share whose lot has expired since comes back with its "
        "old expiry, so it expires again at once. A receipt is reversed at most once: again is 409 "
        "`already_reversed`.",
        request=serializers.RedemptionReversalInputSerializer,
        responses={201: serializers.RedemptionReversalResultSerializer},
    )
    def reverse_redemption(self, request):
        data = serializers.RedemptionReversalInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        receipt_id = data.validated_data["receipt_id"]
        booking = reverse_redemption(receipt_id=receipt_id, actor=request.actor)
        posting = booking.postings.filter(account__kind="member").select_related("account__point_type")
        amount = sum(p.amount for p in posting)
        point_type = posting[0].account.point_type if posting else point_type_by_key(None)
        result = _result(booking, point_type, booking.membership, amount)
        result["reverses"] = receipt_id
        return Response(serializers.RedemptionReversalResultSerializer(result).data, status=201)

    @extend_schema(
        operation_id="transferPoints",
        summary="Transfer points to another membership",
        description="Moves redeemable points of `pointType` from the source membership (which must be active) to "
        "the target, in one booking; each share keeps its issuing sponsor, maturity and expiry. Never overdraws "
        "the source (`insufficient_points`); a type that cannot be transferred is `not_transferable`. Answers "
        "201 with both new balances.",
        parameters=[
            OpenApiParameter("sourceKey", str, OpenApiParameter.PATH, description="The membership giving points."),
            OpenApiParameter("targetKey", str, OpenApiParameter.PATH, description="The membership receiving them."),
        ],
        request=serializers.TransferInputSerializer,
        responses={201: serializers.TransferResultSerializer},
    )
    def transfer(self, request, sourceKey, targetKey):  # the path's names, as API.md spells them
        data = serializers.TransferInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        source, target = resolve_membership(sourceKey), resolve_membership(targetKey)
        point_type = point_type_by_key(data.validated_data.get("point_type"))
        points = to_minor(data.validated_data["points"], point_type.precision)
        booking = transfer_points(
            source=source, target=target, points=points, point_type=point_type, actor=request.actor
        )
        result = _result(booking, point_type, source, -points)
        result["target_balance"] = to_points(selectors.balance_of(target, point_type).balance, point_type.precision)
        return Response(serializers.TransferResultSerializer(result).data, status=201)
