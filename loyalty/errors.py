"""Domain errors: services raise these; one exception handler turns them into HTTP answers."""

from typing import Any


class DomainError(Exception):
    """A refusal with a stable machine-readable code. Subclasses set `code` and `status`."""

    code = "domain_error"
    status = 409
    default_detail = "The request was refused."

    def __init__(
        self,
        detail: str | None = None,
        *,
        code: str | None = None,
        errors: list[dict[str, Any]] | None = None,
    ):
        self.detail = detail or self.default_detail
        if code:
            self.code = code
        self.errors = errors or []
        super().__init__(self.detail)


class NotFound(DomainError):
    code = "not_found"
    status = 404
    default_detail = "Not found."


class Conflict(DomainError):
    code = "conflict"
    status = 409


class InvalidInput(DomainError):
    """Input that passes the serializer but breaks a domain rule (e.g. an unknown sponsor key)."""

    code = "invalid_input"
    status = 400


class IdempotencyKeyReused(DomainError):
    code = "idempotency_key_reused"
    status = 409
    default_detail = "This Idempotency-Key was already used with a different request."


class InvalidAcknowledgement(DomainError):
    code = "invalid_ack"
    status = 409
    default_detail = "The acknowledged event id was never delivered to this client."


class GetNeedsApiKey(DomainError):
    """A GET that changes state, sent with an admin session instead of an API key: a link on another site would
    carry the session cookie (SameSite=Lax), so only the POST form, CSRF-checked, takes a session."""

    code = "get_needs_api_key"
    status = 405
    default_detail = (
        "This GET changes state, so it answers API keys only; with an admin login, send POST with the CSRF token."
    )
