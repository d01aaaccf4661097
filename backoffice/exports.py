"""Exports from the admin: a form per export template with the same filters as GET /exports/{template}
(sponsors, point types, tiers, channels chosen by name; days in the program's time zone), checked by the
API's own query serializer. A small export downloads at once from the API endpoint; a large one is
queued as a background job (the same service as ?async=true) and this page shows it until it is ready."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from rest_framework import serializers

from imports import conf
from imports.errors import UnknownExportTemplate
from imports.exports import FORMATS, ExportQuery, ExportTemplate, filters_of, get_template, queue_export
from imports.models import ExportJob
from ledger.models import PointType
from loyalty.actors import Actor
from loyalty.api.errors import camel
from loyalty.models import MembershipType, Sponsor, Tier
from loyalty.readable import label
from loyalty.rollups import day_start, program_zone
from promotions.models import Channel

FORMAT_NAMES = {"csv": "CSV", "xlsx": "Excel", "json": "JSON lines"}
# Filters that name a configured thing by its key: chosen from a list of names.
CHOICES_BY_NAME = {
    "sponsor": lambda: Sponsor.objects.order_by("name").values_list("key", "name"),
    "point_type": lambda: PointType.objects.order_by("name").values_list("key", "name"),
    "tier": lambda: Tier.objects.order_by("rank").values_list("key", "name"),
    "membership_type": lambda: MembershipType.objects.order_by("name").values_list("key", "name"),
    "channel": lambda: Channel.objects.order_by("name").values_list("key", "name"),
}
DAY_LABELS = {"since": "From (day, included)", "until": "To (day, included)"}


DAY_HELP = {
    "since": "{what} on or after this day (the program's time zone). Empty: from the beginning.",
    "until": "{what} on or before this day (the program's time zone). Empty: up to now.",
}


def day_help(name: str, filters: dict[str, serializers.Field]) -> str:
    """The days' help in the form's terms: the API's "Booked at or after." says what is counted
    ("Booked"); its "before" (an exclusive instant) would contradict the form's included last day."""
    since = str(getattr(filters.get("since"), "help_text", "") or "")
    what = since.split(" at or after", 1)[0] if " at or after" in since else "Counted"
    return DAY_HELP.get(name, "A day in the program's time zone.").format(what=what)


def sort_label(option: str) -> str:
    """An API sort option in words: "-createdAt" -> "Created at, newest first"."""
    name = label(option.lstrip("-")).capitalize()
    descending = option.startswith("-")
    if option.endswith("At") or option.endswith("Date"):
        return f"{name}, {'newest' if descending else 'oldest'} first"
    return f"{name}, {'Z to A' if descending else 'A to Z'}" if name != "Month" else name


def form_field(name: str, field: serializers.Field, filters: dict[str, serializers.Field]) -> forms.Field:
    """A Django form field for one of the template's API filters."""
    help_text = str(field.help_text or "")
    if name in CHOICES_BY_NAME:
        return forms.ChoiceField(
            choices=[("", "Any"), *CHOICES_BY_NAME[name]()], required=False, label=name.replace("_", " ").capitalize()
        )
    if isinstance(field, serializers.ChoiceField):
        return forms.ChoiceField(choices=[("", "Any"), *field.choices.items()], required=False, help_text=help_text)
    if isinstance(field, serializers.DateTimeField):
        return forms.DateField(
            required=False,
            label=DAY_LABELS.get(name, name.capitalize()),
            help_text=day_help(name, filters),
            widget=forms.DateInput(attrs={"type": "date"}),
        )
    if isinstance(field, serializers.IntegerField):
        return forms.IntegerField(
            required=False,
            min_value=field.min_value,
            max_value=field.max_value,
            initial=field.default,
            help_text=help_text,
        )
    if isinstance(field, serializers.BooleanField):
        return forms.BooleanField(required=False, help_text=help_text)
    return forms.CharField(required=False, max_length=getattr(field, "max_length", None) or 200, help_text=help_text)


def export_form(template: ExportTemplate, data: Any = None) -> forms.Form:
    filters = template.filter_fields()
    fields: dict[str, forms.Field] = {name: form_field(name, f, filters) for name, f in filters.items()}
    fields["format"] = forms.ChoiceField(choices=[(f, FORMAT_NAMES.get(f, f)) for f in FORMATS], initial="csv")
    if template.sort:
        fields["sort"] = forms.ChoiceField(
            choices=[(s, sort_label(s)) for s in template.sort],
            initial=template.default_sort,
            label="Sorted by",
            required=False,
        )
    return type("ExportForm", (forms.Form,), fields)(data)


def api_params(template: ExportTemplate, cleaned: dict[str, Any]) -> dict[str, str]:
    """The form's values as the API's query parameters: days become the program's midnights; the
    last day is included (until = the next day's start)."""
    tz = program_zone()
    params: dict[str, str] = {}
    for name, value in cleaned.items():
        if value in (None, "", False):
            continue
        if isinstance(value, date):
            day = value + timedelta(days=1) if name == "until" else value
            value = day_start(day, tz).isoformat()
        elif value is True:
            value = "true"
        params[name if name in ("format", "sort") else camel(name)] = str(value)
    return params


def export_view(request: HttpRequest, key: str) -> HttpResponse:
    if not request.user.has_perm("imports.view_importbatch"):
        raise PermissionDenied
    try:
        template = get_template(key)
    except UnknownExportTemplate as exc:
        raise Http404(str(exc)) from exc
    job = ExportJob.objects.filter(key=request.GET.get("job", ""), template=key).first()
    form = export_form(template, request.GET if "format" in request.GET else None)
    if job is None and form.is_bound and form.is_valid():
        params = api_params(template, form.cleaned_data)
        query = ExportQuery(data=params, template=template)
        if query.is_valid():
            rows = template.count(filters_of(query.validated_data)) if template.count else 0
            if rows <= conf.export_async_threshold():
                return HttpResponseRedirect(f"/api/v1/exports/{key}?{urlencode(params)}")
            job = queue_export(template=template, params=query.validated_data, actor=Actor.from_request(request))
            return HttpResponseRedirect(f"{request.path}?{urlencode({'job': job.key})}")
        for name, problems in query.errors.items():
            form.add_error(None, f"{name}: {' '.join(str(p) for p in problems)}")
    context: dict[str, Any] = {
        **admin.site.each_context(request),
        "title": f"Export {template.title.lower()}",
        "template": template,
        "form": form,
        "job": job,
        "columns": template.column_names(),
    }
    return TemplateResponse(request, "admin/backoffice/export.html", context)
