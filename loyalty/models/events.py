from django.db import models


class Event(models.Model):
    """An outbox row: a domain event written in the same transaction as the change it reports."""

    type = models.CharField(max_length=80)
    occurred_at = models.DateTimeField(auto_now_add=True, db_index=True)
    membership_number = models.CharField(max_length=40, blank=True)
    payload = models.JSONField(default=dict)
    # PostgreSQL transaction id of the writer: the feed only hands out events whose writing
    # transaction is older than every running one, so a slow commit is never skipped.
    txid = models.BigIntegerField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["id"]
        # Plain btree indexes, without the LIKE twins Django adds for db_index on text: nothing
        # searches events by prefix, and every event writes each index.
        indexes = [
            models.Index(fields=["type"], name="event_type_idx"),
            models.Index(fields=["membership_number"], name="event_membership_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.type}"


class EventCursor(models.Model):
    """How far one API client has acknowledged (and been handed) the event feed. The feed runs in the order
    (writing transaction, event id), so a position is that pair: the event id alone does not say it."""

    client = models.OneToOneField("loyalty.ApiClient", primary_key=True, on_delete=models.CASCADE)
    acknowledged_id = models.BigIntegerField(default=0)
    acknowledged_txid = models.BigIntegerField(default=0)
    delivered_id = models.BigIntegerField(default=0)
    delivered_txid = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.client_id}: acknowledged {self.acknowledged_id}, delivered {self.delivered_id}"
