"""The /tx endpoints."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins
from rest_framework.response import Response

from ledger.models import PointType
from loyalty.api.serializers import validated
from loyalty.api.views import ApiGenericViewSet
from transactions import selectors, serializers
from transactions.errors import TransactionNotFound
from transactions.filters import TransactionFilter
from transactions.models import Transaction
from transactions.services import ReturnItem, TxRequest, book, calculate, return_transaction

TX_ID = OpenApiParameter("txId", str, OpenApiParameter.PATH, description="The integrator's transaction id.")


@extend_schema(tags=["tx"])
class TransactionViewSet(mixins.ListModelMixin, ApiGenericViewSet):
    filterset_class = TransactionFilter
    serializer_class = serializers.TransactionSerializer
    lookup_field = "tx_id"

    def get_queryset(self):
        return selectors.history(
            rewards=self.action in ("rewards_history", "rewards_details"), lines=self.action == "details"
        )

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["precisions"] = dict(PointType.objects.values_list("key", "precision"))
        return context

    def _one(self, tx_id: str) -> Transaction:
        found = self.get_queryset().filter(tx_id=tx_id).first()
        if found is None:
            raise TransactionNotFound(f"No transaction {tx_id!r}.")
        return found

    @extend_schema(
        operation_id="listTransactions",
        summary="Transaction history",
        description="Booked transactions, newest purchase first. Filters: `membership` (number, card or "
        "alternate id; includes memberships merged into it), `since` and `until` (purchase time), `channel`, "
        "`sponsor`, `status` (`booked`, `partially_returned`, `returned`). Pages by `limit` and `offset`. "
        "Dry runs are not stored, so they never appear.",
        responses={200: serializers.TransactionSerializer(many=True)},
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(
        operation_id="bookTransaction",
        summary="Evaluate a transaction; with txId, book it once",
        description=(
            "Without `txId`: a dry run that returns what the transaction would earn, with the trace of every "
            "promotion, and books nothing. With `txId`: the points are booked, the transaction is stored, and "
            "the same `txId` again returns the first answer; another payload under a used `txId` is 409 "
            "`tx_id_reused`."
        ),
        request=serializers.TxInputSerializer,
        responses={200: serializers.TxResultSerializer, 201: serializers.TxResultSerializer},
    )
    def create(self, request):
        tx_request = TxRequest.from_input(validated(serializers.TxInputSerializer, request.data))
        if not tx_request.tx_id:
            return Response(calculate(tx_request, actor=request.actor))
        answer, _ = book(tx_request, actor=request.actor)
        return Response(answer, status=201)

    @extend_schema(
        operation_id="reverseTransaction",
        summary="Return a transaction, whole or some items",
        description="Names the booked transaction by `receiptId` (and `sponsor` when two sponsors booked that "
        "receipt id). Without `items` everything left is returned; with `items` (`line` or `productKey`, and a "
        "`quantity`, which may be partial) only those. The points the returned items earned are taken back, "
        "recomputed with the promotions the purchase used, never more than was earned; unused vouchers the kept "
        "items no longer earn are revoked. Each quantity returns at most once (`return_exceeds_quantity`, "
        "`already_returned`).",
        request=serializers.TxReversalInputSerializer,
        responses={201: serializers.TxReversalResultSerializer},
    )
    def reversal(self, request):
        data = serializers.TxReversalInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        items = data.validated_data.get("items")
        answer = return_transaction(
            receipt_id=data.validated_data["receipt_id"],
            sponsor_key=data.validated_data["sponsor"],
            items=[ReturnItem(i["quantity"], i.get("line"), i.get("product_key", "")) for i in items]
            if items
            else None,
            actor=request.actor,
        )
        return Response(answer, status=201)

    @extend_schema(
        operation_id="getTransaction",
        summary="One transaction with its lines",
        description="The booked transaction with this `txId`: the membership, channel, amounts, status, "
        "properties and each line item with its returned quantity and whether the catalog knows the product. "
        "404 `transaction_not_found` for an unknown `txId` (a dry run is never stored).",
        parameters=[TX_ID],
        responses={200: serializers.TransactionDetailSerializer},
    )
    def details(self, request, txId):  # the path's name, as API.md spells it
        return Response(serializers.TransactionDetailSerializer(self._one(txId)).data)

    @extend_schema(
        operation_id="listRewardsHistory",
        summary="Transactions with the rewards they earned",
        description="The transaction history (same filters and order as `GET /tx`) with, for each transaction, "
        "the points per point type and the rewards archived at booking: promotion and version, amount, the lines "
        "that earned it, caps and vouchers; after returns, what they took back and what is left (`returnedPoints`, "
        "`netPoints`; per reward `returnedAmount`, `netAmount`). Pages by `limit` and `offset`.",
        responses={200: serializers.TransactionRewardsSerializer(many=True)},
    )
    def rewards_history(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        data = serializers.TransactionRewardsSerializer(page, many=True, context=self.get_serializer_context()).data
        return self.get_paginated_response(data)

    @extend_schema(
        operation_id="getTransactionRewards",
        summary="One transaction with its rewards and why",
        description="The booked transaction with this `txId` and each reward it earned: which promotion "
        "(and version) gave how many points of which type, for which lines, whether a cap cut it, the vouchers it "
        "issued and the trace of its conditions. After returns, each reward also says what they took back and what "
        "it still gives (`returnedAmount`, `netAmount`), and the transaction the same per point type "
        "(`returnedPoints`, `netPoints`). 404 `transaction_not_found` for an unknown `txId`.",
        parameters=[TX_ID],
        responses={200: serializers.TransactionRewardsSerializer},
    )
    def rewards_details(self, request, txId):
        return Response(
            serializers.TransactionRewardsSerializer(self._one(txId), context=self.get_serializer_context()).data
        )
