"""The admin site of the back office: the dashboard as its first page, and the sidebar grouped by a
program manager's tasks rather than by the apps that hold the tables."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest
from django.urls import URLPattern, path, reverse

# The sidebar's areas in the order of a manager's day, each listing its pages ("app_label.Model").
# Developers' pages come last. A model registered later and not listed here lands in "Other", so
# nothing registered is ever out of reach (tests/backoffice/test_navigation.py lists them all here).
AREAS: list[tuple[str, str, list[str]]] = [
    ("members", "Members", ["memberships.Membership", "memberships.LegalEntity", "memberships.Card"]),
    ("points", "Points", ["ledger.Booking"]),
    ("purchases", "Purchases", ["transactions.Transaction"]),
    (
        "promotions",
        "Promotions and catalog",
        ["promotions.Promotion", "promotions.Product", "promotions.CustomCategory", "promotions.MasterCategory"],
    ),
    ("vouchers", "Vouchers", ["vouchers.VoucherType", "vouchers.Voucher", "vouchers.IssueBatch"]),
    ("imports", "Imports and exports", ["imports.ImportBatch"]),
    (
        "settings",
        "Program settings",
        [
            "loyalty.Program",
            "ledger.PointType",
            "loyalty.Tier",
            "loyalty.Sponsor",
            "promotions.Channel",
            "loyalty.MembershipType",
        ],
    ),
    (
        "developers",
        "Developers and access",
        [
            "loyalty.ApiClient",
            "loyalty.ApiKey",
            "loyalty.Event",
            "webhooks.Endpoint",
            "webhooks.Delivery",
            "loyalty.AuditEntry",
            "auth.User",
            "auth.Group",
            "backoffice.LoginLockout",
            "otp_totp.TOTPDevice",
        ],
    ),
]


def task_areas(app_dict: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Django's per-app list regrouped into AREAS (pure: the entries are Django's own, moved)."""
    entries = {f"{label}.{model['object_name']}": model for label, app in app_dict.items() for model in app["models"]}
    areas = []
    for key, name, members in [
        *AREAS,
        ("other", "Other", sorted(entries.keys() - {m for *_, ms in AREAS for m in ms})),
    ]:
        models = [entries[m] for m in members if m in entries]
        if models:
            areas.append(
                {
                    "name": name,
                    "app_label": key,
                    "app_url": models[0]["admin_url"] or "",
                    "has_module_perms": True,
                    "models": models,
                }
            )
    return areas


class BackOfficeSite(admin.AdminSite):
    site_header = "Loyalty platform"
    site_title = "Loyalty admin"
    index_title = "Dashboard"
    login_template = "admin/backoffice/login.html"

    @property
    def login_form(self):
        from backoffice.login import StaffLoginForm

        return StaffLoginForm

    def has_permission(self, request: HttpRequest) -> bool:
        """Staff, and with ADMIN_REQUIRE_2FA only after the authenticator's code (django-otp's OTPMiddleware
        tells whether this session gave one)."""
        if not super().has_permission(request):
            return False
        return not settings.ADMIN_REQUIRE_2FA or request.user.is_verified()

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list[dict[str, Any]]:
        if app_label is not None:  # an app's own index page keeps Django's list
            return super().get_app_list(request, app_label)
        areas = task_areas(self._build_app_dict(request))
        imports = next((a for a in areas if a["app_label"] == "imports"), None)
        if imports is not None and request.user.has_perm("imports.view_importbatch"):
            # Exports are no table of their own: the page that lists them joins the area.
            imports["models"].append(
                {
                    "name": "Exports",
                    "object_name": "Export",
                    "admin_url": reverse("admin:imports_exports"),
                    "add_url": None,
                }
            )
        return areas

    def get_urls(self) -> list[URLPattern]:
        from backoffice.exports import export_view
        from backoffice.views import dashboard

        return [
            path("", self.admin_view(dashboard), name="index"),
            path("exports/<slug:key>/", self.admin_view(export_view), name="backoffice_export"),
            *super().get_urls(),
        ]
