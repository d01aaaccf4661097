"""Voucher types (with per-type counts and a bulk-issue screen), vouchers (search, revoke) and issue
batches (codes as CSV). Every change goes through vouchers.services or save_configuration."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from loyalty.admin import ReadOnlyAdmin, ServiceAdminMixin, admin_actor
from loyalty.csvfiles import csv_line_writer
from loyalty.errors import DomainError
from memberships.models import Membership
from memberships.selectors import resolve_membership
from vouchers import services
from vouchers.codes import normalize
from vouchers.models import Conversion, IssueBatch, Voucher, VoucherStatus, VoucherType

ADMIN_MAX_COUNT = 100_000


class IssueForm(forms.Form):
    count = forms.IntegerField(
        min_value=1,
        max_value=ADMIN_MAX_COUNT,
        initial=1,
        help_text=f"How many codes to make (up to {ADMIN_MAX_COUNT:,}). Vouchers bought with points: one at a time.",
    )
    recipient = forms.CharField(
        required=False,
        help_text="A membership number, card number or alternate id. Empty: anyone may use the codes.",
    )
    reference = forms.CharField(
        required=False, max_length=200, help_text="What they are for, e.g. 'spring mailing 2026'."
    )
    charge_points = forms.BooleanField(
        required=False,
        initial=False,
        help_text="For a type with a price in points: take the price from the recipient. Off: a gift.",
    )


class RevokeForm(forms.Form):
    reason = forms.CharField(
        max_length=500, widget=forms.Textarea(attrs={"rows": 2}), help_text="Kept in each voucher's history."
    )


def channel_choices() -> list[tuple[str, str]]:
    from promotions.models import Channel

    return [(key, f"{name} ({key})") for key, name in Channel.objects.order_by("name").values_list("key", "name")]


class VoucherTypeForm(forms.ModelForm):
    channels = forms.MultipleChoiceField(
        choices=channel_choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Tick the channels where the vouchers can be converted; none ticked: everywhere.",
    )

    class Meta:
        model = VoucherType
        fields = ["channels"]  # the admin adds the fields of its fieldsets


@admin.register(VoucherType)
class VoucherTypeAdmin(ServiceAdminMixin, admin.ModelAdmin):
    form = VoucherTypeForm
    list_display = [
        "key",
        "name",
        "kind",
        "active",
        "price",
        "issued_count",
        "converted_count",
        "revoked_count",
        "expired_count",
        "stock_left",
        "issue_link",
    ]
    list_filter = ["active", "kind", "sponsor"]
    search_fields = ["key", "name"]
    actions = ["issue_vouchers"]
    fieldsets = [
        (
            None,
            {
                "fields": ["key", "name", "description", "active", "sponsor"],
                "description": "A voucher type is the template every voucher of it is made from. Changing it later "
                "does not change vouchers already handed out: they keep their uses, validity and price.",
            },
        ),
        (
            "What it gives",
            {
                "fields": ["kind", "value", "currency", "product_key"],
                "description": "Amount off: value is the amount (currency: the program's unless you name one). "
                "Percent off: value is the percentage. Free product: name the product key. Custom: describe the "
                "benefit in the description.",
            },
        ),
        (
            "When it is valid",
            {
                "fields": ["valid_from", "valid_until", "valid_days"],
                "description": "A fixed window (from/until), a number of days from issue, or both: a voucher then "
                "ends at whichever comes first. After 'valid until' no new vouchers are issued.",
            },
        ),
        (
            "How often and how many",
            {
                "fields": ["uses_per_voucher", "limit_per_member", "stock"],
                "description": "Stock is the most vouchers that may be out at once in all (a revoked voucher gives "
                "its place back). The member limit counts every voucher a member got, used or not, except "
                "revoked ones.",
            },
        ),
        (
            "Rewards catalog",
            {
                "fields": ["price_points", "point_type"],
                "description": "Give a price to let members buy it with points: the points are redeemed when it is "
                "issued and refunded if it is revoked before use.",
            },
        ),
        (
            "Where it can be used",
            {
                "fields": ["channels"],
                "description": "Where members can use the vouchers. None ticked: in every channel.",
            },
        ),
        (
            "Codes",
            {
                "fields": ["code_length", "code_alphabet", "code_prefix", "code_suffix", "code_pattern"],
                "description": "Codes are random and unguessable. The default alphabet leaves out characters that "
                "look alike (0/O, 1/I/L). A pattern such as '####-####-####' shapes the code; '#' is a random "
                "character.",
                "classes": ["collapse"],
            },
        ),
    ]

    def get_queryset(self, request):
        running = Q(vouchers__valid_until__isnull=True) | Q(vouchers__valid_until__gt=timezone.now())
        issued = Q(vouchers__status=VoucherStatus.ISSUED)
        return (
            super()
            .get_queryset(request)
            .select_related("sponsor", "point_type", "stock_row")
            .annotate(
                n_issued=Count("vouchers"),
                n_converted=Count("vouchers", filter=Q(vouchers__status=VoucherStatus.CONVERTED)),
                n_revoked=Count("vouchers", filter=Q(vouchers__status=VoucherStatus.REVOKED)),
                n_expired=Count("vouchers", filter=Q(vouchers__status=VoucherStatus.EXPIRED) | (issued & ~running)),
            )
        )

    @admin.display(description="price")
    def price(self, obj):
        if obj.price_points is None:
            return "free"
        return f"{obj.price_points.normalize():f} {obj.point_type.key if obj.point_type else ''}".strip()

    @admin.display(description="issued", ordering="n_issued")
    def issued_count(self, obj):
        return obj.n_issued

    @admin.display(description="converted", ordering="n_converted")
    def converted_count(self, obj):
        return obj.n_converted

    @admin.display(description="revoked", ordering="n_revoked")
    def revoked_count(self, obj):
        return obj.n_revoked

    @admin.display(description="expired", ordering="n_expired")
    def expired_count(self, obj):
        return obj.n_expired

    @admin.display(description="stock left")
    def stock_left(self, obj):
        from vouchers.selectors import stock_left

        left = stock_left(obj)
        return "unlimited" if left is None else left

    @admin.display(description="")
    def issue_link(self, obj):
        return format_html('<a href="{}">Issue…</a>', reverse("admin:vouchers_vouchertype_issue", args=[obj.pk]))

    def get_urls(self):
        return [
            path("<int:pk>/issue/", self.admin_site.admin_view(self.issue_view), name="vouchers_vouchertype_issue"),
            *super().get_urls(),
        ]

    @admin.action(description="Issue vouchers of the selected type…")
    def issue_vouchers(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one voucher type to issue.", level=messages.WARNING)
            return None
        return redirect("admin:vouchers_vouchertype_issue", pk=queryset.get().pk)

    def issue_view(self, request, pk):
        """Issue one voucher or a batch of codes: the same service as POST /voucher/{type}/issue."""
        if not request.user.has_perm("vouchers.add_voucher"):
            raise PermissionDenied
        voucher_type = get_object_or_404(VoucherType, pk=pk)
        form = IssueForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                recipient = resolve_membership(data["recipient"]) if data["recipient"] else None
                result = services.issue_voucher(
                    voucher_type=voucher_type,
                    recipient=recipient,
                    actor=admin_actor(request),
                    source="admin",
                    reference=data["reference"],
                    count=data["count"],
                    charge_points=data["charge_points"],
                )
            except DomainError as exc:
                form.add_error(None, f"{exc.detail} ({exc.code})")
            else:
                if result.batch is not None:
                    link = reverse("admin:vouchers_issuebatch_codes", args=[result.batch.pk])
                    messages.success(
                        request,
                        format_html(
                            'Issued {} vouchers of {} (batch {}). <a href="{}">Download the codes (CSV)</a>.',
                            result.count,
                            voucher_type.name,
                            result.batch.pk,
                            link,
                        ),
                    )
                    return redirect(
                        reverse("admin:vouchers_voucher_changelist") + f"?batch__id__exact={result.batch.pk}"
                    )
                messages.success(request, f"Issued voucher {result.voucher.token} of {voucher_type.name}.")
                return redirect(reverse("admin:vouchers_voucher_changelist") + f"?q={result.voucher.token}")
        context = {
            **self.admin_site.each_context(request),
            "title": f"Issue vouchers: {voucher_type.name}",
            "form": form,
            "voucher_type": voucher_type,
            "opts": self.model._meta,
            "submit_label": "Issue",
        }
        return TemplateResponse(request, "admin/vouchers/form.html", context)


class ConversionInline(admin.TabularInline):
    model = Conversion
    fields = ["converted_at", "membership", "channel", "reference", "actor_label"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Voucher)
class VoucherAdmin(ReadOnlyAdmin):
    list_display = [
        "token",
        "voucher_type",
        "status",
        "recipient",
        "uses_left",
        "valid_until",
        "issued_at",
        "source",
    ]
    # No date hierarchy and no filter over free-text columns: each would scan every voucher per page view.
    list_filter = ["status", "voucher_type", "batch"]
    search_fields = ["=token", "=recipient__number", "=reference"]
    search_help_text = "A voucher code, a membership number or a reference (exact)."
    list_select_related = ["voucher_type", "recipient"]
    show_full_result_count = False
    raw_id_fields = ["recipient", "batch"]
    inlines = [ConversionInline]
    actions = ["revoke"]

    def get_search_results(self, request, queryset, search_term):
        """Exact matches on indexed columns (Django's `=field` would compare in upper case and scan the
        table). Codes are upper case: a code typed in lower case is found too."""
        term = search_term.strip()
        if not term:
            return queryset, False
        members = list(Membership.objects.filter(number=term).values_list("pk", flat=True))
        return queryset.filter(Q(token=normalize(term)) | Q(recipient_id__in=members) | Q(reference=term)), False

    def has_revoke_permission(self, request):
        return request.user.has_perm("vouchers.change_voucher")

    @admin.action(description="Revoke the selected vouchers (refunds points paid)…", permissions=["revoke"])
    def revoke(self, request, queryset):
        form = RevokeForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            done, refused = 0, []
            for voucher in queryset.order_by("pk"):
                try:
                    services.revoke_voucher(
                        voucher=voucher, reason=form.cleaned_data["reason"], actor=admin_actor(request)
                    )
                    done += 1
                except DomainError as exc:
                    refused.append(f"{voucher.token}: {exc.code}")
            if done:
                self.message_user(request, f"Revoked {done} voucher(s).", level=messages.SUCCESS)
            if refused:
                self.message_user(request, "Not revoked: " + "; ".join(refused[:50]), level=messages.WARNING)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Revoke vouchers",
            "form": form,
            "vouchers": queryset[:100],
            "count": queryset.count(),
            "selected": request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME),
            "action": "revoke",
            "select_across": request.POST.get("select_across", "0"),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/vouchers/revoke.html", context)


@admin.register(IssueBatch)
class IssueBatchAdmin(ReadOnlyAdmin):
    list_display = ["id", "created_at", "voucher_type", "count", "recipient", "source", "reference", "codes_link"]
    list_filter = ["voucher_type", "source"]
    search_fields = ["=reference"]
    list_select_related = ["voucher_type", "recipient"]

    def get_urls(self):
        return [
            path("<int:pk>/codes.csv", self.admin_site.admin_view(self.codes_view), name="vouchers_issuebatch_codes"),
            *super().get_urls(),
        ]

    @admin.display(description="codes")
    def codes_link(self, obj):
        return format_html('<a href="{}">CSV</a>', reverse("admin:vouchers_issuebatch_codes", args=[obj.pk]))

    def codes_view(self, request, pk):
        """The batch's codes as CSV, streamed (a hundred thousand rows keep memory flat); imported codes are
        anyone's text, so formulas are escaped (loyalty.csvfiles)."""
        if not request.user.has_perm("vouchers.view_voucher"):
            raise PermissionDenied
        batch = get_object_or_404(IssueBatch, pk=pk)
        line = csv_line_writer()
        rows = Voucher.objects.filter(batch=batch).order_by("pk").values_list("token", "valid_from", "valid_until")

        def lines():
            yield line(["token", "valid_from", "valid_until"])
            for token, valid_from, valid_until in rows.iterator(chunk_size=5000):
                yield line([token, valid_from.isoformat(), valid_until.isoformat() if valid_until else ""])

        response = StreamingHttpResponse(lines(), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="vouchers-batch-{batch.pk}.csv"'
        return response
