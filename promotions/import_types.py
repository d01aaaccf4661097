"""Import types of the catalog: products, category values and custom categories."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from imports.registry import ApplyContext, BulkItem, ImportType, check, register
from loyalty.api.serializers import DecimalStringField, StrictInputSerializer
from promotions.catalog_selectors import channel_by_key, master_category_by_key
from promotions.catalog_services import create_products, save_category_value, save_product, set_custom_category
from promotions.serializers import CustomCategoryInput


def _channel(context: ApplyContext, key: str):
    return context.cached("channel", key, lambda: channel_by_key(key))


# Products ----------------------------------------------------------------------------------------


def _categories(value: Any) -> dict[str, str | None]:
    """A JSON object {master: value}, or text `master:value|master:value`."""
    if isinstance(value, dict):
        return {str(k): (str(v) if v not in (None, "") else None) for k, v in value.items()}
    pairs: dict[str, str | None] = {}
    for part in str(value).split("|"):
        if not part.strip():
            continue
        master, sep, key = part.partition(":")
        if not sep or not master.strip():
            raise serializers.ValidationError("Give master:value pairs separated by `|`, or a JSON object.")
        pairs[master.strip()] = key.strip() or None
    return pairs


class CategoriesField(serializers.Field):
    def to_internal_value(self, data):
        return _categories(data)

    def to_representation(self, value):
        return value


class ProductRecord(StrictInputSerializer):
    channel = serializers.CharField(max_length=40, help_text="The channel's key.")
    key = serializers.CharField(max_length=64, help_text="The product's key in the channel (SKU).")
    name = serializers.CharField(max_length=200)
    price = DecimalStringField(max_digits=12, decimal_places=2, required=False, default=0, min_value=0)
    brand = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    active = serializers.BooleanField(required=False, default=True)
    attributes = serializers.JSONField(required=False, help_text="A JSON object; left out keeps the stored ones.")
    categories = CategoriesField(
        required=False,
        help_text="The whole classification: `master:value|master:value` or a JSON object; left out keeps it.",
    )


def apply_product(data: dict[str, Any], context: ApplyContext) -> dict[str, Any]:
    if "attributes" in data and not isinstance(data["attributes"], dict):
        raise serializers.ValidationError({"attributes": ["Give a JSON object."]})
    product = save_product(
        channel=_channel(context, data["channel"]),
        key=data["key"],
        name=data["name"],
        price=data["price"],
        brand=data["brand"],
        attributes=data.get("attributes"),
        active=data["active"],
        categories=data.get("categories"),
        actor=context.actor,
    )
    return {"channel": data["channel"], "key": product.key}


def bulk_products(items: list[BulkItem]) -> None:
    """New products of a chunk through create_products; what it leaves (None: updates, categories,
    anything it might refuse) goes to apply_product one by one, so refusals come from save_product."""
    from loyalty.errors import DomainError

    by_actor: dict[int, list[tuple[BulkItem, dict[str, Any]]]] = {}
    for item in items:
        data = item.values
        if "attributes" in data and not isinstance(data["attributes"], dict):
            continue
        try:
            channel = _channel(item.context, data["channel"])
        except DomainError:
            continue
        product = {
            "channel": channel,
            "key": data["key"],
            "name": data["name"],
            "price": data["price"],
            "brand": data["brand"],
            "attributes": data.get("attributes"),
            "active": data["active"],
            "categories": data.get("categories"),
        }
        by_actor.setdefault(id(item.context.actor), []).append((item, product))
    for group in by_actor.values():
        created = create_products(actor=group[0][0].context.actor, products=[p for _, p in group])
        for (item, _), product in zip(group, created, strict=True):
            if product is not None:
                item.result = {"channel": item.values["channel"], "key": product.key}


register(
    ImportType(
        key="products",
        title="Products",
        description="Create or update catalog products of a channel, with their category values.",
        serializer=ProductRecord,
        apply=apply_product,
        apply_bulk=bulk_products,
        app="promotions",
        example={
            "channel": "webshop",
            "key": "COF-001",
            "name": "Espresso beans",
            "price": "6.49",
            "brand": "Northwind Roasters",
            "categories": "department:coffee|season:summer",
        },
    )
)


# Category values ---------------------------------------------------------------------------------


class CategoryValueRecord(StrictInputSerializer):
    master_category = serializers.CharField(max_length=40, help_text="The master category's key.")
    channel = serializers.CharField(max_length=40)
    key = serializers.CharField(max_length=40)
    name = serializers.CharField(max_length=120)


def apply_category_value(data: dict[str, Any], context: ApplyContext) -> dict[str, Any]:
    value = save_category_value(
        master=context.cached(
            "master", data["master_category"], lambda: master_category_by_key(data["master_category"])
        ),
        channel=_channel(context, data["channel"]),
        key=data["key"],
        name=data["name"],
        actor=context.actor,
    )
    return {"key": value.key}


register(
    ImportType(
        key="categoryValues",
        title="Category values",
        description="Create or update values of a master category in a channel.",
        serializer=CategoryValueRecord,
        apply=apply_category_value,
        app="promotions",
        example={"masterCategory": "department", "channel": "webshop", "key": "coffee", "name": "Coffee"},
    )
)


# Custom categories -------------------------------------------------------------------------------


class CustomCategoryRecord(StrictInputSerializer):
    key = serializers.CharField(max_length=40)
    name = serializers.CharField(max_length=120, required=False)
    description = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    products = serializers.JSONField(
        help_text="Products to assign: `channel/productKey|channel/productKey`, or a JSON array of "
        "{channel, productKey}."
    )
    replace = serializers.BooleanField(required=False, default=False)

    def validate(self, attrs):
        products = attrs["products"]
        if isinstance(products, str):
            refs = []
            for part in products.split("|"):
                channel, sep, key = part.strip().partition("/")
                if not sep:
                    raise serializers.ValidationError({"products": ["Give channel/productKey pairs separated by |."]})
                refs.append({"channel": channel, "product_key": key})
            products = refs
        elif isinstance(products, list):
            products = [
                {("product_key" if k == "productKey" else k): v for k, v in p.items()} if isinstance(p, dict) else p
                for p in products
            ]
        data = {k: v for k, v in attrs.items() if k != "products"}
        data["products"] = products
        return check(CustomCategoryInput, data)


def apply_custom_category(data: dict[str, Any], context: ApplyContext) -> dict[str, Any]:
    result = set_custom_category(
        key=data["key"],
        name=data.get("name"),
        description=data.get("description"),
        products=[(item["channel"], item["product_key"]) for item in data["products"]],
        replace=data["replace"],
        actor=context.actor,
    )
    return {"key": result.custom_category.key, "added": result.added, "removed": result.removed}


register(
    ImportType(
        key="customCategories",
        title="Custom categories",
        description="Set a custom category and assign products to it (as POST /promos/product/customcategory).",
        serializer=CustomCategoryRecord,
        apply=apply_custom_category,
        app="promotions",
        example={"key": "coffee-lovers", "name": "Coffee lovers", "products": "webshop/COF-001|webshop/COF-002"},
    )
)
