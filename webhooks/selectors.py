"""Reads of the webhooks app. An API client sees its own endpoints and their deliveries only; a staff user
(the admin, a session in the API) sees all."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from loyalty.actors import Actor
from webhooks.errors import DeliveryNotFound, EndpointNotFound
from webhooks.models import Delivery, DeliveryAttempt, Endpoint, EndpointSecret


def endpoints_of(actor: Actor) -> QuerySet[Endpoint]:
    endpoints = Endpoint.objects.prefetch_related(Prefetch("secrets", queryset=EndpointSecret.objects.all()))
    return endpoints.filter(client=actor.client) if actor.client is not None else endpoints


def endpoint_of(actor: Actor, endpoint_id: int) -> Endpoint:
    endpoint = endpoints_of(actor).filter(pk=endpoint_id).first()
    if endpoint is None:
        raise EndpointNotFound(f"No webhook endpoint {endpoint_id}.")
    return endpoint


def deliveries_of(actor: Actor) -> QuerySet[Delivery]:
    deliveries = Delivery.objects.prefetch_related(
        Prefetch("attempt_log", queryset=DeliveryAttempt.objects.order_by("number"))
    ).order_by("-id")
    return deliveries.filter(endpoint__client=actor.client) if actor.client is not None else deliveries


def delivery_of(actor: Actor, delivery_id: int) -> Delivery:
    delivery = deliveries_of(actor).filter(pk=delivery_id).first()
    if delivery is None:
        raise DeliveryNotFound(f"No webhook delivery {delivery_id}.")
    return delivery


def disabled_endpoints() -> list[Endpoint]:
    """What the dashboard warns about: endpoints the platform stopped sending to (a 410 or days of failures)."""
    return list(Endpoint.objects.filter(enabled=False).exclude(disabled_reason="Disabled by hand.").order_by("id"))
