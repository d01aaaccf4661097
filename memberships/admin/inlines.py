"""Inline rows of the member and company pages: existing rows read-only, new rows through the services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet

from loyalty.admin import admin_actor
from loyalty.errors import DomainError
from memberships import selectors, services, validation
from memberships.admin.common import (
    clean_with,
)
from memberships.models import AlternateId, Card, LegalEntity, Remark

# Inlines: existing rows are read-only; new rows and deactivation go through the services -------


class ServiceFormSet(BaseInlineFormSet):
    """Inline rows saved by a service instead of form.save()."""

    def save_through_services(self, request, parent) -> list[str]:  # pragma: no cover - overridden
        raise NotImplementedError


KEY_TAKEN = (
    "This value already identifies another member: it is their membership number, one of their cards "
    "or alternate ids, or a company's card. Numbers, cards and alternate ids share one key space."
)


class NewCardFormSet(ServiceFormSet):
    def clean(self):
        super().clean()
        holder = {"legal_entity" if isinstance(self.instance, LegalEntity) else "membership": self.instance}
        for form in self.forms:
            number = form.cleaned_data.get("number") if form.has_changed() else None
            if number and Card.objects.filter(number=number).exists():
                form.add_error("number", "This card number is already in use.")
            elif number and selectors.key_taken_by_other(number, **holder):
                form.add_error("number", KEY_TAKEN)

    def save_through_services(self, request, parent) -> list[str]:
        errors = []
        for form in self.forms:
            if not form.has_changed() or form.cleaned_data.get("DELETE"):
                continue
            data = form.cleaned_data
            try:
                if isinstance(parent, LegalEntity):
                    services.save_legal_entity_card(
                        legal_entity=parent,
                        number=data["number"],
                        card_type=data["type"],
                        valid_from=data.get("valid_from"),
                        valid_until=data.get("valid_until"),
                        actor=admin_actor(request),
                    )
                else:
                    services.issue_card(
                        membership=parent,
                        number=data["number"],
                        card_type=data["type"],
                        valid_from=data.get("valid_from"),
                        valid_until=data.get("valid_until"),
                        actor=admin_actor(request),
                    )
            except DomainError as exc:
                errors.append(exc.detail)
        return errors


class CardFormSet(ServiceFormSet):
    def save_through_services(self, request, parent) -> list[str]:
        for form in self.deleted_forms:
            if form.instance.pk:
                services.delete_card(card=form.instance, actor=admin_actor(request))
        return []


class NewAlternateIdFormSet(ServiceFormSet):
    def save_through_services(self, request, parent) -> list[str]:
        errors = []
        for form in self.forms:
            if form.has_changed() and not form.cleaned_data.get("DELETE"):
                try:
                    services.add_alternate_id(
                        membership=parent,
                        id_type=form.cleaned_data["type"],
                        value=form.cleaned_data["value"],
                        actor=admin_actor(request),
                    )
                except DomainError as exc:
                    errors.append(exc.detail)
        return errors


class AlternateIdFormSet(ServiceFormSet):
    def save_through_services(self, request, parent) -> list[str]:
        errors = []
        for form in self.deleted_forms:
            if form.instance.pk:
                try:
                    services.delete_alternate_id(
                        membership=parent,
                        value=form.instance.value,
                        id_type=form.instance.type,
                        actor=admin_actor(request),
                    )
                except DomainError as exc:
                    errors.append(exc.detail)
        return errors


class NewRemarkFormSet(ServiceFormSet):
    def save_through_services(self, request, parent) -> list[str]:
        errors = []
        for form in self.forms:
            if form.has_changed() and not form.cleaned_data.get("DELETE"):
                try:
                    services.add_remark(membership=parent, text=form.cleaned_data["text"], actor=admin_actor(request))
                except DomainError as exc:
                    errors.append(exc.detail)
        return errors


class NoQuerySetMixin:
    """An inline that only adds rows: it lists none of the existing ones."""

    extra = 0
    can_delete = False

    def get_queryset(self, request):
        return super().get_queryset(request).none()

    def has_change_permission(self, request, obj=None):
        return False


class NewCardForm(forms.ModelForm):
    class Meta:
        model = Card
        fields = ["number", "type", "valid_from", "valid_until"]

    def clean_number(self):
        try:
            return validation.clean_card_number(self.cleaned_data["number"])
        except ValidationError as exc:
            raise ValidationError(exc.messages) from exc

    def validate_unique(self):  # the service and the database decide
        pass


class CardInline(admin.TabularInline):
    model = Card
    formset = CardFormSet
    fk_name = "membership"
    fields = ["number", "type", "status", "valid_from", "valid_until", "issued_at", "deactivation_reason"]
    readonly_fields = fields
    extra = 0
    verbose_name_plural = "Cards (tick Delete to deactivate a card; it stays on record)"

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return True


class NewCardInline(NoQuerySetMixin, admin.TabularInline):
    model = Card
    form = NewCardForm
    formset = NewCardFormSet
    fk_name = "membership"
    verbose_name = "new card"
    verbose_name_plural = "Issue a card"

    def has_add_permission(self, request, obj=None):
        return obj is not None and obj.is_open


class AlternateIdInline(admin.TabularInline):
    model = AlternateId
    formset = AlternateIdFormSet
    fields = ["type", "value", "created_at"]
    readonly_fields = fields
    extra = 0

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return obj is not None and obj.status not in ("cancelled", "merged")


class NewAlternateIdForm(forms.ModelForm):
    class Meta:
        model = AlternateId
        fields = ["type", "value"]

    def clean(self):
        data = super().clean()
        errors: dict[str, Any] = {}
        if "type" in data:
            data["type"] = clean_with(validation.clean_alternate_id_type, data["type"], errors, "type")
        if "value" in data:
            data["value"] = clean_with(validation.clean_alternate_id_value, data["value"], errors, "value")
        if errors:
            raise ValidationError(errors)
        if AlternateId.objects.filter(type=data.get("type"), value=data.get("value")).exists():
            raise ValidationError({"value": "This alternate id is already in use."})
        member = self.instance.membership if self.instance.membership_id else None
        if data.get("value") and member and selectors.key_taken_by_other(data["value"], membership=member):
            raise ValidationError({"value": KEY_TAKEN})
        return data

    def validate_unique(self):
        pass


class NewAlternateIdInline(NoQuerySetMixin, admin.TabularInline):
    model = AlternateId
    form = NewAlternateIdForm
    formset = NewAlternateIdFormSet
    verbose_name = "new alternate id"
    verbose_name_plural = "Add an alternate id"

    def has_add_permission(self, request, obj=None):
        return obj is not None and obj.status not in ("cancelled", "merged")


class RemarkInline(admin.TabularInline):
    model = Remark
    fields = ["created_at", "author", "text"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class NewRemarkForm(forms.ModelForm):
    class Meta:
        model = Remark
        fields = ["text"]
        widgets = {"text": forms.Textarea(attrs={"rows": 2, "cols": 80})}


class NewRemarkInline(NoQuerySetMixin, admin.TabularInline):
    model = Remark
    form = NewRemarkForm
    formset = NewRemarkFormSet
    extra = 1  # a text box ready on every member page; left empty, it adds nothing
    verbose_name = "new remark"
    verbose_name_plural = "Add a remark"

    def has_add_permission(self, request, obj=None):
        return obj is not None


class ServiceInlinesMixin:
    """Inline formsets saved through the services, errors shown as messages."""

    def save_formset(self, request, form, formset, change):
        if isinstance(formset, ServiceFormSet):
            # What the admin's own change message reads; the audit log has the real record.
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
            for error in formset.save_through_services(request, form.instance):
                self.message_user(request, error, level=messages.ERROR)
            return
        super().save_formset(request, form, formset, change)
