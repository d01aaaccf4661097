"""The catalog screens: channels, products, master categories with their values, custom categories.

Every save goes through promotions.catalog_services (or loyalty.services.save_configuration for
channels and master categories), so each change is audited and emits its event, as through the API.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Count

from loyalty.admin import ServiceAdminMixin, action_form_response, admin_actor
from loyalty.errors import DomainError
from promotions import catalog_services as services
from promotions.models import CategoryValue, Channel, CustomCategory, MasterCategory, Product, ProductCategory


def _report(modeladmin: admin.ModelAdmin, request, done: int, failed: list[str], verb: str) -> None:
    if done:
        modeladmin.message_user(request, f"{verb}: {done} product(s).", level=messages.SUCCESS)
    for message in failed:
        modeladmin.message_user(request, message, level=messages.ERROR)


def value_label(value: CategoryValue) -> str:
    return f"{value.master.name}: {value.name} ({value.channel.key})"


class CategoryValueChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: CategoryValue) -> str:
        return value_label(obj)


# Channels ------------------------------------------------------------------------------------


@admin.register(Channel)
class ChannelAdmin(ServiceAdminMixin, admin.ModelAdmin):
    list_display = ["key", "name", "kind", "sponsor", "active", "updated_at"]
    list_filter = ["kind", "active", "sponsor"]
    list_select_related = ["sponsor"]
    search_fields = ["key", "name"]

    def get_readonly_fields(self, request, obj=None):
        # The key is what transactions and rules name: fixed once the channel exists.
        return ["key"] if obj is not None else []


# Master categories and their values ---------------------------------------------------------


class CategoryValueFormSet(forms.BaseInlineFormSet):
    """Value rows saved through the catalog services (see MasterCategoryAdmin.save_formset)."""


class CategoryValueInline(admin.TabularInline):
    model = CategoryValue
    formset = CategoryValueFormSet
    fields = ["channel", "key", "name", "products_column"]
    readonly_fields = ["products_column"]
    extra = 1
    verbose_name_plural = "Values (per channel; tick Delete to remove a value from the products that have it)"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("channel").annotate(product_count=Count("product_links"))

    @admin.display(description="products")
    def products_column(self, obj: CategoryValue) -> int:
        return getattr(obj, "product_count", 0)


@admin.register(MasterCategory)
class MasterCategoryAdmin(ServiceAdminMixin, admin.ModelAdmin):
    list_display = ["key", "name", "values_column", "updated_at"]
    search_fields = ["key", "name"]
    inlines = [CategoryValueInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(value_count=Count("values"))

    @admin.display(description="values", ordering="value_count")
    def values_column(self, obj: MasterCategory) -> int:
        return obj.value_count

    def get_readonly_fields(self, request, obj=None):
        # Rules name it (line.category.<key>): fixed once it exists.
        return ["key"] if obj is not None else []

    def save_formset(self, request, form, formset, change):
        if formset.model is not CategoryValue:
            return super().save_formset(request, form, formset, change)
        master, actor = form.instance, admin_actor(request)
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        if master.pk is None:  # the master category itself was refused; the message says why
            return None
        for row in formset.forms:
            if not row.has_changed() and row.instance.pk is None:
                continue
            data = row.cleaned_data
            try:
                if data.get("DELETE"):
                    if row.instance.pk:
                        services.delete_category_value(value=row.instance, actor=actor)
                elif row.has_changed():
                    services.save_category_value(
                        master=master,
                        channel=data["channel"],
                        key=data["key"],
                        name=data["name"],
                        value=row.instance if row.instance.pk else None,
                        actor=actor,
                    )
            except DomainError as exc:
                self.message_user(request, f"{data.get('key', '')}: {exc.detail}", level=messages.ERROR)
        return None


# Products ------------------------------------------------------------------------------------


class ProductAdminForm(forms.ModelForm):
    """The product's fields and one choice per master category (values of the product's channel)."""

    class Meta:
        model = Product
        fields = ["channel", "key", "name", "brand", "price", "attributes", "active"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.masters = list(MasterCategory.objects.order_by("key"))
        values = CategoryValue.objects.select_related("master", "channel").order_by("channel__key", "key")
        if self.instance.pk:
            values = values.filter(channel_id=self.instance.channel_id)
            current = dict(ProductCategory.objects.filter(product=self.instance).values_list("master_id", "value_id"))
        else:
            current = {}
        by_master: dict[int, list[CategoryValue]] = {}
        for value in values:
            by_master.setdefault(value.master_id, []).append(value)
        for master in self.masters:
            field = CategoryValueChoiceField(
                queryset=values.filter(master=master),
                required=False,
                label=master.name,
                help_text=f"Rules read it as line.category.{master.key}.",
                initial=current.get(master.pk),
            )
            # The choices from the rows loaded above: one query for all masters, not one each.
            field.choices = [("", "---------")] + [(v.pk, value_label(v)) for v in by_master.get(master.pk, [])]
            self.fields[self.category_field(master)] = field

    @staticmethod
    def category_field(master: MasterCategory) -> str:
        return f"category__{master.key}"

    def clean(self):
        data = super().clean()
        channel = data.get("channel") or (self.instance.channel if self.instance.pk else None)
        for master in self.masters:
            value = data.get(self.category_field(master))
            if value is not None and channel is not None and value.channel_id != channel.pk:
                self.add_error(
                    self.category_field(master),
                    f"{value.name} is a value of channel {value.channel.key}; choose one of {channel.key}.",
                )
        return data

    def validate_unique(self):  # the service and the database decide (channel and key are read-only later)
        pass

    def categories(self) -> dict[str, str | None]:
        return {
            master.key: (value.key if (value := self.cleaned_data.get(self.category_field(master))) else None)
            for master in self.masters
        }


class CategoryValueListFilter(admin.SimpleListFilter):
    title = "category value"
    parameter_name = "category"

    def lookups(self, request, model_admin):
        pairs = (
            CategoryValue.objects.values_list("master__key", "master__name", "key", "name")
            .order_by("master__key", "key")
            .distinct()
        )
        seen: dict[str, str] = {}
        for master_key, master_name, key, name in pairs:
            seen.setdefault(f"{master_key}:{key}", f"{master_name}: {name}")
        return list(seen.items())

    def queryset(self, request, queryset):
        if not self.value() or ":" not in self.value():
            return queryset
        master, _, key = self.value().partition(":")
        return queryset.filter(category_links__master__key=master, category_links__value__key=key)


class CustomCategoryListFilter(admin.SimpleListFilter):
    title = "custom category"
    parameter_name = "custom_category"

    def lookups(self, request, model_admin):
        return list(CustomCategory.objects.order_by("key").values_list("key", "name"))

    def queryset(self, request, queryset):
        return queryset.filter(custom_categories__key=self.value()) if self.value() else queryset


class CustomCategoryChoiceForm(forms.Form):
    custom_category = forms.ModelChoiceField(
        CustomCategory.objects.order_by("key"),
        help_text="The selected products are added to it; the products it has stay.",
    )


class CategoryValueChoiceForm(forms.Form):
    value = CategoryValueChoiceField(
        CategoryValue.objects.select_related("master", "channel").order_by("master__key", "channel__key", "key"),
        help_text="Replaces the products' value of that master category. Products of other channels are skipped.",
    )


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    form = ProductAdminForm
    list_display = ["key", "name", "brand", "channel", "price", "active", "updated_at"]
    list_filter = ["channel", "active", CategoryValueListFilter, CustomCategoryListFilter]
    list_select_related = ["channel"]
    search_fields = ["key", "name", "brand"]
    search_help_text = "Product key, name or brand."
    list_per_page = 50
    actions = ["add_to_custom_category", "set_category_value"]

    def get_queryset(self, request):
        # The autocomplete of custom categories lists products through this too: str() names the channel.
        return super().get_queryset(request).select_related("channel")

    def get_readonly_fields(self, request, obj=None):
        return ["channel", "key"] if obj is not None else []

    def get_fieldsets(self, request, obj=None):
        masters = MasterCategory.objects.order_by("key").values_list("key", flat=True)
        return [
            (None, {"fields": ProductAdminForm.Meta.fields}),
            (
                "Categories",
                {
                    "fields": [f"category__{key}" for key in masters],
                    "description": "One value per master category, from the product's channel.",
                },
            ),
        ]

    def get_form(self, request, obj=None, **kwargs):
        # The category fields are the form's own (added per master category), not model fields.
        kwargs["fields"] = [f for f in ProductAdminForm.Meta.fields if f not in self.get_readonly_fields(request, obj)]
        return super().get_form(request, obj, **kwargs)

    def has_delete_permission(self, request, obj=None):
        return False  # receipts and rules name products: deactivate instead

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        try:
            product = services.save_product(
                channel=obj.channel,
                key=obj.key,
                name=data["name"],
                brand=data.get("brand", ""),
                price=data["price"],
                attributes=data.get("attributes") or {},
                active=data.get("active", False),
                categories=form.categories(),
                actor=admin_actor(request),
            )
        except DomainError as exc:
            self.message_user(request, exc.detail, level=messages.ERROR)
            return
        obj.pk = product.pk

    def save_related(self, request, form, formsets, change):
        pass  # the categories were saved by save_product

    @admin.action(description="Add the selected products to a custom category", permissions=["change"])
    def add_to_custom_category(self, request, queryset):
        form = CustomCategoryChoiceForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            category = form.cleaned_data["custom_category"]
            refs = [(p.channel.key, p.key) for p in queryset.select_related("channel")]
            try:
                result = services.set_custom_category(
                    key=category.key, products=refs, replace=False, actor=admin_actor(request)
                )
            except DomainError as exc:
                self.message_user(request, exc.detail, level=messages.ERROR)
                return None
            self.message_user(
                request,
                f"{result.added} product(s) added to {category.name}; it has {result.product_count} now.",
                level=messages.SUCCESS,
            )
            return None
        return action_form_response(
            self,
            request,
            queryset,
            action="add_to_custom_category",
            title="Add products to a custom category",
            form=form,
            submit="Add them",
        )

    @admin.action(description="Set a category value on the selected products", permissions=["change"])
    def set_category_value(self, request, queryset):
        form = CategoryValueChoiceForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            value, actor = form.cleaned_data["value"], admin_actor(request)
            done, failed = 0, []
            for product in queryset.select_related("channel"):
                if product.channel_id != value.channel_id:
                    failed.append(f"{product}: not in channel {value.channel.key}, skipped.")
                    continue
                try:
                    services.set_product_category(product=product, master=value.master, value=value, actor=actor)
                    done += 1
                except DomainError as exc:
                    failed.append(f"{product}: {exc.detail}")
            _report(self, request, done, failed, f"Set {value_label(value)}")
            return None
        return action_form_response(
            self,
            request,
            queryset,
            action="set_category_value",
            title="Set a category value",
            form=form,
            submit="Set it",
        )


# Custom categories ---------------------------------------------------------------------------


class CustomCategoryAdminForm(forms.ModelForm):
    class Meta:
        model = CustomCategory
        fields = ["key", "name", "description", "products"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "products" in self.fields:  # the chosen products are shown with their channel
            self.fields["products"].queryset = Product.objects.select_related("channel")


@admin.register(CustomCategory)
class CustomCategoryAdmin(admin.ModelAdmin):
    form = CustomCategoryAdminForm
    list_display = ["key", "name", "products_column", "updated_at"]
    search_fields = ["key", "name"]
    autocomplete_fields = ["products"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(product_count=Count("products"))

    @admin.display(description="products", ordering="product_count")
    def products_column(self, obj: CustomCategory) -> int:
        return obj.product_count

    def get_readonly_fields(self, request, obj=None):
        return ["key"] if obj is not None else []

    def save_model(self, request, obj, form, change):
        products = form.cleaned_data.get("products") or []
        try:
            result = services.set_custom_category(
                key=obj.key,
                name=form.cleaned_data["name"],
                description=form.cleaned_data.get("description", ""),
                products=[(p.channel.key, p.key) for p in products],
                replace=True,
                actor=admin_actor(request),
            )
        except DomainError as exc:
            self.message_user(request, exc.detail, level=messages.ERROR)
            return
        obj.pk = result.custom_category.pk

    def save_related(self, request, form, formsets, change):
        pass  # the products were assigned by set_custom_category

    def delete_model(self, request, obj):
        services.delete_custom_category(custom_category=obj, actor=admin_actor(request))

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


from promotions import admin_promotions  # noqa: E402, F401 -- the promotion screens
