"""The membership list and member page: search, inlines, actions, unclaimed cards."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from loyalty.admin import action_form_response, admin_actor
from loyalty.errors import DomainError
from loyalty.models import Program
from memberships import hooks, selectors, services, validation
from memberships.admin.actions import confirmation_digest
from memberships.admin.common import (
    EstimatedCountPaginator,
    MergeForm,
    ReasonForm,
    RemarkForm,
    SafeAddMixin,
    clean_with,
    report_outcome,
    sees_personal_data,
)
from memberships.admin.inlines import (
    AlternateIdInline,
    CardInline,
    NewAlternateIdInline,
    NewCardInline,
    NewRemarkInline,
    RemarkInline,
    ServiceInlinesMixin,
)
from memberships.models import EMAIL_HOLDING_STATUSES, Card, Membership
from memberships.services.common import PERSONAL_FIELDS


class UnclaimedCardsForm(forms.Form):
    card_numbers = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text="One card number per line (or separated by commas): at most 1,000.",
    )
    card_type = forms.ChoiceField(choices=Card.Type.choices, initial=Card.Type.PHYSICAL)
    channel = forms.CharField(required=False, max_length=40, help_text="Where the cards are handed out (a key).")

    def clean_card_numbers(self):
        raw = self.cleaned_data["card_numbers"].replace(",", "\n").splitlines()
        numbers = list(dict.fromkeys(number.strip() for number in raw if number.strip()))
        if len(numbers) > 1000:
            raise ValidationError("At most 1,000 cards at a time.")
        errors = []
        for number in numbers:
            try:
                validation.clean_card_number(number)
            except ValidationError as exc:
                errors.append(f"{number}: {exc.messages[0]}")
        if errors:
            raise ValidationError(errors)
        return numbers

    def clean_channel(self):
        try:
            return validation.clean_channel(self.cleaned_data["channel"])
        except ValidationError as exc:
            raise ValidationError(exc.messages) from exc


class MembershipAdminForm(forms.ModelForm):
    """Field rules as in the API (same cleaners); the service re-checks them on save."""

    marketing_consent_source_input = forms.CharField(
        required=False,
        max_length=100,
        label="Consent source",
        help_text="Where the member gave or withdrew the marketing consent (default: your user name).",
    )

    class Meta:
        model = Membership
        fields = ["membership_type", *PERSONAL_FIELDS, "language", "marketing_consent", "properties"]

    def clean(self):
        data = super().clean()
        errors: dict[str, Any] = {}
        for name, cleaner in validation.CLEANERS.items():
            if name in data and name in self.fields:
                data[name] = clean_with(cleaner, data[name], errors, name)
        if errors:
            raise ValidationError(errors)
        membership_type = data.get("membership_type")
        if membership_type is not None and not membership_type.active and "membership_type" in self.changed_data:
            self.add_error("membership_type", "This membership type takes no new members.")
        email = data.get("email")
        if email and "email" in self.changed_data and Program.current().unique_email:
            holders = Membership.objects.filter(email=email, status__in=EMAIL_HOLDING_STATUSES)
            if self.instance.pk:
                holders = holders.exclude(pk=self.instance.pk)
            if holders.exists():
                self.add_error("email", "Another membership already uses this e-mail address.")
        return data


# Memberships ----------------------------------------------------------------------------------


def _column_display(key: str, title: str):
    """A list_display entry showing one column another app filled in (get_changelist_instance)."""

    def show(obj: Membership) -> str:
        return getattr(obj, "member_columns", {}).get(key, "—")

    show.short_description = title  # type: ignore[attr-defined]
    show.__name__ = f"column_{key}"
    return show


@admin.register(Membership)
class MembershipAdmin(SafeAddMixin, ServiceInlinesMixin, admin.ModelAdmin):
    form = MembershipAdminForm
    change_form_template = "admin/memberships/membership/change_form.html"
    # With the apps' columns (points, purchases, spend, last purchase) this fits a 1,366-px screen.
    list_display = ["number", "full_name_column", "status", "tier"]
    list_filter = ["status", "tier", "membership_type"]
    list_select_related = ["membership_type", "tier"]
    search_fields = ["number"]  # shows the box; get_search_results does the real search
    search_help_text = (
        "An exact membership number, card number, alternate id or e-mail address, or the start of a name."
    )
    sortable_by = ["number"]
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    list_per_page = 50
    actions = [
        "cancel_selected",
        "merge_selected",
        "add_remark_to_selected",
        "block_selected",
        "unblock_selected",
        "reactivate_selected",
    ]
    inlines = [CardInline, NewCardInline, AlternateIdInline, NewAlternateIdInline, RemarkInline, NewRemarkInline]
    readonly_fields = [
        "number",
        "status",
        "tier",
        "legal_entity",
        "merged_into",
        "enrolled_at",
        "channel",
        "sponsor",
        "marketing_consent_at",
        "marketing_consent_source",
        "claimed_at",
        "blocked_at",
        "cancelled_at",
        "cancel_reason",
        "merged_at",
        "created_at",
        "updated_at",
    ]

    # List -------------------------------------------------------------------------------------

    @admin.display(description="Name and e-mail")
    def full_name_column(self, obj: Membership) -> str:
        if not obj.email:
            return obj.full_name or "—"
        return format_html('{}<br><span class="quiet">{}</span>', obj.full_name or "—", obj.email)

    def get_list_display(self, request):
        shown = list(self.list_display)
        if not sees_personal_data(request):
            shown = [name for name in shown if name != "full_name_column"]
        extra = [_column_display(key, title) for group in hooks.member_columns() for key, title in group.titles]
        return [*shown, *extra]

    def get_changelist_instance(self, request):
        """The other apps' columns (memberships.hooks.member_columns), read for the whole page at once."""
        changelist = super().get_changelist_instance(request)
        rows = list(changelist.result_list)
        ids = [row.pk for row in rows]
        values: dict[str, dict[int, str]] = {}
        for group in hooks.member_columns():
            values.update(group.values(ids) if ids else {})
        for row in rows:
            row.member_columns = {key: found.get(row.pk, "—") for key, found in values.items()}
        return changelist

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        return selectors.staff_search(queryset, term), False

    # Detail -----------------------------------------------------------------------------------

    def get_fieldsets(self, request, obj=None):
        membership = (None, {"fields": ["number", "status", "membership_type", "tier", "legal_entity", "merged_into"]})
        personal = (
            "Personal data",
            {
                "fields": [
                    "first_name",
                    "last_name",
                    "email",
                    "phone",
                    "birth_date",
                    "street",
                    "postal_code",
                    "city",
                    "country",
                ]
            },
        )
        closed = obj is not None and obj.status in ("cancelled", "merged")
        consent_fields = ["marketing_consent"] if closed else ["marketing_consent", "marketing_consent_source_input"]
        preferences = ("Preferences and consents", {"fields": ["language", *consent_fields, "properties"]})
        history = (
            "History",
            {
                "fields": [
                    "enrolled_at",
                    "channel",
                    "sponsor",
                    "marketing_consent_at",
                    "marketing_consent_source",
                    "claimed_at",
                    "blocked_at",
                    "cancelled_at",
                    "cancel_reason",
                    "merged_at",
                    "created_at",
                    "updated_at",
                ]
            },
        )
        if obj is None:
            membership = (None, {"fields": ["membership_type"]})
            return [membership, personal, preferences]
        sets = [membership]
        if sees_personal_data(request):
            sets.append(personal)
        return [*sets, preferences, history]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.status in ("cancelled", "merged"):
            editable = {"membership_type", "language", "marketing_consent", "properties", *PERSONAL_FIELDS}
            return [*self.readonly_fields, *sorted(editable)]
        if obj is not None and obj.status == "anonymous":
            return [*self.readonly_fields, *PERSONAL_FIELDS]
        return self.readonly_fields

    def get_inlines(self, request, obj):
        if obj is None:
            return []
        return self.inlines

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """The member page: a header with what the member has now (balances, tier progress) and tabs
        for what the other apps know of the member (statement, transactions, vouchers, history;
        memberships.hooks.member_panels) beside the member's own data."""
        membership = self.get_object(request, admin.utils.unquote(object_id))
        if membership is not None and self.has_view_or_change_permission(request, membership):
            header = [
                membership.full_name if sees_personal_data(request) else "",
                membership.number,
                membership.get_status_display(),
                membership.membership_type.name if membership.membership_type_id else "",
                membership.tier.name if membership.tier_id else "no tier",
            ]
            can_cancel = self.has_change_permission(request, membership) and membership.status not in (
                "cancelled",
                "merged",
            )
            panels = hooks.member_panels(membership, request)
            extra_context = {
                **(extra_context or {}),
                "cancel_url": reverse("admin:memberships_membership_cancel", args=[membership.pk])
                if can_cancel
                else "",
                "member_actions": [
                    (a.title, reverse("admin:memberships_membership_action", args=[membership.pk, a.key]))
                    for a in hooks.member_actions(request, membership)
                ],
                "member_header": " · ".join(part for part in header if part),
                "member_panels": panels,
                "header_panels": [(p, c) for p, c in panels if p.placement == "header"],
                "tab_panels": [(p, c) for p, c in panels if p.placement != "header"],
            }
        return super().change_view(request, object_id, form_url, extra_context)

    def response_change(self, request, obj):
        """ "Save and continue editing" comes back to the member data tab, where the change was made."""
        response = super().response_change(request, obj)
        if "_continue" in request.POST and response.status_code == 302:
            response["Location"] += "#member-data"
        return response

    def save_model(self, request, obj, form, change):
        actor = admin_actor(request)
        data = form.cleaned_data
        consent = data.get("marketing_consent") if "marketing_consent" in form.changed_data else None
        source = data.get("marketing_consent_source_input", "")
        try:
            if change:
                changes = {
                    name: data[name]
                    for name in form.changed_data
                    if name in (*PERSONAL_FIELDS, "language", "properties") and name in data
                }
                membership_type = data.get("membership_type") if "membership_type" in form.changed_data else None
                if not changes and membership_type is None and consent is None:
                    return  # only inline rows changed (a remark, a card): nothing to update here
                services.update_membership(
                    membership=obj,
                    actor=actor,
                    changes=changes,
                    membership_type=membership_type,
                    marketing_consent=consent,
                    consent_source=source,
                )
            else:
                membership = services.enroll_membership(
                    actor=actor,
                    membership_type=data.get("membership_type"),
                    marketing_consent=consent,
                    consent_source=source,
                    channel="admin",
                    **{name: data.get(name) or ("" if name != "birth_date" else None) for name in PERSONAL_FIELDS},
                    language=data.get("language", ""),
                    properties=data.get("properties") or {},
                )
                for field in Membership._meta.concrete_fields:
                    setattr(obj, field.attname, getattr(membership, field.attname))
        except DomainError as exc:
            self.message_user(request, exc.detail, level=messages.ERROR)

    def has_delete_permission(self, request, obj=None):
        return False  # memberships are cancelled, never deleted: their numbers are never reused

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    # Unclaimed cards -----------------------------------------------------------------------------

    def get_urls(self):
        urls = [
            path(
                "unclaimed-cards/",
                self.admin_site.admin_view(self.unclaimed_cards_view),
                name="memberships_membership_unclaimed_cards",
            ),
            path(
                "<path:object_id>/cancel/",
                self.admin_site.admin_view(self.cancel_view),
                name="memberships_membership_cancel",
            ),
            path(
                "<path:object_id>/do/<slug:action>/",
                self.admin_site.admin_view(self.member_action_view),
                name="memberships_membership_action",
            ),
        ]
        return urls + super().get_urls()

    def cancel_view(self, request, object_id: str):
        """Cancel one membership from its page: the confirmation says what it forfeits, in points."""
        membership = self.get_object(request, admin.utils.unquote(object_id))
        if membership is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_change_permission(request, membership):
            raise PermissionDenied
        page = reverse("admin:memberships_membership_change", args=[membership.pk])
        form = ReasonForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.cancel_membership(
                    membership=membership, reason=form.cleaned_data["reason"], actor=admin_actor(request)
                )
            except DomainError as exc:
                form.add_error(None, exc.detail)
            else:
                self.message_user(request, f"Cancelled {membership.number}.", level=messages.SUCCESS)
                return HttpResponseRedirect(page)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Cancel membership {membership.number}",
            "opts": self.opts,
            "original": membership,
            "form": form,
            "consequences": hooks.cancel_consequences([membership])[membership.pk],
            "back": page,
        }
        return TemplateResponse(request, "admin/memberships/membership/cancel.html", context)

    def member_action_view(self, request, object_id: str, action: str):
        """One action of the member page (memberships.hooks.MemberAction): its form, a confirmation in
        numbers when the action has consequences, then the service; back to the member page."""
        membership = self.get_object(request, admin.utils.unquote(object_id))
        if membership is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        act = hooks.member_action(action)
        if act is None:
            raise Http404(f"No action {action!r}.")
        if not act.allowed(request, membership):
            raise PermissionDenied
        page = reverse("admin:memberships_membership_change", args=[membership.pk])
        form = act.form(request.POST or None, membership=membership)
        confirm: list[str] = []
        digest = ""
        if request.method == "POST" and form.is_valid():
            digest = confirmation_digest(request.POST)
            try:
                confirm = act.preview(membership, form.cleaned_data)
                if not confirm or request.POST.get("confirmed") == digest:
                    message = act.run(membership, form.cleaned_data, admin_actor(request))
                    self.message_user(request, message, level=messages.SUCCESS)
                    return HttpResponseRedirect(page)
            except DomainError as exc:
                form.add_error(None, exc.detail)
                confirm = []
        context = {
            **self.admin_site.each_context(request),
            "title": f"{act.title}: {membership.number}",
            "action": act,
            "opts": self.opts,
            "original": membership,
            "form": form,
            "confirm": confirm,
            "digest": digest,
            "back": page,
        }
        return TemplateResponse(request, "admin/memberships/membership/action.html", context)

    def has_remark_permission(self, request, obj=None) -> bool:
        """Remarks need their own permission, not the right to change the member (support agents)."""
        return request.user.has_perm("memberships.add_remark")

    def unclaimed_cards_view(self, request):
        """Register cards handed out unregistered: each becomes an anonymous membership to claim."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = UnclaimedCardsForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            actor = admin_actor(request)
            done, failed = [], []
            for number in form.cleaned_data["card_numbers"]:
                try:
                    services.create_anonymous_membership(
                        card_number=number,
                        card_type=form.cleaned_data["card_type"],
                        channel=form.cleaned_data["channel"],
                        actor=actor,
                    )
                    done.append(number)
                except DomainError as exc:
                    failed.append(f"{number}: {exc.detail}")
            report_outcome(self, request, done, failed, "Registered")
            return HttpResponseRedirect(reverse("admin:memberships_membership_changelist") + "?status__exact=anonymous")
        context = {
            **self.admin_site.each_context(request),
            "title": "Register unclaimed cards",
            "opts": self.model._meta,
            "form": form,
        }
        return TemplateResponse(request, "admin/memberships/unclaimed_cards.html", context)

    # Actions ----------------------------------------------------------------------------------

    def _run_each(self, request, queryset, fn, verb: str) -> None:
        done, failed = [], []
        for membership in queryset:
            try:
                fn(membership)
                done.append(membership.number)
            except DomainError as exc:
                failed.append(f"{membership.number}: {exc.detail}")
        report_outcome(self, request, done, failed, verb)

    @admin.action(description="Cancel the selected memberships (asks for a reason)", permissions=["change"])
    def cancel_selected(self, request, queryset):
        form = ReasonForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            actor = admin_actor(request)
            reason = form.cleaned_data["reason"]
            self._run_each(
                request,
                queryset,
                lambda m: services.cancel_membership(membership=m, reason=reason, actor=actor),
                "Cancelled",
            )
            return None
        return action_form_response(
            self,
            request,
            queryset,
            action="cancel_selected",
            title="Cancel memberships",
            form=form,
            submit="Cancel these memberships",
            consequences=hooks.cancel_consequences(list(queryset[:50])),
        )

    @admin.action(description="Merge the selected memberships into another one", permissions=["change"])
    def merge_selected(self, request, queryset):
        form = MergeForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            actor = admin_actor(request)
            target = form.cleaned_data["target"]
            self._run_each(
                request,
                queryset,
                lambda m: services.merge_memberships(source=m, target=target, actor=actor),
                f"Merged into {target.number}",
            )
            return None
        return action_form_response(
            self,
            request,
            queryset,
            action="merge_selected",
            title="Merge memberships",
            form=form,
            submit="Merge",
        )

    @admin.action(description="Add a remark to the selected memberships", permissions=["remark"])
    def add_remark_to_selected(self, request, queryset):
        form = RemarkForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            actor = admin_actor(request)
            text = form.cleaned_data["text"]
            self._run_each(
                request, queryset, lambda m: services.add_remark(membership=m, text=text, actor=actor), "Remark added"
            )
            return None
        return action_form_response(
            self, request, queryset, action="add_remark_to_selected", title="Add a remark", form=form, submit="Add"
        )

    @admin.action(description="Block the selected memberships", permissions=["change"])
    def block_selected(self, request, queryset):
        actor = admin_actor(request)
        self._run_each(request, queryset, lambda m: services.block_membership(membership=m, actor=actor), "Blocked")

    @admin.action(description="Unblock the selected memberships", permissions=["change"])
    def unblock_selected(self, request, queryset):
        actor = admin_actor(request)
        self._run_each(request, queryset, lambda m: services.unblock_membership(membership=m, actor=actor), "Unblocked")

    @admin.action(description="Reactivate the selected cancelled memberships", permissions=["change"])
    def reactivate_selected(self, request, queryset):
        actor = admin_actor(request)
        self._run_each(
            request, queryset, lambda m: services.reactivate_membership(membership=m, actor=actor), "Reactivated"
        )
