"""Event types of the webhooks app (its audit actions are in webhooks.services)."""

WEBHOOK_TEST = "webhook.test"  # sent to one endpoint on request, never written to the outbox
ENDPOINT_DISABLED = "webhook.endpoint.disabled"
