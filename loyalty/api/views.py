"""The base every API view of every app derives from: actor, idempotency, strict input."""

import functools

from rest_framework import generics, viewsets
from rest_framework.views import APIView

from loyalty.actors import Actor
from loyalty.api.filters import check_query
from loyalty.api.idempotency import HEADER, run_idempotent


class LoyaltyApiMixin:
    """Sets request.actor for the services, refuses repeated and empty query parameters (once
    authenticated), and makes every POST honour Idempotency-Key."""

    def perform_authentication(self, request):
        """Rate limits apply right after authentication, before the permission checks (DRF checks them
        last): a call with a bad key or none is counted against its address, so guessing keys is limited."""
        try:
            request.user  # noqa: B018 (authenticates)
        finally:
            self.check_throttles(request)

    def check_throttles(self, request):
        if getattr(request, "_throttles_checked", False):
            return
        request._throttles_checked = True
        super().check_throttles(request)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        check_query(request, self)
        request.actor = Actor.from_request(request)
        if request.method == "POST" and HEADER in request.headers and hasattr(self, "post"):
            self.post = functools.partial(run_idempotent, self.post)


class ApiView(LoyaltyApiMixin, APIView):
    pass


class ApiGenericView(LoyaltyApiMixin, generics.GenericAPIView):
    pass


class ApiViewSet(LoyaltyApiMixin, viewsets.ViewSet):
    pass


class ApiGenericViewSet(LoyaltyApiMixin, viewsets.GenericViewSet):
    pass
