"""Signing in to the admin: the password, then the authenticator's code for staff who have an authenticator (or
for everyone with ADMIN_REQUIRE_2FA); a paused sign-in after too many wrong passwords (django-axes)."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django_otp import match_token, user_has_device

NO_AUTHENTICATOR = (
    "Signing in here needs a code from an authenticator app, and your account has none yet. Ask an administrator "
    "to add one for you (Developers and access, TOTP devices)."
)


class StaffLoginForm(AdminAuthenticationForm):
    """The admin's login form with the authenticator's code, checked only when the user has an authenticator or
    two-factor sign-in is required (ADMIN_REQUIRE_2FA). Any of the user's confirmed devices may match; django-otp
    pauses a device after a wrong code and keeps a code from being used twice."""

    otp_token = forms.CharField(
        required=False,
        label="Code from your authenticator app",
        help_text="Only if you set one up: the 6 digits it shows now.",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "maxlength": 8}),
    )

    def clean(self):
        cleaned = super().clean()
        user = self.get_user()
        if user is None:
            return cleaned
        if not user_has_device(user):
            if settings.ADMIN_REQUIRE_2FA:
                raise forms.ValidationError(NO_AUTHENTICATOR, code="authenticator_required")
            return cleaned
        token = (cleaned.get("otp_token") or "").strip()
        if not token:
            raise forms.ValidationError("Please enter the code your authenticator app shows.", code="token_required")
        device = match_token(user, token)
        if device is None:
            raise forms.ValidationError(
                "That code is not right. Enter the code your authenticator app shows now.", code="invalid_token"
            )
        user.otp_device = device  # django-otp marks the session verified when the user is logged in
        return cleaned


def locked_out(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    """django-axes' answer to a paused sign-in (AXES_LOCKOUT_CALLABLE), in plain words."""
    from django.contrib import admin

    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    context = {
        **admin.site.each_context(request),
        "title": "Sign-in paused",
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "minutes": minutes,
    }
    return render(request, "admin/locked_out.html", context, status=429)
