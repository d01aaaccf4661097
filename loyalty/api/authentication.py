"""API keys for integrators, session login for staff (the docs page)."""

from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from loyalty.models import ApiClient, ApiKey
from loyalty.prepared import Prepared
from loyalty.services import touch_api_key


@dataclass
class ClientPrincipal:
    """request.user for a call made with an API key."""

    client: ApiClient
    is_authenticated: bool = True
    is_active: bool = True
    is_staff: bool = False
    is_superuser: bool = False
    pk: None = None

    def __str__(self) -> str:
        return f"client:{self.client.name}"

    def get_username(self) -> str:
        return str(self)


_key_by_prefix: Prepared[ApiKey] = Prepared(
    lambda prefix: ApiKey.objects.select_related("client").filter(prefix=prefix).order_by("pk")[:1]
)


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Api-Key"

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, raw_key = header.partition(" ")
        if scheme != self.keyword:
            return None
        raw_key = raw_key.strip()
        prefix, dot, _ = raw_key.partition(".")
        if not dot or not prefix:
            raise exceptions.AuthenticationFailed("Malformed API key.")
        api_key = _key_by_prefix.first(prefix)
        if api_key is None or not api_key.is_valid(raw_key):
            raise exceptions.AuthenticationFailed("Unknown API key.")
        if api_key.revoked:
            raise exceptions.AuthenticationFailed("This API key was revoked.")
        if api_key.expiry_date and api_key.expiry_date < timezone.now():
            raise exceptions.AuthenticationFailed("This API key has expired.")
        if not api_key.client.active:
            raise exceptions.AuthenticationFailed("This API client is disabled.")
        touch_api_key(api_key)
        request._request.api_client = api_key.client
        return ClientPrincipal(client=api_key.client), api_key

    def authenticate_header(self, request):
        return self.keyword


class StaffSessionAuthentication(authentication.SessionAuthentication):
    """Staff who logged in to the admin may call the API (from the docs page), CSRF-checked."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None:
            return None
        user, _ = result
        if not user.is_staff:
            return None
        if settings.ADMIN_REQUIRE_2FA and not getattr(request._request.user, "is_verified", lambda: False)():
            return None  # a session that never gave the authenticator's code (django-otp's OTPMiddleware)
        return result


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "loyalty.api.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": (
                "Send the header `Authorization: Api-Key <key>`: the word `Api-Key`, one space, then the key "
                "(`<prefix>.<secret>`). A generated client takes it as the token with the prefix `Api-Key`. "
                "Create a key with `manage.py create_api_key NAME` or in the admin (API clients)."
            ),
        }


class StaffSessionScheme(OpenApiAuthenticationExtension):
    target_class = "loyalty.api.authentication.StaffSessionAuthentication"
    name = "StaffSession"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": "sessionid"}
