"""The admin's first page: the dashboard. Thin: it reads the choices, asks the selectors, presents."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from backoffice.presenters import present
from backoffice.selectors import PERIODS, dashboard_choices, figures, period_of
from loyalty.rollups import program_zone
from webhooks.selectors import disabled_endpoints


def dashboard(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    period = period_of(request.GET.get("period", ""), now, program_zone())
    sponsors, point_types = dashboard_choices()
    sponsor = next((s for s in sponsors if s.key == request.GET.get("sponsor")), None)
    point_type = next((p for p in point_types if p.key == request.GET.get("point_type")), None)
    point_type = point_type or (point_types[0] if point_types else None)
    context: dict[str, Any] = {
        **admin.site.each_context(request),
        "title": "Dashboard",
        "period": period,
        "periods": PERIODS.items(),
        "sponsors": sponsors,
        "sponsor": sponsor,
        "point_types": point_types,
        "point_type": point_type,
    }
    context["sees_figures"] = request.user.has_perm("ledger.view_liability")
    context["disabled_webhooks"] = disabled_endpoints()
    if point_type is not None and context["sees_figures"]:
        context.update(present(figures(period, point_type, sponsor, now)))
    return TemplateResponse(request, "admin/backoffice/dashboard.html", context)
