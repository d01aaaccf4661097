"""Shared parts of the memberships admin: the no-count paginator, action pages, small forms."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import connection
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.functional import cached_property

from loyalty.errors import DomainError
from memberships import selectors

PERSONAL_PERMISSION = "memberships.view_personal_data"
ESTIMATE_ABOVE = 10_000


def sees_personal_data(request) -> bool:
    return request.user.has_perm(PERSONAL_PERMISSION)


class EstimatedCountPaginator(Paginator):
    """The unfiltered list of a big table shows PostgreSQL's row estimate instead of counting
    every row; a filtered or searched list (usually small) is counted exactly."""

    @cached_property
    def count(self) -> int:
        query = getattr(self.object_list, "query", None)
        if connection.vendor == "postgresql" and query is not None and not query.where:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                    [self.object_list.model._meta.db_table],
                )
                row = cursor.fetchone()
            if row and row[0] > ESTIMATE_ABOVE:
                return int(row[0])
        return super().count


class MemberKeySearchMixin:
    """For lists of a member's rows (bookings, transactions): the search box also finds the rows of the
    member a number, card, alternate id or e-mail address names, merged memberships included."""

    def get_search_results(self, request, queryset, search_term):
        found, duplicates = super().get_search_results(request, queryset, search_term)
        members = selectors.member_ids(search_term)
        return (found | queryset.filter(membership_id__in=members) if members else found), duplicates


def clean_with(cleaner, value, field_errors: dict[str, Any], name: str):
    try:
        return cleaner(value)
    except ValidationError as exc:
        field_errors[name] = exc.messages
        return value


def report_outcome(modeladmin: admin.ModelAdmin, request, done: list[str], failed: list[str], verb: str) -> None:
    if done:
        modeladmin.message_user(request, f"{verb}: {', '.join(done)}.", level=messages.SUCCESS)
    for message in failed:
        modeladmin.message_user(request, message, level=messages.ERROR)


# Forms ----------------------------------------------------------------------------------------


class ReasonForm(forms.Form):
    reason = forms.CharField(
        max_length=500, widget=forms.Textarea(attrs={"rows": 3}), help_text="Kept in the audit log."
    )


class RemarkForm(forms.Form):
    text = forms.CharField(max_length=4000, widget=forms.Textarea(attrs={"rows": 4}))


class MergeForm(forms.Form):
    target = forms.CharField(
        max_length=100,
        label="Merge into",
        help_text="The surviving membership: its number, an active card or an alternate id.",
    )

    def clean_target(self):
        try:
            return selectors.resolve_membership(self.cleaned_data["target"], follow_merges=False)
        except DomainError as exc:
            raise ValidationError(exc.detail) from exc


class SafeAddMixin:
    """When a service refuses an addition after the form was valid (a race), the refusal is shown
    as a message and the admin goes back to the list instead of failing on an object without id."""

    def log_addition(self, request, obj, message):
        return super().log_addition(request, obj, message) if obj.pk else None

    def response_add(self, request, obj, post_url_continue=None):
        if obj.pk is None:
            return HttpResponseRedirect(reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_changelist"))
        return super().response_add(request, obj, post_url_continue)
