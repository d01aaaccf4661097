"""The /webhooks endpoints of API.md (scope `webhooks`). Each view parses, calls a service or selector and
presents; domain errors become HTTP answers in loyalty.api.errors."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response

from loyalty.api.pagination import MAX_ID
from loyalty.api.serializers import parse
from loyalty.api.views import ApiGenericView, ApiView
from loyalty.models.clients import Scope
from webhooks import selectors, services
from webhooks.event_types import EVENT_TYPES
from webhooks.filters import DeliveryFilter
from webhooks.models import Delivery, Endpoint
from webhooks.serializers import (
    DeliveryOutput,
    EndpointCreatedOutput,
    EndpointInput,
    EndpointOutput,
    EndpointUpdateInput,
    EventTypeOutput,
    RotatedOutput,
)

TAGS = ["webhooks"]
ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
ENDPOINT_ID = OpenApiParameter("id", ID, OpenApiParameter.PATH, description="The endpoint's id.")
DELIVERY_ID = OpenApiParameter("id", ID, OpenApiParameter.PATH, description="The delivery's id.")


def path_id(value: str) -> int:
    """A path id as a number; anything that cannot be an id is simply not found (never a database error)."""
    return int(value) if value.isascii() and value.isdigit() and 0 < int(value) <= MAX_ID else 0


def present_endpoint(endpoint: Endpoint) -> dict[str, Any]:
    now = timezone.now()
    return {
        "id": endpoint.pk,
        "url": endpoint.url,
        "description": endpoint.description,
        "event_types": endpoint.event_types,
        "headers": endpoint.headers,
        "enabled": endpoint.enabled,
        "disabled_reason": endpoint.disabled_reason,
        "failing_since": endpoint.failing_since,
        "secrets_expire_at": [
            s.expires_at for s in endpoint.secrets.all() if s.expires_at is None or s.expires_at > now
        ],
        "created_at": endpoint.created_at,
        "updated_at": endpoint.updated_at,
    }


class WebhookView(ApiView):
    required_scope = Scope.WEBHOOKS


def accepted(request, delivery_id: int) -> Response:
    """202 with the delivery as it stands: queued, its attempts to come (test events and retries)."""
    return Response(
        DeliveryOutput(selectors.delivery_of(request.actor, delivery_id)).data, status=status.HTTP_202_ACCEPTED
    )


class EventTypeListView(WebhookView):
    """GET /webhooks/eventtypes."""

    @extend_schema(
        tags=TAGS,
        operation_id="listWebhookEventTypes",
        summary="List the event types",
        description="Every event type an endpoint can subscribe to, by name, with the JSON Schema of its payload "
        "(`data.payload` of a delivery; the same as `payload` in the pull feed).",
        responses={200: EventTypeOutput(many=True)},
    )
    def get(self, request):
        types = [
            {"name": t.name, "description": t.description, "membership": t.membership, "payload": t.payload}
            for t in sorted(EVENT_TYPES.values(), key=lambda t: t.name)
        ]
        return Response(EventTypeOutput(types, many=True).data)


class EndpointListView(ApiGenericView):
    """GET and POST /webhooks/endpoints."""

    required_scope = Scope.WEBHOOKS
    queryset = Endpoint.objects.none()
    serializer_class = EndpointOutput

    @extend_schema(
        tags=TAGS,
        operation_id="listWebhookEndpoints",
        summary="List webhook endpoints",
        description="The endpoints this API client registered, oldest first, with their subscriptions and state.",
        responses={200: EndpointOutput(many=True)},
    )
    def get(self, request):
        page = self.paginate_queryset(selectors.endpoints_of(request.actor).order_by("id"))
        return self.get_paginated_response(EndpointOutput([present_endpoint(e) for e in page], many=True).data)

    @extend_schema(
        tags=TAGS,
        operation_id="createWebhookEndpoint",
        summary="Register a webhook endpoint",
        description="Events of the subscribed types that occur from now on are posted to `url`, signed as the "
        "Standard Webhooks specification says. The answer carries the signing `secret`, shown this once. Refused "
        "with `invalid_webhook_endpoint` (400, the fields at fault in `errors`: a URL that is not https in "
        "production or names a private address, an unknown event type, a reserved header).",
        request=EndpointInput,
        responses={201: EndpointCreatedOutput},
    )
    def post(self, request):
        data = parse(EndpointInput, request.data)
        endpoint, secret = services.create_endpoint(actor=request.actor, client=request.actor.client, **data)
        body = present_endpoint(selectors.endpoint_of(request.actor, endpoint.pk)) | {"secret": secret}
        return Response(EndpointCreatedOutput(body).data, status=status.HTTP_201_CREATED)


class EndpointDetailView(WebhookView):
    """GET, PUT and DELETE /webhooks/endpoints/{id}."""

    @extend_schema(
        tags=TAGS,
        operation_id="getWebhookEndpoint",
        summary="One webhook endpoint",
        description="404 `webhook_endpoint_not_found` for an id this client does not own.",
        parameters=[ENDPOINT_ID],
        responses={200: EndpointOutput},
    )
    def get(self, request, id):
        return Response(EndpointOutput(present_endpoint(selectors.endpoint_of(request.actor, path_id(id)))).data)

    @extend_schema(
        tags=TAGS,
        operation_id="updateWebhookEndpoint",
        summary="Change a webhook endpoint",
        description="Only the fields given change: `url`, `eventTypes`, `description`, `headers` (replaced as a "
        "whole), `enabled`. Enabling a disabled endpoint sends its waiting deliveries. Refused with "
        "`webhook_endpoint_not_found` (404) and `invalid_webhook_endpoint` (400).",
        parameters=[ENDPOINT_ID],
        request=EndpointUpdateInput,
        responses={200: EndpointOutput},
    )
    def put(self, request, id):
        endpoint = selectors.endpoint_of(request.actor, path_id(id))
        data = parse(EndpointUpdateInput, request.data)
        services.update_endpoint(endpoint=endpoint, actor=request.actor, **data)
        return Response(EndpointOutput(present_endpoint(selectors.endpoint_of(request.actor, endpoint.pk))).data)

    @extend_schema(
        tags=TAGS,
        operation_id="deleteWebhookEndpoint",
        summary="Remove a webhook endpoint",
        description="With its secrets and delivery log; nothing more is sent to it. 404 "
        "`webhook_endpoint_not_found` for an id this client does not own.",
        parameters=[ENDPOINT_ID],
        responses={204: None},
    )
    def delete(self, request, id):
        services.delete_endpoint(endpoint=selectors.endpoint_of(request.actor, path_id(id)), actor=request.actor)
        return Response(status=status.HTTP_204_NO_CONTENT)


class EndpointRotateView(WebhookView):
    """POST /webhooks/endpoints/{id}/rotate."""

    @extend_schema(
        tags=TAGS,
        operation_id="rotateWebhookSecret",
        summary="Rotate an endpoint's signing secret",
        description="A new secret signs from now on and is shown this once; the previous one keeps signing beside "
        "it for 24 hours (`previousSecretsExpireAt`), so deliveries carry both signatures until the receiver has "
        "switched. 404 `webhook_endpoint_not_found`.",
        parameters=[ENDPOINT_ID],
        request=None,
        responses={200: RotatedOutput},
    )
    def post(self, request, id):
        endpoint = selectors.endpoint_of(request.actor, path_id(id))
        secret, until = services.rotate_secret(endpoint=endpoint, actor=request.actor)
        body = {"id": endpoint.pk, "secret": secret, "previous_secrets_expire_at": until}
        return Response(RotatedOutput(body).data)


class EndpointTestView(WebhookView):
    """POST /webhooks/endpoints/{id}/test."""

    @extend_schema(
        tags=TAGS,
        operation_id="testWebhookEndpoint",
        summary="Send a test event",
        description="Sends a `webhook.test` event to this endpoint now, signed and logged like any delivery; the "
        "answer is the delivery, waiting to be sent (read it again under `GET /webhooks/deliveries` to see the "
        "receiver's answer). Refused with `webhook_endpoint_not_found` (404) and `webhook_endpoint_disabled` "
        "(409).",
        parameters=[ENDPOINT_ID],
        request=None,
        responses={202: DeliveryOutput},
    )
    def post(self, request, id):
        endpoint = selectors.endpoint_of(request.actor, path_id(id))
        return accepted(request, services.send_test(endpoint=endpoint, actor=request.actor).pk)


class DeliveryListView(ApiGenericView):
    """GET /webhooks/deliveries."""

    required_scope = Scope.WEBHOOKS
    queryset = Delivery.objects.none()
    filterset_class = DeliveryFilter
    serializer_class = DeliveryOutput

    @extend_schema(
        tags=TAGS,
        operation_id="listWebhookDeliveries",
        summary="List deliveries",
        description="Newest first, each with every attempt and the receiver's answer (status, headers, the first "
        "4 KB of the body, duration) or why none came. Filters: `endpoint`, `eventType`, `status`, `since`, "
        "`until` (creation time).",
        responses={200: DeliveryOutput(many=True)},
    )
    def get(self, request):
        page = self.paginate_queryset(self.filter_queryset(selectors.deliveries_of(request.actor)))
        return self.get_paginated_response(DeliveryOutput(page, many=True).data)


class DeliveryRetryView(WebhookView):
    """POST /webhooks/deliveries/{id}/retry."""

    @extend_schema(
        tags=TAGS,
        operation_id="retryWebhookDelivery",
        summary="Deliver again now",
        description="Sends the delivery again at once, whatever its state; the attempt is added to its log. "
        "Refused with `webhook_delivery_not_found` (404) and `webhook_endpoint_disabled` (409).",
        parameters=[DELIVERY_ID],
        request=None,
        responses={202: DeliveryOutput},
    )
    def post(self, request, id):
        delivery = selectors.delivery_of(request.actor, path_id(id))
        return accepted(request, services.retry_delivery(delivery=delivery, actor=request.actor).pk)
