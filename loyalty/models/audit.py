from django.conf import settings
from django.db import models
from django.db.models import Q


class AuditEntry(models.Model):
    """Who did what to which object, when and from where. Written by services, never edited."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor_type = models.CharField(max_length=10)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, db_index=False, on_delete=models.SET_NULL
    )
    actor_client = models.ForeignKey(
        "loyalty.ApiClient", null=True, blank=True, db_index=False, on_delete=models.SET_NULL
    )
    actor_label = models.CharField(max_length=200)
    action = models.CharField(max_length=80)
    object_type = models.CharField(max_length=80)
    object_id = models.CharField(max_length=80, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    remote_addr = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "audit entries"
        # Plain btree indexes (no LIKE twins: nothing searches by prefix); an actor's index holds only
        # the rows that name one. Each index is written for every entry: keep the list short.
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="audit_object_idx"),
            models.Index(fields=["action"], name="audit_action_idx"),
            # The entries of one import batch (the audit log's drill-down); other requests are not indexed.
            models.Index(
                fields=["request_id"], name="audit_import_request_idx", condition=Q(request_id__startswith="import-")
            ),
            models.Index(fields=["actor_user"], name="audit_actor_user_idx", condition=Q(actor_user__isnull=False)),
            models.Index(
                fields=["actor_client"], name="audit_actor_client_idx", condition=Q(actor_client__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.actor_label} {self.action} {self.object_type}:{self.object_id}"
