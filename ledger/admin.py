"""Point types, the read-only journal, the adjustment form and the sponsor liability report."""

from datetime import datetime, time
from decimal import ROUND_DOWN
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode

from ledger.amounts import show_points, to_minor, to_points
from ledger.back_office import statement_page
from ledger.models import Booking, PointType, Posting
from ledger.selectors import balances_of, sponsor_liability
from ledger.services import adjust_points
from loyalty.admin import ReadOnlyAdmin, ServiceAdminMixin, admin_actor
from loyalty.errors import DomainError
from loyalty.models import Program, Sponsor
from loyalty.readable import readable
from memberships.admin.common import MemberKeySearchMixin, sees_personal_data


@admin.register(PointType)
class PointTypeAdmin(ServiceAdminMixin, admin.ModelAdmin):
    list_display = [
        "key",
        "name",
        "is_main",
        "redeemable",
        "transferable",
        "expiry_policy",
        "maturation_days",
        "active",
    ]
    list_filter = ["redeemable", "active"]
    fieldsets = [
        (None, {"fields": ["key", "name", "is_main", "active"]}),
        ("Use", {"fields": ["redeemable", "transferable", "counts_for_tiers", "precision"]}),
        (
            "Life of earned points",
            {
                "fields": ["maturation_days", "expiry_policy", "expiry_months"],
                "description": (
                    "Earned points are blocked for the maturation days (for example the return period), "
                    "then redeemable until they expire. Expiry counts from the purchase: '12 months, end of "
                    "quarter' means points earned on 10 February 2026 expire at the end of March 2027."
                ),
            },
        ),
    ]


class PostingInline(admin.TabularInline):
    """A booking's postings in words and points: "Points of 6095618689", "Points issued by Bright Fuel"."""

    model = Posting
    fields = ["account_in_words", "points"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("account__point_type", "account__membership", "account__sponsor")
            .order_by("id")
        )

    @admin.display(description="account")
    def account_in_words(self, obj: Posting) -> str:
        account = obj.account
        if account.kind == account.Kind.MEMBER:
            return f"{account.point_type.name} of {account.membership.number}"
        wording = {
            account.Kind.ISSUED: "{points} issued by {sponsor}",
            account.Kind.REDEEMED: "{points} redeemed at {sponsor}",
            account.Kind.ADJUSTED: "{points} adjusted by {sponsor}",
            account.Kind.EXPIRED: "{points} expired (issued by {sponsor})",
            account.Kind.FORFEITED: "{points} forfeited (back to {sponsor})",
        }.get(account.kind, "{points} of {sponsor}")
        return wording.format(points=account.point_type.name, sponsor=account.sponsor.name)

    @admin.display(description="points")
    def points(self, obj: Posting) -> str:
        return show_points(obj.amount, obj.account.point_type.precision)


def adjustment_limit(user, point_type: PointType) -> int | None:
    """The largest adjustment (minor units) this staff user may make: none for those allowed to adjust
    without limit (program managers), else the program's limit for support agents."""
    if user.has_perm("ledger.adjust_without_limit"):
        return None
    limit = Program.current().support_adjustment_limit.scaleb(point_type.precision)
    return int(limit.to_integral_value(rounding=ROUND_DOWN))


class AdjustForm(forms.Form):
    membership = forms.CharField(help_text="Membership number, card number or alternate id.")
    point_type = forms.ModelChoiceField(PointType.objects.filter(active=True))
    sponsor = forms.ModelChoiceField(Sponsor.objects.filter(active=True), help_text="Who pays for the points.")
    points = forms.DecimalField(max_digits=19, decimal_places=4, help_text="Positive to credit, negative to debit.")
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 2}))


class LiabilityForm(forms.Form):
    since = forms.DateField(required=False, help_text="First day (program time); empty: from the start.")
    until = forms.DateField(required=False, help_text="Day after the last; empty: up to now.")


@admin.register(Booking)
class BookingAdmin(MemberKeySearchMixin, ReadOnlyAdmin):
    list_display = ["id", "created_at", "kind", "sponsor", "membership", "receipt_id", "tx_id", "actor_label"]
    list_filter = ["kind", "sponsor", "created_at"]
    search_fields = ["=receipt_id", "=tx_id", "=reference"]  # and a member by any key: get_search_results
    search_help_text = "Exact receipt id, txId or reference, or a member's number, card, alternate id or e-mail."
    list_select_related = ["sponsor", "membership"]
    show_full_result_count = False
    date_hierarchy = "created_at"
    raw_id_fields = ["membership", "reverses"]
    inlines = [PostingInline]
    fields = [
        "kind",
        "sponsor",
        "membership",
        "created_at",
        "effective_at",
        "reason",
        "reference",
        "receipt_id",
        "tx_id",
        "reverses",
        "line_ref",
        "actor_label",
        "details",
        "idempotency_key",
    ]

    def get_readonly_fields(self, request, obj=None):
        return self.fields  # a booking is never edited

    @admin.display(description="Details")
    def details(self, booking: Booking) -> str:
        """The booking's metadata (what the service recorded with it) as a table, not as JSON; amounts
        in points with the point type's name."""
        from ledger.back_office import metadata_in_points

        return readable(metadata_in_points(booking.metadata))

    def get_urls(self):
        return [
            path("adjust/", self.admin_site.admin_view(self.adjust_view), name="ledger_booking_adjust"),
            path("liability/", self.admin_site.admin_view(self.liability_view), name="ledger_booking_liability"),
            path(
                "statement/<int:membership_id>/",
                self.admin_site.admin_view(self.statement_view),
                name="ledger_booking_statement",
            ),
            *super().get_urls(),
        ]

    def adjust_view(self, request):
        """Adjust a member's points: the same service as POST /deposits/{key}/adjust. Opened from the
        member page, it shows the member's balances and goes back there when booked."""
        from memberships.selectors import resolve_membership

        if not request.user.has_perm("ledger.add_booking"):
            raise PermissionDenied
        back = request.POST.get("next") or request.GET.get("next") or ""
        if not url_has_allowed_host_and_scheme(
            back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            back = ""
        form = AdjustForm(request.POST or None, initial={"membership": request.GET.get("membership", "")})
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                membership = resolve_membership(data["membership"])
                points = to_minor(data["points"], data["point_type"].precision)
                booking = adjust_points(
                    membership=membership,
                    points=points,
                    point_type=data["point_type"],
                    sponsor=data["sponsor"],
                    reason=data["reason"],
                    actor=admin_actor(request),
                    limit=adjustment_limit(request.user, data["point_type"]),
                )
            except DomainError as exc:
                form.add_error(None, exc.detail)
            else:
                messages.success(
                    request,
                    f"Booked {show_points(points, data['point_type'].precision)} {data['point_type'].name} "
                    f"for {membership.number} (booking {booking.pk}).",
                )
                return redirect(back or reverse("admin:ledger_booking_changelist") + f"?q={membership.number}")
        member, balances = None, []
        key = (request.POST.get("membership") or request.GET.get("membership") or "").strip()
        if key:
            try:
                member = resolve_membership(key)
            except DomainError:
                member = None  # the form says so when it is sent
        if member is not None:
            balances = [
                (
                    b.point_type.name,
                    show_points(b.balance, b.point_type.precision),
                    b.point_type.redeemable,
                    show_points(b.redeemable, b.point_type.precision),
                )
                for b in balances_of(member)
            ]
        context = {
            **self.admin_site.each_context(request),
            "title": "Adjust points",
            "limit_note": ""
            if request.user.has_perm("ledger.adjust_without_limit")
            else f"You may add or take away at most {Program.current().support_adjustment_limit.normalize():,f} points "
            "in one adjustment (the program's limit for support agents).",
            "form": form,
            "member": member,
            "balances": balances,
            "next": back,
        }
        return TemplateResponse(request, "admin/ledger/form.html", context)

    def statement_view(self, request, membership_id):
        """A member's whole statement, paginated: every booking line in points with the balance after it."""
        from memberships.models import Membership

        if not (request.user.has_perm("ledger.view_booking") and request.user.has_perm("memberships.view_membership")):
            raise PermissionDenied
        membership = get_object_or_404(Membership, pk=membership_id)
        point_types = list(PointType.objects.order_by("-is_main", "name"))
        point_type = next((pt for pt in point_types if pt.key == request.GET.get("point_type")), None)
        statement = statement_page(membership, page=request.GET.get("page", 1), point_type=point_type)
        name = membership.full_name if sees_personal_data(request) else ""
        context = {
            **self.admin_site.each_context(request),
            **statement,
            "title": f"Statement of {name} ({membership.number})" if name else f"Statement of {membership.number}",
            "member_name": name or membership.number,
            "member_url": reverse("admin:memberships_membership_change", args=[membership.pk]),
            "point_types": point_types,
            "point_type": point_type,
            "query": urlencode({"point_type": point_type.key}) + "&" if point_type else "",
        }
        return TemplateResponse(request, "admin/ledger/statement.html", context)

    def liability_view(self, request):
        if not request.user.has_perm("ledger.view_liability"):
            raise PermissionDenied
        form = LiabilityForm(request.GET or None)
        rows, since, until = [], None, None
        if form.is_valid():
            tz = ZoneInfo(Program.current().time_zone)
            if form.cleaned_data.get("since"):
                since = datetime.combine(form.cleaned_data["since"], time.min, tzinfo=tz)
            if form.cleaned_data.get("until"):
                until = datetime.combine(form.cleaned_data["until"], time.min, tzinfo=tz)
            for row in sponsor_liability(since, until):
                p = row.point_type.precision
                rows.append(
                    {
                        "sponsor": row.sponsor_name,
                        "point_type": row.point_type.name,
                        **{
                            k: to_points(getattr(row, k), p)
                            for k in ("issued", "adjusted", "redeemed", "expired", "forfeited", "outstanding")
                        },
                    }
                )
        context = {
            **self.admin_site.each_context(request),
            "title": "Sponsor liability",
            "form": form,
            "rows": rows,
            "columns": ["issued", "adjusted", "redeemed", "expired", "forfeited", "outstanding"],
        }
        return TemplateResponse(request, "admin/ledger/liability.html", context)

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "ledger_links": [
                (reverse("admin:ledger_booking_adjust"), "Adjust points"),
                (reverse("admin:ledger_booking_liability"), "Sponsor liability report"),
            ],
        }
        return super().changelist_view(request, extra_context)
