from django.db import models
from rest_framework_api_key.models import AbstractAPIKey

from loyalty.ratelimit import validate_rate


class Scope(models.TextChoices):
    READ = "read", "read: GET endpoints"
    WRITE = "write", "write: POST, PUT and DELETE endpoints"
    IMPORTS = "imports", "imports: bulk imports and exports"
    WEBHOOKS = "webhooks", "webhooks: webhook endpoints and their deliveries"


class ApiClient(models.Model):
    """An integrator (POS, web shop, CRM). Its keys can rotate; its scopes and event cursor stay."""

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    scopes = models.JSONField(default=list, blank=True, help_text="What the client's keys may do.")
    active = models.BooleanField(default=True, help_text="An inactive client's keys are all refused.")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = "API client"

    def __str__(self) -> str:
        return self.name

    def has_scope(self, scope: str) -> bool:
        return scope in (self.scopes or [])


class ApiKey(AbstractAPIKey):
    """A hashed key of a client: only the prefix and a SHA-512 hash are stored."""

    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="keys")
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    rate_limit = models.CharField(
        max_length=40,
        blank=True,
        validators=[validate_rate],
        help_text="This key's rate limit, e.g. '500/s', '6000/m burst 500' or 'off'; blank: API_RATE_LIMIT.",
    )
    imports_rate_limit = models.CharField(
        max_length=40,
        blank=True,
        validators=[validate_rate],
        help_text="This key's rate limit for imports and exports; blank: API_IMPORTS_RATE_LIMIT.",
    )

    class Meta(AbstractAPIKey.Meta):
        verbose_name = "API key"
        verbose_name_plural = "API keys"
