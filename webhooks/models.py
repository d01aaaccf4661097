"""Webhook endpoints, their signing secrets, and one delivery per event and endpoint with its attempts.

The source of every delivery is the event outbox (loyalty.models.Event), which the services write in the
same transaction as the change: nothing is pushed that did not commit. The dispatcher (webhooks.services.
dispatch) reads the outbox behind a cursor that only moves past transactions that have ended, so nothing
committed is skipped.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class Endpoint(models.Model):
    """A receiver's URL and the event types it subscribed to."""

    client = models.ForeignKey(
        "loyalty.ApiClient",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="webhook_endpoints",
        help_text="The API client that registered it and sees it in the API; none for one set up in the admin.",
    )
    url = models.URLField(max_length=2000, verbose_name="URL", help_text="Where the events are posted (https).")
    description = models.CharField(max_length=200, blank=True)
    event_types = models.JSONField(
        default=list,
        help_text="Event types it receives: exact names (points.earned) or wildcards (points.*, or * for all).",
    )
    headers = models.JSONField(default=dict, blank=True, help_text="Extra HTTP headers sent with every delivery.")
    enabled = models.BooleanField(default=True, help_text="A disabled endpoint receives nothing.")
    disabled_reason = models.CharField(max_length=200, blank=True, editable=False)
    failing_since = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="The first failed attempt since its last success."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        verbose_name = "webhook endpoint"

    def __str__(self) -> str:
        return self.description or self.url


class EndpointSecret(models.Model):
    """A signing secret (`whsec_...`). It signs until it expires; a rotation gives the old one 24 hours."""

    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="secrets")
    secret = models.CharField(max_length=80)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.secret[:10]}… of endpoint {self.endpoint_id}"


class Delivery(models.Model):
    """One event for one endpoint: at least once, retried with backoff until delivered or failed."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(
        "loyalty.Event", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_constraint=False
    )
    message_id = models.CharField(
        max_length=64, help_text="The webhook-id header: the event's id (receivers deduplicate on it)."
    )
    event_type = models.CharField(max_length=80)
    payload = models.JSONField(null=True, blank=True, help_text="Only for test events, which are not in the outbox.")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "event"], condition=models.Q(event__isnull=False), name="delivery_once_per_event"
            ),
        ]
        indexes = [
            models.Index(fields=["next_attempt_at"], condition=models.Q(status="pending"), name="delivery_due_idx"),
            models.Index(fields=["endpoint", "-id"], name="delivery_endpoint_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.message_id} to {self.endpoint}"


class DeliveryAttempt(models.Model):
    """One HTTP request of a delivery and what the receiver answered (or why there was no answer)."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveSmallIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    url = models.URLField(max_length=2000)
    request_headers = models.JSONField(default=dict)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_headers = models.JSONField(default=dict)
    response_body = models.TextField(blank=True, help_text="The first 4 KB.")
    error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["delivery_id", "number"]

    def __str__(self) -> str:
        return f"attempt {self.number} of delivery {self.delivery_id}"


class DispatchCursor(models.Model):
    """How far the dispatcher has read the outbox, in the order (writing transaction, event id): every event
    up to (`last_txid`, `last_event_id`) has its deliveries. On SQLite, which writes one transaction at a time,
    the transaction is always 0 and the event id alone orders."""

    singleton = models.BooleanField(default=True, unique=True)
    last_txid = models.BigIntegerField(default=0)
    last_event_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"outbox read up to transaction {self.last_txid}, event {self.last_event_id}"
