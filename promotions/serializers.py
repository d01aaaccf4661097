"""Wire shapes of the catalog and program endpoints (snake_case here, camelCase on the wire).

Output serializers run no queries of their own: the selectors load (select/prefetch) what they
show. Class names are unique across the API (they name the schema's components).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from loyalty.api.serializers import StrictInputSerializer
from loyalty.models.program import key_validator
from promotions.catalog_services import MAX_CUSTOM_CATEGORY_PRODUCTS
from promotions.models import CategoryValue, Channel, CustomCategory, MasterCategory, Product

# Catalog output ------------------------------------------------------------------------------


class CatalogChannelOutput(serializers.ModelSerializer):
    sponsor = serializers.CharField(source="sponsor.key", help_text="The key of the sponsor that issues the points.")
    sponsor_name = serializers.CharField(source="sponsor.name")

    class Meta:
        model = Channel
        fields = ["key", "name", "kind", "sponsor", "sponsor_name", "active", "updated_at"]


class ProductCategoryOutput(serializers.Serializer):
    master_category = serializers.CharField(source="master.key", help_text="e.g. `department`.")
    master_category_name = serializers.CharField(source="master.name")
    value = serializers.CharField(source="value.key", help_text="e.g. `coffee`: what rules compare with.")
    value_name = serializers.CharField(source="value.name")


class ProductCustomCategoryOutput(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": {"type": "string"},
        "description": "{master category key: value key}: the facts rules read as `line.category.<master>`.",
        "example": {"department": "coffee", "brand": "northwind-roasters", "season": "all-year"},
    }
)
class CategoryMapField(serializers.Field):
    def to_representation(self, links):
        return {link.master.key: link.value.key for link in links.all()}


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": {"oneOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}]},
        "example": {"organic": True, "size": "500g"},
    }
)
class AttributesField(serializers.JSONField):
    pass


class CatalogProductOutput(serializers.ModelSerializer):
    channel = serializers.CharField(source="channel.key", help_text="The channel's key.")
    attributes = AttributesField()
    categories = CategoryMapField(source="category_links")
    custom_categories = serializers.SlugRelatedField(
        slug_field="key", many=True, read_only=True, help_text="Keys of the custom categories holding the product."
    )

    class Meta:
        model = Product
        fields = [
            "channel",
            "key",
            "name",
            "brand",
            "price",
            "active",
            "attributes",
            "categories",
            "custom_categories",
            "updated_at",
        ]


class CatalogProductDetailsOutput(CatalogProductOutput):
    channel_details = CatalogChannelOutput(source="channel")
    category_values = ProductCategoryOutput(source="category_links", many=True)
    custom_category_details = ProductCustomCategoryOutput(source="custom_categories", many=True)

    class Meta(CatalogProductOutput.Meta):
        fields = [
            *CatalogProductOutput.Meta.fields,
            "channel_details",
            "category_values",
            "custom_category_details",
            "created_at",
        ]


class MasterCategoryOutput(serializers.ModelSerializer):
    value_count = serializers.IntegerField(help_text="Values in all channels.")

    class Meta:
        model = MasterCategory
        fields = ["key", "name", "description", "value_count", "updated_at"]


class CategoryValueOutput(serializers.ModelSerializer):
    master_category = serializers.CharField(source="master.key")
    channel = serializers.CharField(source="channel.key")
    product_count = serializers.IntegerField(help_text="Products of the channel that have this value.")

    class Meta:
        model = CategoryValue
        fields = ["key", "name", "master_category", "channel", "product_count", "updated_at"]


# Custom category input and answer -----------------------------------------------------------


class CustomCategoryProductInput(StrictInputSerializer):
    channel = serializers.CharField(max_length=40, help_text="The channel's key.")
    product_key = serializers.CharField(max_length=64, help_text="The product's key in that channel.")


class CustomCategoryInput(StrictInputSerializer):
    key = serializers.CharField(
        max_length=40,
        validators=[key_validator],
        help_text="The custom category; created when it does not exist.",
    )
    name = serializers.CharField(
        max_length=120, required=False, help_text="Changes only when given; a new category defaults to its key."
    )
    description = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    products = CustomCategoryProductInput(
        many=True,
        max_length=MAX_CUSTOM_CATEGORY_PRODUCTS,
        help_text="Products to assign. If any is not in the catalog, nothing changes and the answer "
        "(400 `unknown_products`) lists each one.",
    )
    replace = serializers.BooleanField(
        default=False,
        help_text="true: the category holds exactly these products afterwards (an empty list empties it); "
        "false (default): they are added to the ones it has.",
    )


class CustomCategoryResultOutput(serializers.ModelSerializer):
    created = serializers.BooleanField(help_text="true when this call created the custom category.")
    added = serializers.IntegerField(help_text="Products this call added.")
    removed = serializers.IntegerField(help_text="Products this call removed (only with `replace`).")
    product_count = serializers.IntegerField(help_text="Products in the category now.")

    class Meta:
        model = CustomCategory
        fields = ["key", "name", "description", "created", "added", "removed", "product_count", "updated_at"]

    def to_representation(self, result) -> dict[str, Any]:
        category = result.custom_category
        for name in ("created", "added", "removed", "product_count"):
            setattr(category, name, getattr(result, name))
        return super().to_representation(category)


# The program ---------------------------------------------------------------------------------


class ProgramSponsorOutput(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    is_default = serializers.BooleanField(help_text="Applies where a request names no sponsor.")


class PointTypeExpiryOutput(serializers.Serializer):
    policy = serializers.CharField(
        source="expiry_policy",
        help_text="`never`, `months`, `end_of_month`, `end_of_quarter` or `end_of_year`.",
    )
    months = serializers.SerializerMethodField(help_text="The N of the policy; null for `never`.")

    def get_months(self, point_type) -> int | None:
        return None if point_type.expiry_policy == "never" else point_type.expiry_months


class ProgramPointTypeOutput(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    redeemable = serializers.BooleanField()
    transferable = serializers.BooleanField()
    precision = serializers.IntegerField(help_text="Decimal places of its points.")
    is_main = serializers.BooleanField(help_text="The main redeemable type: used where a request names none.")
    maturation_days = serializers.IntegerField(help_text="Earned points are blocked this many days.")
    expiry = PointTypeExpiryOutput(source="*")


class ProgramTierOutput(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    rank = serializers.IntegerField(help_text="1 is the entry tier; higher is better.")
    qualification_threshold = serializers.DecimalField(max_digits=14, decimal_places=4)
    qualification_window_months = serializers.IntegerField()
    description = serializers.CharField()


class ProgramMembershipTypeOutput(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    is_company = serializers.BooleanField()
    is_default = serializers.BooleanField()


class ProgramChannelOutput(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=Channel.Kind.choices)
    sponsor = serializers.CharField(source="sponsor.key")


class BasePromotionSummaryOutput(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    point_type = serializers.CharField()
    description = serializers.CharField(help_text="The earning in words, e.g. 1 point per EUR 1.00.")


class ProgramEarningOutput(serializers.Serializer):
    unknown_products = serializers.ChoiceField(
        choices=[("ignore", "ignore"), ("qualify", "qualify")],
        help_text="What a line with a product the catalog does not know earns: nothing (`ignore`) or like "
        "any product (`qualify`).",
    )
    base_promotions = BasePromotionSummaryOutput(
        many=True, help_text="The active base promotions (the base earning); empty while none is defined."
    )


class ProgramOutput(serializers.Serializer):
    name = serializers.CharField()
    currency = serializers.CharField(help_text="ISO 4217 code of purchase amounts.")
    time_zone = serializers.CharField(help_text="IANA name; promotion hours and days use it.")
    points_precision = serializers.IntegerField()
    rounding = serializers.CharField(help_text="`half_up`, `half_even`, `down` or `up`.")
    sponsors = ProgramSponsorOutput(many=True, help_text="Active sponsors.")
    point_types = ProgramPointTypeOutput(many=True, help_text="Active point types, the main one first.")
    tiers = ProgramTierOutput(many=True, help_text="By rank, entry tier first.")
    membership_types = ProgramMembershipTypeOutput(many=True, help_text="Active membership types.")
    channels = ProgramChannelOutput(many=True, help_text="Active channels.")
    earning = ProgramEarningOutput()
