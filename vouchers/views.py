"""The 7 /voucher endpoints of API.md. Each view parses, calls a service or selector, and presents;
domain errors become HTTP answers in loyalty.api.errors."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response

from ledger.amounts import to_minor, to_points
from ledger.services.core import point_type_by_key, sponsor_by_key
from loyalty.api.errors import camel
from loyalty.api.serializers import parse
from loyalty.api.views import ApiGenericView, ApiView
from loyalty.models import Program
from memberships.selectors import resolve_membership
from vouchers import selectors, services
from vouchers.errors import InvalidVoucherType
from vouchers.filters import VoucherFilter, VoucherTypeFilter
from vouchers.models import Voucher, VoucherType
from vouchers.serializers import (
    ConvertInput,
    IssueInput,
    IssueResultOutput,
    RevokeInput,
    VoucherInfoOutput,
    VoucherOutput,
    VoucherTypeInput,
    VoucherTypeOutput,
)

TAGS = ["vouchers"]
TOKEN = OpenApiParameter("token", str, OpenApiParameter.PATH, description="The voucher code (case-insensitive).")
TYPE = OpenApiParameter("type", str, OpenApiParameter.PATH, description="The voucher type's key.")


def _currency(voucher_type: VoucherType, program_currency: str) -> str | None:
    if voucher_type.kind != VoucherType.Kind.AMOUNT_OFF:
        return None
    return voucher_type.currency or program_currency


def _decimal(value) -> str | None:
    return None if value is None else str(value)


def present_type(voucher_type: VoucherType, program_currency: str) -> dict[str, Any]:
    point_type = voucher_type.point_type
    price = None
    if voucher_type.price_points is not None and point_type is not None:
        price = to_points(to_minor(voucher_type.price_points, point_type.precision), point_type.precision)
    stock_row = getattr(voucher_type, "stock_row", None)
    return {
        "key": voucher_type.key,
        "name": voucher_type.name,
        "description": voucher_type.description,
        "kind": voucher_type.kind,
        "value": _decimal(voucher_type.value),
        "currency": _currency(voucher_type, program_currency),
        "product_key": voucher_type.product_key,
        "valid_from": voucher_type.valid_from,
        "valid_until": voucher_type.valid_until,
        "valid_days": voucher_type.valid_days,
        "code_length": voucher_type.code_length,
        "code_alphabet": voucher_type.code_alphabet,
        "code_prefix": voucher_type.code_prefix,
        "code_suffix": voucher_type.code_suffix,
        "code_pattern": voucher_type.code_pattern,
        "uses_per_voucher": voucher_type.uses_per_voucher,
        "limit_per_member": voucher_type.limit_per_member,
        "stock": voucher_type.stock,
        "stock_left": selectors.stock_left(voucher_type),
        "issued": stock_row.issued if stock_row else 0,
        "purchasable": voucher_type.purchasable,
        "price_points": price,
        "point_type": point_type.key if point_type and price is not None else None,
        "sponsor": voucher_type.sponsor.key,
        "channels": voucher_type.channels,
        "active": voucher_type.active,
        "created_at": voucher_type.created_at,
    }


def present_voucher(voucher: Voucher, program_currency: str, moment: datetime) -> dict[str, Any]:
    voucher_type = voucher.voucher_type
    point_type = voucher.point_type
    return {
        "token": voucher.token,
        "voucher_type": voucher_type.key,
        "name": voucher_type.name,
        "kind": voucher_type.kind,
        "value": _decimal(voucher_type.value),
        "currency": _currency(voucher_type, program_currency),
        "product_key": voucher_type.product_key,
        "status": services.effective_status(voucher, moment),
        "uses_left": voucher.uses_left,
        "uses_total": voucher.uses_total,
        "recipient": voucher.recipient.number if voucher.recipient_id else None,
        "valid_from": voucher.valid_from,
        "valid_until": voucher.valid_until,
        "issued_at": voucher.issued_at,
        "source": voucher.source,
        "reference": voucher.reference,
        "batch": voucher.batch_id,
        "points_paid": to_points(voucher.points_paid, point_type.precision) if point_type else None,
        "point_type": point_type.key if point_type else None,
        "receipt_id": voucher.receipt_id or None,
        "refund_receipt_id": voucher.refund_receipt_id or None,
        "revoked_at": voucher.revoked_at,
        "revoke_reason": voucher.revoke_reason or None,
    }


def info_response(voucher: Voucher, status_code: int = 200) -> Response:
    """The voucher (its type, recipient and point type loaded), its channels and its history."""
    body = present_voucher(voucher, Program.current().currency, timezone.now())
    body["channels"] = voucher.voucher_type.channels
    body["history"] = selectors.history_of(voucher)
    return Response(VoucherInfoOutput(body).data, status=status_code)


class VoucherTypeListView(ApiGenericView):
    """GET /voucher/types."""

    queryset = VoucherType.objects.none()
    filterset_class = VoucherTypeFilter
    serializer_class = VoucherTypeOutput

    @extend_schema(
        tags=TAGS,
        operation_id="listVoucherTypes",
        summary="List voucher types",
        description="By key. Filters: `active`, `sponsor`, `purchasable` (bought with points), `pointType`, `kind`.",
        responses={200: VoucherTypeOutput(many=True)},
    )
    def get(self, request):
        page = self.paginate_queryset(self.filter_queryset(selectors.voucher_types().order_by("key")))
        currency = Program.current().currency
        return self.get_paginated_response(VoucherTypeOutput([present_type(t, currency) for t in page], many=True).data)


class VoucherTypeCreateView(ApiView):
    """POST /voucher/type."""

    @extend_schema(
        tags=TAGS,
        operation_id="createVoucherType",
        summary="Create a voucher type",
        description="Refused with `voucher_type_exists` (409), `invalid_voucher_type` (400, with the fields at "
        "fault), `unknown_sponsor` or `unknown_point_type` (400).",
        request=VoucherTypeInput,
        responses={201: VoucherTypeOutput},
    )
    def post(self, request):
        data = dict(parse(VoucherTypeInput, request.data))
        sponsor = sponsor_by_key(data.pop("sponsor", None))
        point_type_key = data.pop("point_type", None)
        point_type = point_type_by_key(point_type_key) if point_type_key else None
        try:
            voucher_type = services.create_voucher_type(
                actor=request.actor, sponsor=sponsor, point_type=point_type, **data
            )
        except InvalidVoucherType as exc:
            for error in exc.errors:
                error["field"] = camel(error.get("field", ""))
            raise
        voucher_type = selectors.voucher_type_by_key(voucher_type.key)
        return Response(
            VoucherTypeOutput(present_type(voucher_type, Program.current().currency)).data,
            status=status.HTTP_201_CREATED,
        )


class VoucherListView(ApiGenericView):
    """GET /voucher."""

    queryset = Voucher.objects.none()
    filterset_class = VoucherFilter
    serializer_class = VoucherOutput

    @extend_schema(
        tags=TAGS,
        operation_id="listVouchers",
        summary="List vouchers",
        description="Newest first. Filters: `type`, `recipient`, `status`, `validAt`, `expiresAfter`, "
        "`expiresBefore`, `issuedSince`, `issuedUntil`, `reference`, `source`.",
        responses={200: VoucherOutput(many=True)},
    )
    def get(self, request):
        page = self.paginate_queryset(self.filter_queryset(selectors.vouchers()))
        currency, moment = Program.current().currency, timezone.now()
        return self.get_paginated_response(
            VoucherOutput([present_voucher(v, currency, moment) for v in page], many=True).data
        )


class VoucherInfoView(ApiView):
    """GET /voucher/{token}/info."""

    @extend_schema(
        tags=TAGS,
        operation_id="getVoucher",
        summary="One voucher, with its history",
        description="The voucher with this code: its type, value, `status` (an issued voucher past its end "
        "shows `expired`), `usesLeft`, recipient, validity, points paid, the channels it may be used in and its "
        "history (issued, each conversion, revoked or expired). 404 `voucher_not_found` for an unknown code.",
        parameters=[TOKEN],
        responses={200: VoucherInfoOutput},
    )
    def get(self, request, token):
        return info_response(selectors.voucher_by_token(token))


class VoucherIssueView(ApiView):
    """POST /voucher/{type}/issue."""

    @extend_schema(
        tags=TAGS,
        operation_id="issueVoucher",
        summary="Issue vouchers of a type",
        description="To `recipient` (a membership key) or to nobody (then any member may convert it); `count` "
        "issues N codes at once. A type with a price in points redeems it from the recipient in the same step. "
        "Refused with `voucher_type_not_found` (404), `membership_not_found` (404), `out_of_stock`, "
        "`member_limit_reached`, `voucher_type_inactive`, `voucher_type_ended`, `insufficient_points`, "
        "`membership_not_active` (409), `recipient_required`, `bulk_priced_type` (400).",
        parameters=[TYPE],
        request=IssueInput,
        responses={201: IssueResultOutput},
    )
    def post(self, request, type):  # the path's name, as API.md spells it
        data = parse(IssueInput, request.data)
        voucher_type = selectors.voucher_type_by_key(type)
        recipient = resolve_membership(data["recipient"]) if data.get("recipient") else None
        result = services.issue_voucher(
            voucher_type=voucher_type,
            recipient=recipient,
            actor=request.actor,
            source="api",
            reference=data["reference"],
            count=data["count"],
        )
        body = present_voucher(result.voucher, Program.current().currency, timezone.now())
        body["count"] = result.count
        body["tokens"] = result.tokens
        return Response(IssueResultOutput(body).data, status=status.HTTP_201_CREATED)


class VoucherConvertView(ApiView):
    """POST /voucher/{token}/convert."""

    @extend_schema(
        tags=TAGS,
        operation_id="convertVoucher",
        summary="Convert (use) a voucher",
        description="Valid only if issued, within its validity, with uses left, for the right member (or "
        "anyone) and in an allowed channel. Refused with `voucher_not_found` (404), `voucher_expired`, "
        "`voucher_not_yet_valid`, `voucher_used`, `voucher_revoked`, `wrong_recipient`, `channel_not_allowed`, "
        "`membership_not_active` (409).",
        parameters=[TOKEN],
        request=ConvertInput,
        responses={200: VoucherInfoOutput},
    )
    def post(self, request, token):
        data = parse(ConvertInput, request.data)
        membership = resolve_membership(data["membership_key"]) if data.get("membership_key") else None
        voucher = services.convert_voucher(
            token=token,
            actor=request.actor,
            membership=membership,
            channel=data["channel"],
            reference=data["reference"],
        )
        return info_response(voucher)


class VoucherRevokeView(ApiView):
    """POST /voucher/{token}/revoke."""

    @extend_schema(
        tags=TAGS,
        operation_id="revokeVoucher",
        summary="Revoke a voucher",
        description="Only an unused voucher; points paid for it are refunded by a reversal booking "
        "(`refundReceiptId`). With `recipient`, only that member's voucher (merges followed). Refused with "
        "`voucher_not_found`, `membership_not_found` (404), `voucher_used`, `voucher_revoked`, `voucher_expired`, "
        "`wrong_recipient`, `ambiguous_key` (409); a blank `reason` is a `validation_error` (400).",
        parameters=[TOKEN],
        request=RevokeInput,
        responses={200: VoucherInfoOutput},
    )
    def post(self, request, token):
        data = parse(RevokeInput, request.data)
        recipient = resolve_membership(data["recipient"]) if data.get("recipient") else None
        voucher = services.revoke_by_token(token=token, reason=data["reason"], actor=request.actor, recipient=recipient)
        return info_response(voucher)
