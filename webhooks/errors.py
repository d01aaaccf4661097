"""The refusals of the webhooks app, each with its stable code."""

from loyalty.errors import Conflict, InvalidInput, NotFound


class EndpointNotFound(NotFound):
    code = "webhook_endpoint_not_found"
    default_detail = "No webhook endpoint with this id."


class DeliveryNotFound(NotFound):
    code = "webhook_delivery_not_found"
    default_detail = "No webhook delivery with this id."


class InvalidEndpoint(InvalidInput):
    """A URL, subscription or header that cannot be used; `errors` names the fields."""

    code = "invalid_webhook_endpoint"
    default_detail = "The webhook endpoint is not valid."


class EndpointDisabled(Conflict):
    code = "webhook_endpoint_disabled"
    default_detail = "The webhook endpoint is disabled: enable it first."
