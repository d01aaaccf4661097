"""The promotion screens: a structured editor (no JSON but the condition), the try-it panel, the
backtest and the version history. Saves go through promotions.services.save_promotion, so every
change is versioned, audited and announced as through the API; try-it and backtest write nothing.
Promotions are never deleted (booked rewards name their versions): deactivate them instead."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

from django.contrib import admin, messages
from django.contrib.admin.options import csrf_protect_m
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import urlencode

from loyalty.admin import admin_actor
from loyalty.errors import DomainError
from loyalty.models import Program
from loyalty.rollups import PERIODS, period_of, program_zone
from promotions import backtest as backtest_module
from promotions.admin_forms import (
    BacktestForm,
    EffectFormSet,
    PerMemberCapFormSet,
    PromotionForm,
    SampleForm,
    SampleLineFormSet,
    apply_errors,
    build_definition,
    condition_help,
    effects_in_words,
    effects_initial,
    per_member_initial,
    sample_items,
)
from promotions.backtest import (
    Sample,
    backtest,
    check_baskets,
    points_of,
    result_from_json,
    sample_to_json,
    try_sample,
)
from promotions.builder import builder_config, product_choices
from promotions.context import check_items
from promotions.errors import ItemsDoNotAddUp
from promotions.explain import definition_changes, present, stacking_warnings
from promotions.hooks import past_transaction_count
from promotions.lifecycle import STATUSES, caps_in_words, scope_in_words, status_of
from promotions.models import BacktestRun, Promotion
from promotions.results import backtest_report, promotion_results
from promotions.selectors import budget_in_words, dates_in_words, list_context, scope_names
from promotions.services import (
    InvalidPromotion,
    approve_activation,
    clone_promotion,
    decline_activation,
    delete_test_basket,
    save_promotion,
    save_test_basket,
)
from promotions.tasks import run_backtest as run_backtest_task

FIELDSETS = [
    (None, ["key", "name", "description", "active"], ""),
    (
        "Validity",
        ["valid_from", "valid_until", "weekdays", "hours_from", "hours_to", "time_zone"],
        "When the promotion applies. Dates and hours are read in the time zone below.",
    ),
    ("Scope", ["sponsors", "channels", "tiers", "membership_types"], "Who and where; nothing ticked means all."),
    ("Points", ["point_type", "maturation_days", "expires_at"], ""),
    ("Caps", ["cap_per_transaction", "cap_budget"], "Per-member caps are in the table below."),
    ("Order", ["priority", "stacking", "base"], ""),
]


class StatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return list(STATUSES.items())

    def queryset(self, request, queryset):
        if self.value() not in STATUSES:
            return queryset
        now = timezone.now()
        wanted = [
            p.pk
            for p in queryset.select_related("current_version")
            if status_of(active=p.active, activated_at=p.activated_at, definition=p.definition, now=now) == self.value()
        ]
        return queryset.filter(pk__in=wanted)


class ScopeFilter(admin.SimpleListFilter):
    """Promotions that can apply where the key is chosen: those naming it and those not narrowed at all."""

    scope_field = ""

    def lookups(self, request, model_admin):
        return list(scope_names()[self.scope_field].items())

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        wanted = [
            p.pk
            for p in queryset.select_related("current_version")
            if not (p.definition.get("scope") or {}).get(self.scope_field)
            or self.value() in p.definition["scope"][self.scope_field]
        ]
        return queryset.filter(pk__in=wanted)


class ChannelFilter(ScopeFilter):
    title = "channel"
    parameter_name = "channel"
    scope_field = "channels"


class SponsorFilter(ScopeFilter):
    title = "sponsor"
    parameter_name = "sponsor"
    scope_field = "sponsors"


class PromotionChangeList(ChangeList):
    """The promotion list: what a page's columns need (names, results of the last 30 days, budgets), read
    once per page."""

    def get_results(self, request):
        super().get_results(request)
        context = list_context(timezone.now())
        for promotion in self.result_list:
            promotion.list_context = context


@admin.register(Promotion)
class PromotionAdmin(admin.ModelAdmin):
    list_display = [
        "name_column",
        "status_column",
        "dates_column",
        "scope_column",
        "given_column",
        "budget_column",
        "caps_column",
        "version_column",
    ]
    list_filter = [StatusFilter, ChannelFilter, SponsorFilter]
    search_fields = ["key", "name"]
    list_select_related = ["current_version", "budget"]
    actions = ["activate", "deactivate", "clone"]

    def get_changelist(self, request, **kwargs):
        return PromotionChangeList

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, {"title": "Promotions", **(extra_context or {})})

    # The list ------------------------------------------------------------------------------

    @admin.display(description="promotion", ordering="name")
    def name_column(self, obj: Promotion):
        return format_html('{}<br><span class="quiet">{}</span>', obj.name, obj.key)

    @admin.display(description="status")
    def status_column(self, obj: Promotion) -> str:
        status = status_of(
            active=obj.active, activated_at=obj.activated_at, definition=obj.definition, now=timezone.now()
        )
        return STATUSES[status]

    @admin.display(description="valid")
    def dates_column(self, obj: Promotion) -> str:
        return dates_in_words(obj.definition, obj.list_context["zone"])

    @admin.display(description="scope")
    def scope_column(self, obj: Promotion) -> str:
        return scope_in_words(obj.definition, obj.list_context["names"])

    @admin.display(description="given, last 30 days")
    def given_column(self, obj: Promotion) -> str:
        return obj.list_context["given"].get(obj.key, "—")

    @admin.display(description="budget used")
    def budget_column(self, obj: Promotion) -> str:
        return budget_in_words(obj, obj.list_context["precisions"])

    @admin.display(description="caps")
    def caps_column(self, obj: Promotion) -> str:
        return caps_in_words(obj.definition)

    @admin.display(description="version")
    def version_column(self, obj: Promotion) -> str:
        return f"v{obj.current_version.number}" if obj.current_version else "-"

    @admin.action(description="Copy the selected promotions (as drafts)", permissions=["add"])
    def clone(self, request, queryset):
        copies = [
            clone_promotion(promotion, actor=admin_actor(request))
            for promotion in queryset.select_related("current_version")
            if promotion.current_version is not None
        ]
        if len(copies) == 1:
            self.message_user(request, f"Copied as {copies[0].key}, a draft: change it and activate it when ready.")
            return HttpResponseRedirect(reverse("admin:promotions_promotion_change", args=[copies[0].pk]))
        self.message_user(request, f"Copied {len(copies)} promotion(s) as drafts.", level=messages.SUCCESS)
        return None

    def has_delete_permission(self, request, obj=None):
        return False  # booked rewards name the versions: deactivate instead

    def _set_active(self, request, queryset, active: bool) -> None:
        done = asked = 0
        for promotion in queryset.select_related("current_version"):
            if promotion.active == active or promotion.current_version is None:
                continue
            try:
                saved = save_promotion(
                    key=promotion.key,
                    name=promotion.name,
                    description=promotion.description,
                    definition=promotion.definition,
                    active=active,
                    actor=admin_actor(request),
                )
            except DomainError as exc:
                self.message_user(request, f"{promotion.key}: {exc.detail}", level=messages.ERROR)
            else:
                if saved.active == active:
                    done += 1
                else:
                    asked += 1
        verb = "Activated" if active else "Deactivated"
        self.message_user(request, f"{verb} {done} promotion(s).", level=messages.SUCCESS)
        if asked:
            self.message_user(
                request,
                f"Asked to activate {asked} promotion(s): a second person approves each on its page.",
                level=messages.WARNING,
            )

    @admin.action(description="Activate the selected promotions", permissions=["change"])
    def activate(self, request, queryset):
        self._set_active(request, queryset, True)

    @admin.action(description="Deactivate the selected promotions", permissions=["change"])
    def deactivate(self, request, queryset):
        self._set_active(request, queryset, False)

    # The editor ----------------------------------------------------------------------------

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("products/", view(self.products_view), name="promotions_promotion_products"),
            path("<path:object_id>/try/", view(self.try_view), name="promotions_promotion_try"),
            path("<path:object_id>/backtest/", view(self.backtest_view), name="promotions_promotion_backtest"),
            path("<path:object_id>/results/", view(self.results_view), name="promotions_promotion_results"),
            path("<path:object_id>/approval/", view(self.approval_view), name="promotions_promotion_approval"),
            path(
                "<path:object_id>/baskets/<int:basket_id>/delete/",
                view(self.delete_basket_view),
                name="promotions_promotion_delete_basket",
            ),
            *super().get_urls(),
        ]

    def products_view(self, request):
        """The condition builder's product search: products of the catalog whose key or name contains the
        text, one entry per product key (rules name a product by its key in every channel)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        return JsonResponse(
            {"products": product_choices(request.GET.get("q", ""), channel=request.GET.get("channel", "")[:40])}
        )

    def _promotion(self, request, object_id: str) -> Promotion:
        promotion = self.get_object(request, unquote(object_id))
        if promotion is None:
            raise Http404("No such promotion.")
        if not self.has_view_or_change_permission(request, promotion):
            raise PermissionDenied
        return promotion

    @csrf_protect_m
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        """The editor: a form and two formsets build the definition; save_promotion stores it."""
        promotion = None
        if object_id is not None:
            promotion = self.get_object(request, unquote(object_id))
            if promotion is None:
                return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
            if not self.has_view_or_change_permission(request, promotion):
                raise PermissionDenied
            can_save = self.has_change_permission(request, promotion)
        else:
            if not self.has_add_permission(request):
                raise PermissionDenied
            can_save = True
        definition = promotion.definition if promotion else {}
        condition_errors: list[dict[str, str]] = []
        data = request.POST if request.method == "POST" and can_save else None
        form = PromotionForm(data, instance=promotion)
        effects = EffectFormSet(data, prefix="effects", initial=effects_initial(definition))
        per_member = PerMemberCapFormSet(data, prefix="caps", initial=per_member_initial(definition))
        if data is not None and all([form.is_valid(), effects.is_valid(), per_member.is_valid()]):
            try:
                saved = save_promotion(
                    key=promotion.key if promotion else form.cleaned_data["key"],
                    name=form.cleaned_data["name"],
                    description=form.cleaned_data.get("description", ""),
                    active=form.cleaned_data.get("active", False),
                    definition=build_definition(form, effects, per_member),
                    actor=admin_actor(request),
                )
            except InvalidPromotion as exc:
                apply_errors(exc.errors or [{"field": "", "message": exc.detail}], form, effects, per_member)
                condition_errors = [e for e in exc.errors or [] if e.get("field", "").startswith("condition")]
            except DomainError as exc:
                form.add_error(None, exc.detail)
            else:
                return self._saved(request, saved, adding=promotion is None)
        for row, words in zip(effects.forms, effects_in_words(definition), strict=False):
            row.in_words = words  # the stored effect of this row, in words with an example
        if not can_save:
            for row in [form, *effects.forms, *per_member.forms]:
                for field in row.fields.values():
                    field.disabled = True
        context = {
            **self.admin_site.each_context(request),
            **(extra_context or {}),
            "title": f"Promotion {promotion.key}" if promotion else "Add a promotion",
            "opts": self.opts,
            "original": promotion,
            "form": form,
            "fieldsets": [
                (title, [form[name] for name in names if name in form.fields], text) for title, names, text in FIELDSETS
            ],
            "effects": effects,
            "per_member": per_member,
            "help": condition_help(),
            "builder": builder_config(Program.current().currency, condition_errors),
            "versions": self._versions(promotion),
            "baskets": check_baskets(promotion) if promotion else [],
            "approval": self._approval(request, promotion),
            "can_save": can_save,
            "has_errors": bool(form.errors or effects.total_error_count() or per_member.total_error_count()),
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "admin/promotions/promotion/editor.html", context)

    def _approval(self, request, promotion: Promotion | None) -> dict | None:
        """An activation waiting for a second person: who asked when, and whether this user may approve."""
        if promotion is None or promotion.approval_requested_at is None:
            return None
        asked_by = promotion.approval_requested_by
        return {
            "asked_by": asked_by.get_username() if asked_by else "someone no longer here",
            "asked_at": promotion.approval_requested_at,
            "may_approve": self.has_change_permission(request, promotion)
            and (asked_by is None or asked_by.pk != request.user.pk),
        }

    def _versions(self, promotion: Promotion | None) -> list[dict]:
        if promotion is None:
            return []
        versions = list(promotion.versions.order_by("number"))
        shown = []
        for before, v in zip([None, *versions], versions, strict=False):
            shown.append(
                {
                    "number": v.number,
                    "created_at": v.created_at,
                    "created_by": v.created_by,
                    "changes": definition_changes(before.definition if before else None, v.definition)
                    if before
                    else [],
                    "definition": json.dumps(v.definition, indent=2),
                    "current": v.pk == promotion.current_version_id,
                }
            )
        return shown[::-1]  # newest first

    def _saved(self, request, promotion: Promotion, *, adding: bool):
        version = promotion.current_version.number
        if adding:
            self.log_addition(request, promotion, [{"added": {}}])
        else:
            self.log_change(request, promotion, [{"changed": {"fields": ["definition"]}}])
        self.message_user(request, f"Saved {promotion.key} (version {version}).", level=messages.SUCCESS)
        if promotion.approval_requested_at is not None and not promotion.active:
            self.message_user(
                request,
                "Activation asked for: the program needs a second person's approval, so it stays inactive "
                "until someone else approves it on this page.",
                level=messages.WARNING,
            )
        if "_continue" in request.POST:
            return HttpResponseRedirect(reverse("admin:promotions_promotion_change", args=[promotion.pk]))
        return HttpResponseRedirect(reverse("admin:promotions_promotion_changelist"))

    # Try it and backtest -------------------------------------------------------------------

    def try_view(self, request, object_id: str):
        """A sample transaction against this promotion's current version and every other live promotion, as
        POST /tx would evaluate it, with a warning where it stacks with another on the same lines. Writes
        nothing."""
        promotion = self._promotion(request, object_id)
        posted = request.method == "POST"
        form = SampleForm(request.POST if posted else None)
        lines = SampleLineFormSet(request.POST if posted else None, prefix="lines")
        answer = None
        if posted and form.is_valid() and lines.is_valid():
            items = sample_items(lines)
            if not items:
                form.add_error(None, "Give at least one line.")
            else:
                try:
                    check_items(sum((i.amount for i in items), Decimal(0)), items)
                    sample = Sample(
                        channel=form.cleaned_data["channel"].key,
                        occurred_at=form.moment(),
                        items=items,
                        membership_key=form.cleaned_data["membership"].strip(),
                        payment_method=form.cleaned_data["payment_method"],
                        properties=form.cleaned_data["properties"],
                        member=form.described_member(),
                    )
                    result = try_sample(promotion, sample)
                except ItemsDoNotAddUp as exc:
                    for error in exc.errors:
                        form.add_error(None, error["message"])
                except DomainError as exc:
                    form.add_error(None, exc.detail)
                else:
                    names = dict(Promotion.objects.values_list("key", "name"))
                    answer = {
                        **present(result.evaluation, result.show),
                        "member": result.membership_number
                        or ("the member described" if sample.member else "anonymous"),
                        "unknown": result.unknown_products,
                        "points": [
                            f"{result.show(a, pt)} {pt}" for pt, a in sorted(result.evaluation.points().items())
                        ],
                        "stacking": stacking_warnings(result.evaluation.rewards, promotion.key, names),
                    }
                    for row in [*answer["rewards"], *answer["not_applied"]]:
                        row["name"] = names.get(row["promotion"], row["promotion"])
                    if "_save_basket" in request.POST and self.has_change_permission(request, promotion):
                        try:
                            save_test_basket(
                                promotion=promotion,
                                name=request.POST.get("basket_name", ""),
                                sample=sample_to_json(sample),
                                expected=points_of(result),
                                actor=admin_actor(request),
                            )
                        except DomainError as exc:
                            form.add_error(None, exc.detail)
                        else:
                            self.message_user(
                                request,
                                "Saved as a test basket: the promotion's page runs it again and says whether it "
                                "still earns the same.",
                                level=messages.SUCCESS,
                            )
        context = {
            **self.admin_site.each_context(request),
            "title": f"Try {promotion.key}",
            "opts": self.opts,
            "original": promotion,
            "form": form,
            "lines": lines,
            "answer": answer,
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "admin/promotions/promotion/try.html", context)

    def delete_basket_view(self, request, object_id: str, basket_id: int):
        promotion = self._promotion(request, object_id)
        if request.method != "POST" or not self.has_change_permission(request, promotion):
            raise PermissionDenied
        delete_test_basket(promotion=promotion, basket_id=basket_id, actor=admin_actor(request))
        self.message_user(request, "The test basket is deleted.")
        return HttpResponseRedirect(reverse("admin:promotions_promotion_change", args=[promotion.pk]) + "#baskets")

    def approval_view(self, request, object_id: str):
        """Two-person approval: another person approves (activates) or declines the activation asked for."""
        promotion = self._promotion(request, object_id)
        if request.method != "POST" or not self.has_change_permission(request, promotion):
            raise PermissionDenied
        try:
            if "_approve" in request.POST:
                approve_activation(promotion=promotion, actor=admin_actor(request))
                self.message_user(request, f"Approved: {promotion.name} is active.", level=messages.SUCCESS)
            else:
                decline_activation(
                    promotion=promotion, actor=admin_actor(request), reason=request.POST.get("reason", "")[:200]
                )
                self.message_user(request, f"Declined: {promotion.name} stays inactive.", level=messages.SUCCESS)
        except DomainError as exc:
            self.message_user(request, exc.detail, level=messages.ERROR)
        return HttpResponseRedirect(reverse("admin:promotions_promotion_change", args=[promotion.pk]))

    def results_view(self, request, object_id: str):
        """What the promotion gave over a period, from the booked rewards."""
        promotion = self._promotion(request, object_id)
        period = period_of(request.GET.get("period", ""), timezone.now(), program_zone())
        context = {
            **self.admin_site.each_context(request),
            "title": f"Results of {promotion.name}",
            "opts": self.opts,
            "original": promotion,
            "period": period,
            "periods": [(key, label) for key, label in PERIODS.items() if key != "7d"],
            "results": promotion_results(promotion, period),
        }
        return TemplateResponse(request, "admin/promotions/promotion/results.html", context)

    def backtest_view(self, request, object_id: str):
        """The current definition over the stored transactions of the last days. Writes nothing but, for a
        window of many purchases, the run that a worker carries out while the page shows its progress."""
        promotion = self._promotion(request, object_id)
        form = BacktestForm(request.GET if "days" in request.GET else None)
        run = promotion.backtest_runs.filter(pk=request.GET.get("run") or 0).first()
        result = None
        if run is not None and run.result:
            result = result_from_json(run.result)
        elif run is None and form.is_valid():
            days, now = form.cleaned_data["days"], timezone.now()
            expected = past_transaction_count(now - timedelta(days=days), now)
            if expected > backtest_module.INLINE_LIMIT:
                run = BacktestRun.objects.create(
                    promotion=promotion, days=days, until=now, expected=expected, created_by=admin_actor(request).label
                )
                transaction.on_commit(lambda: run_backtest_task.delay(run.pk))
                url = reverse("admin:promotions_promotion_backtest", args=[promotion.pk])
                return HttpResponseRedirect(f"{url}?{urlencode({'run': run.pk})}")
            result = backtest(promotion, days=days, now=now)
        report = backtest_report(result) if result is not None else None
        context = {
            **self.admin_site.each_context(request),
            "title": f"Backtest {promotion.key}",
            "opts": self.opts,
            "original": promotion,
            "form": form,
            "result": result,
            "report": report,
            "run": run,
            "percent": min(100, round(100 * run.scanned / run.expected)) if run and run.expected else 0,
        }
        return TemplateResponse(request, "admin/promotions/promotion/backtest.html", context)
