from drf_spectacular.utils import extend_schema
from rest_framework import mixins
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from loyalty.about import about
from loyalty.api.errors import ErrorSerializer
from loyalty.api.pagination import LogCursorPagination
from loyalty.api.permissions import HasScope
from loyalty.api.views import ApiGenericViewSet, ApiView
from loyalty.filters import AuditFilter, EventFilter
from loyalty.selectors import audit_entries, events
from loyalty.serializers import (
    AboutSerializer,
    AcknowledgeQuerySerializer,
    AuditEntrySerializer,
    EventBatchSerializer,
    EventSerializer,
)
from loyalty.services import acknowledge_events


class AboutView(ApiView):
    """Open to anyone (monitors); an API key or a staff session sees more."""

    permission_classes = [AllowAny]
    public_endpoint = True

    @extend_schema(
        tags=["about"],
        operation_id="getAbout",
        summary="Version and health",
        description=(
            "The product's name and version: the only operation that needs no API key, so a monitor can call "
            "it. With a key (or a staff login) also the API version, the git revision of the build, the server's "
            "time and whether the database and the message broker answer (`ok`, `unavailable` or "
            "`not_configured`). A key that is sent but not valid is refused (401)."
        ),
        responses={200: AboutSerializer},
    )
    def get(self, request):
        full = bool(getattr(request.user, "is_authenticated", False))
        return Response(AboutSerializer(about(full=full)).data)


@extend_schema(tags=["audit"])
class AuditViewSet(mixins.ListModelMixin, ApiGenericViewSet):
    serializer_class = AuditEntrySerializer
    filterset_class = AuditFilter
    pagination_class = LogCursorPagination

    def get_queryset(self):
        return audit_entries()

    @extend_schema(
        operation_id="listAuditEntries",
        summary="The audit log, newest first",
        description=(
            "Who (`user:<name>`, `client:<name>` or `system:<job>`) did what (`sponsor.updated`, ...) to which "
            "object, when, with the changed fields as `{field: [before, after]}`, the request id and the remote "
            "address. Filters: `actor`, `actorType`, `objectType`, `objectId`, `action`, `since`, `until`. "
            "Newest first, `limit` entries a page (default 50, at most 500); follow `next` for the older ones."
        ),
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)


@extend_schema(tags=["loyaltyops"])
class EventViewSet(ApiGenericViewSet):
    serializer_class = EventSerializer
    filterset_class = EventFilter
    pagination_class = LogCursorPagination
    permission_classes = [HasScope]

    def get_queryset(self):
        return events()

    @extend_schema(
        operation_id="listEvents",
        summary="Filtered list of events, acknowledged or not",
        description=(
            "Every event, filtered by `type`, `membership` (a membership number), `since`, `until` and "
            "`acknowledged` (by the calling client). Reading the list acknowledges nothing: the feed to "
            "consume is `GET /loyaltyops/events/acknowledge`. Newest first, `limit` events a page (default 50, "
            "at most 500); follow `next` for the older ones."
        ),
        responses={200: EventSerializer(many=True)},
    )
    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(EventSerializer(page, many=True).data)

    @extend_schema(
        operation_id="acknowledgeEvents",
        summary="Acknowledge received events and get the next ones",
        description=(
            "At-least-once delivery with a cursor per API client. Pass the `ack` value of your previous "
            "answer once you have processed its events: that acknowledges them, and the answer holds the "
            "next ones. Call without `ack` (or with an older one) and the unacknowledged events come "
            "again, so a lost answer loses nothing. Handle events idempotently by `id`."
        ),
        parameters=[AcknowledgeQuerySerializer],
        responses={200: EventBatchSerializer, 409: ErrorSerializer},
    )
    def acknowledge(self, request):
        query = AcknowledgeQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        client = getattr(request, "api_client", None)
        if client is None:
            raise PermissionDenied("The event feed keeps a cursor per API client: call it with an API key.")
        cursor, batch, more = acknowledge_events(
            client=client,
            ack=query.validated_data.get("ack"),
            limit=query.validated_data["limit"],
        )
        body = {
            "acknowledged": cursor.acknowledged_id,
            "ack": batch[-1].id if batch else cursor.acknowledged_id,
            "more": more,
            "events": batch,
        }
        return Response(EventBatchSerializer(body).data)
