"""Scopes: GET needs `read`, other methods `write`; a view may name its own scope."""

from rest_framework import permissions

from loyalty.errors import GetNeedsApiKey
from loyalty.models.clients import Scope


class InsufficientScope(permissions.exceptions.PermissionDenied):
    default_code = "insufficient_scope"


def required_scope(request, view) -> str:
    scope = getattr(view, "required_scope", None)
    if scope:
        return scope
    return Scope.READ if request.method in permissions.SAFE_METHODS else Scope.WRITE


class HasScope(permissions.BasePermission):
    def has_permission(self, request, view):
        user = request.user
        if not getattr(user, "is_authenticated", False):
            return False
        client = getattr(request._request, "api_client", None)
        if client is None:
            return bool(user.is_staff)
        scope = required_scope(request, view)
        if not client.has_scope(scope):
            raise InsufficientScope(f"This API key lacks the '{scope}' scope.")
        return True


class IsPrincipal(permissions.BasePermission):
    """Any authenticated client or staff user (the schema and docs)."""

    def has_permission(self, request, view):
        user = request.user
        if getattr(request._request, "api_client", None) is not None:
            return True
        return bool(getattr(user, "is_authenticated", False) and user.is_staff)


class ApiKeyForStateChangingGet(permissions.BasePermission):
    """For views whose GET changes state (the import controls): a GET must come with an API key. A session
    cookie rides along on a cross-site link, and a GET is not CSRF-checked, so sessions must use POST."""

    def has_permission(self, request, view):
        if request.method == "GET" and getattr(request._request, "api_client", None) is None:
            raise GetNeedsApiKey()
        return True
