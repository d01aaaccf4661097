from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)

from loyalty.api import docs
from loyalty.api.errors import json_page_not_found

handler400 = "loyalty.api.errors.json_bad_request"
handler404 = "loyalty.api.errors.json_page_not_found"
handler500 = "loyalty.api.errors.json_server_error"

api_v1 = [
    path("", include("loyalty.urls")),
    path("", include("memberships.urls")),
    path("", include("ledger.urls")),
    path("", include("vouchers.urls")),
    path("", include("promotions.urls")),
    path("", include("transactions.urls")),
    path("", include("imports.urls")),
    path("", include("webhooks.urls")),
]

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    # The transactions screens were under the `loyalty` app until transactions/ became an app of its own.
    re_path(
        r"^admin/loyalty/transaction/(?P<rest>.*)$",
        RedirectView.as_view(url="/admin/transactions/transaction/%(rest)s", query_string=True, permanent=True),
    ),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path(
        "api/docs/",
        staff_member_required(docs.swagger_ui(SpectacularSwaggerSplitView.as_view(url_name="schema"))),
        name="docs",
    ),
    path(
        "api/redoc/",
        staff_member_required(docs.redoc(SpectacularRedocView.as_view(url_name="schema"))),
        name="redoc",
    ),
    # Unknown API paths answer in the error shape, in DEBUG too.
    re_path(r"^api/", json_page_not_found),
]
