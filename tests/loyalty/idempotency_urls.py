"""A test-only endpoint that writes through a service, to exercise Idempotency-Key on its own."""

from django.urls import include, path
from rest_framework import serializers
from rest_framework.response import Response

from loyalty.api.serializers import StrictInputSerializer
from loyalty.api.views import ApiView
from loyalty.errors import Conflict
from loyalty.models import Sponsor
from loyalty.services import save_configuration


class SponsorInput(StrictInputSerializer):
    key = serializers.SlugField()
    name = serializers.CharField()
    refuse = serializers.BooleanField(default=False)


class CreateSponsorView(ApiView):
    def post(self, request):
        data = SponsorInput(data=request.data)
        data.is_valid(raise_exception=True)
        sponsor = save_configuration(
            Sponsor(key=data.validated_data["key"], name=data.validated_data["name"]), actor=request.actor
        )
        if data.validated_data["refuse"]:
            raise Conflict("Refused after writing.", code="refused")
        return Response({"sponsor_id": sponsor.pk, "sponsor_count": Sponsor.objects.count()}, status=201)


urlpatterns = [
    path("api/v1/test/sponsors", CreateSponsorView.as_view()),
    path("", include("config.urls")),
]
