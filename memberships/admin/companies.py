"""Legal entities (with their users and cards) and the card finder."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from loyalty.admin import action_form_response, admin_actor
from loyalty.errors import DomainError
from memberships import selectors, services
from memberships.admin.common import (
    EstimatedCountPaginator,
    ReasonForm,
    SafeAddMixin,
    report_outcome,
)
from memberships.admin.inlines import (
    CardInline,
    NewCardInline,
    ServiceInlinesMixin,
)
from memberships.models import Card, LegalEntity, Membership

# Legal entities -------------------------------------------------------------------------------


class LegalEntityForm(forms.ModelForm):
    user_keys = forms.CharField(
        required=False,
        label="Member users",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Membership numbers (or cards, alternate ids) of the company's users, one per line. "
        "Exactly these are its users after saving.",
    )

    class Meta:
        model = LegalEntity
        fields = [
            "registration_number",
            "name",
            "vat_number",
            "membership_type",
            "street",
            "postal_code",
            "city",
            "country",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["user_keys"].initial = "\n".join(
                self.instance.users.order_by("number").values_list("number", flat=True)
            )
            self.fields["registration_number"].disabled = True

    def clean_user_keys(self):
        keys = [key.strip() for key in self.cleaned_data["user_keys"].replace(",", "\n").splitlines() if key.strip()]
        users = []
        for key in dict.fromkeys(keys):
            try:
                user = selectors.resolve_membership(key)
            except DomainError as exc:
                raise ValidationError(f"{key}: {exc.detail}") from exc
            if user.legal_entity_id not in (None, self.instance.pk):
                raise ValidationError(f"{key}: already a user of another legal entity.")
            if user.status in ("cancelled", "merged"):
                raise ValidationError(f"{key}: the membership is {user.status}.")
            users.append(user)
        return users

    def clean_registration_number(self):
        number = (self.cleaned_data["registration_number"] or "").strip()
        if not self.instance.pk and LegalEntity.objects.filter(registration_number=number).exists():
            raise ValidationError("A legal entity with this registration number exists.")
        return number

    def clean_membership_type(self):
        membership_type = self.cleaned_data["membership_type"]
        if not membership_type.is_company:
            raise ValidationError("Choose a company membership type.")
        return membership_type

    def validate_unique(self):
        pass


class MembershipUserInline(admin.TabularInline):
    model = Membership
    fk_name = "legal_entity"
    fields = ["number", "status"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    verbose_name = "member user"
    verbose_name_plural = "Member users (change them in the form above)"

    def has_add_permission(self, request, obj=None):
        return False


class LegalEntityCardInline(CardInline):
    fk_name = "legal_entity"


class NewLegalEntityCardInline(NewCardInline):
    fk_name = "legal_entity"

    def has_add_permission(self, request, obj=None):
        return obj is not None and obj.status == LegalEntity.Status.ACTIVE


@admin.register(LegalEntity)
class LegalEntityAdmin(SafeAddMixin, ServiceInlinesMixin, admin.ModelAdmin):
    form = LegalEntityForm
    list_display = ["name", "registration_number", "membership_type", "status", "created_at"]
    list_filter = ["status", "membership_type"]
    search_fields = ["name", "=registration_number", "=vat_number"]
    list_select_related = ["membership_type"]
    readonly_fields = ["status", "cancelled_at", "cancel_reason", "created_at", "updated_at"]
    inlines = [MembershipUserInline, LegalEntityCardInline, NewLegalEntityCardInline]
    actions = ["cancel_selected", "reactivate_selected"]

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        try:
            legal_entity, _ = services.save_legal_entity(
                membership_type=data["membership_type"],
                registration_number=obj.registration_number,
                name=data["name"],
                vat_number=data.get("vat_number", ""),
                street=data.get("street", ""),
                postal_code=data.get("postal_code", ""),
                city=data.get("city", ""),
                country=data.get("country", ""),
                users=data.get("user_keys", []),
                actor=admin_actor(request),
            )
            for field in LegalEntity._meta.concrete_fields:
                setattr(obj, field.attname, getattr(legal_entity, field.attname))
        except DomainError as exc:
            self.message_user(request, exc.detail, level=messages.ERROR)

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.action(description="Cancel the selected legal entities (asks for a reason)", permissions=["change"])
    def cancel_selected(self, request, queryset):
        form = ReasonForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            actor, reason = admin_actor(request), form.cleaned_data["reason"]
            done, failed = [], []
            for entity in queryset:
                try:
                    services.cancel_legal_entity(legal_entity=entity, reason=reason, actor=actor)
                    done.append(entity.name)
                except DomainError as exc:
                    failed.append(f"{entity.name}: {exc.detail}")
            report_outcome(self, request, done, failed, "Cancelled")
            return None
        return action_form_response(
            self,
            request,
            queryset,
            action="cancel_selected",
            title="Cancel legal entities",
            form=form,
            submit="Cancel these legal entities",
        )

    @admin.action(description="Reactivate the selected cancelled legal entities", permissions=["change"])
    def reactivate_selected(self, request, queryset):
        done, failed = [], []
        for entity in queryset:
            try:
                services.reactivate_legal_entity(legal_entity=entity, actor=admin_actor(request))
                done.append(entity.name)
            except DomainError as exc:
                failed.append(f"{entity.name}: {exc.detail}")
        report_outcome(self, request, done, failed, "Reactivated")


# Cards ----------------------------------------------------------------------------------------


@admin.register(Card)
class CardAdmin(admin.ModelAdmin):
    """Find a card and its holder; cards are issued on the member's or company's page."""

    list_display = ["number", "holder_column", "type", "status", "issued_at", "deactivated_at"]
    list_filter = ["status", "type"]
    search_fields = ["=number"]
    list_select_related = ["membership", "legal_entity"]
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    sortable_by = ["number", "issued_at"]
    actions = ["deactivate_selected"]

    @admin.display(description="Holder")
    def holder_column(self, obj: Card) -> str:
        return str(obj.holder or "—")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.action(description="Deactivate the selected cards (they stay on record)", permissions=["view"])
    def deactivate_selected(self, request, queryset):
        if not request.user.has_perm("memberships.change_card"):
            self.message_user(request, "You may not change cards.", level=messages.ERROR)
            return
        for card in queryset:
            services.delete_card(card=card, actor=admin_actor(request))
        self.message_user(request, "Deactivated.", level=messages.SUCCESS)
