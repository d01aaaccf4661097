"""Reads of the catalog and of the program overview. Each runs a fixed number of queries."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypedDict

from django.db.models import Count, Prefetch, QuerySet

from ledger.models import PointType
from loyalty.models import MembershipType, Program, Sponsor, Tier
from promotions.errors import CategoryNotFound, ChannelNotFound, ProductNotFound
from promotions.models import CategoryValue, Channel, CustomCategory, MasterCategory, Product, ProductCategory

MAX_PATH_KEY_LENGTH = 64


def _plausible_key(key: str) -> bool:
    """A key from a URL that cannot exist is a 404 without a query (and without NUL bytes in SQL)."""
    return 0 < len(key) <= MAX_PATH_KEY_LENGTH and key.isprintable()


# Channels ------------------------------------------------------------------------------------


def channels() -> QuerySet[Channel]:
    return Channel.objects.select_related("sponsor").order_by("key")


def channel_by_key(key: str) -> Channel:
    channel = Channel.objects.select_related("sponsor").filter(key=key).first() if _plausible_key(key) else None
    if channel is None:
        raise ChannelNotFound(f"No channel has the key {key[:MAX_PATH_KEY_LENGTH]!r}.")
    return channel


# Products ------------------------------------------------------------------------------------


def products() -> QuerySet[Product]:
    """Products with their channel, category values and custom categories: 3 queries per page."""
    return (
        Product.objects.select_related("channel")
        .prefetch_related(
            Prefetch(
                "category_links",
                queryset=ProductCategory.objects.select_related("master", "value").order_by("master__key"),
            ),
            Prefetch("custom_categories", queryset=CustomCategory.objects.order_by("key")),
        )
        .order_by("channel_id", "key")
    )


def product_by_key(channel_key: str, product_key: str) -> Product:
    """One product with everything its details show; channel_not_found or product_not_found."""
    channel = channel_by_key(channel_key)
    product = (
        products().select_related("channel__sponsor").filter(channel=channel, key=product_key).first()
        if _plausible_key(product_key)
        else None
    )
    if product is None:
        raise ProductNotFound(f"Channel {channel.key!r} has no product {product_key[:MAX_PATH_KEY_LENGTH]!r}.")
    return product


class ProductFacts(TypedDict):
    known: bool
    active: bool
    brand: str
    categories: dict[str, str]
    custom_categories: list[str]
    attributes: dict[str, Any]


def unknown_product_facts() -> ProductFacts:
    return {
        "known": False,
        "active": False,
        "brand": "",
        "categories": {},
        "custom_categories": [],
        "attributes": {},
    }


def product_facts(channel_key: str, product_keys: Iterable[str]) -> dict[str, ProductFacts]:
    """What the rules engine knows about the products of a transaction, by product key.

    `categories` is {master category key: value key} (the facts `line.category.<master>`),
    `custom_categories` the sorted keys of the custom categories holding the product
    (`line.customCategories`). A key the channel does not have (or an unknown channel) answers
    `known: False` with empty facts. At most 3 queries whatever the number of keys (1 when none
    is known).
    """
    keys = list(dict.fromkeys(product_keys))
    facts: dict[str, ProductFacts] = {key: unknown_product_facts() for key in keys}
    if not keys:
        return facts
    rows = Product.objects.filter(channel__key=channel_key, key__in=keys).values_list(
        "id", "key", "active", "brand", "attributes"
    )
    by_id: dict[int, ProductFacts] = {}
    for pk, key, active, brand, attributes in rows:
        facts[key] = by_id[pk] = {
            "known": True,
            "active": active,
            "brand": brand,
            "categories": {},
            "custom_categories": [],
            "attributes": attributes or {},
        }
    if not by_id:
        return facts
    links = ProductCategory.objects.filter(product_id__in=list(by_id)).values_list(
        "product_id", "master__key", "value__key"
    )
    for pk, master_key, value_key in links:
        by_id[pk]["categories"][master_key] = value_key
    memberships = (
        CustomCategory.products.through.objects.filter(product_id__in=list(by_id))
        .values_list("product_id", "customcategory__key")
        .order_by("customcategory__key")
    )
    for pk, category_key in memberships:
        by_id[pk]["custom_categories"].append(category_key)
    return facts


# Categories ----------------------------------------------------------------------------------


def master_categories() -> QuerySet[MasterCategory]:
    return MasterCategory.objects.annotate(value_count=Count("values")).order_by("key")


def master_category_by_key(key: str) -> MasterCategory:
    master = MasterCategory.objects.filter(key=key).first() if _plausible_key(key) else None
    if master is None:
        raise CategoryNotFound(f"No master category has the key {key[:MAX_PATH_KEY_LENGTH]!r}.")
    return master


def category_values(channel: Channel, master: MasterCategory) -> QuerySet[CategoryValue]:
    """The values of `master` in `channel`, each with how many products have it."""
    return (
        CategoryValue.objects.filter(channel=channel, master=master)
        .select_related("master", "channel")
        .annotate(product_count=Count("product_links"))
        .order_by("key")
    )


# The program ---------------------------------------------------------------------------------


def _earning_in_words(effect: dict[str, Any], point_type: str, currency: str) -> str:
    kind = effect["type"]
    if kind == "perAmount":
        return f"{effect['points']} {point_type} per {currency} {effect['per']}"
    if kind == "perItem":
        return f"{effect['points']} {point_type} per item"
    if kind == "fixed":
        return f"{effect['points']} {point_type} per purchase"
    return f"a {effect.get('voucherType', '')} voucher"


def base_promotions(currency: str) -> list[dict[str, Any]]:
    """The active base promotions (the base earning that multipliers refer to), in words."""
    from promotions.selectors import active_promotions

    return [
        {
            "key": promo.key,
            "name": promo.name,
            "point_type": promo.point_type,
            "description": "; ".join(_earning_in_words(e, promo.point_type, currency) for e in promo.effects),
        }
        for promo in sorted(active_promotions(), key=lambda p: p.key)
        if promo.base
    ]


def program_overview() -> dict[str, Any]:
    """GET /promos/program: the program and what integrators discover from it, in 7 queries."""
    program = Program.current()
    return {
        "name": program.name,
        "currency": program.currency,
        "time_zone": program.time_zone,
        "points_precision": program.points_precision,
        "rounding": program.rounding,
        "sponsors": list(Sponsor.objects.filter(active=True).order_by("key")),
        "point_types": list(PointType.objects.filter(active=True).order_by("-is_main", "key")),
        "tiers": list(Tier.objects.order_by("rank")),
        "membership_types": list(MembershipType.objects.filter(active=True).order_by("key")),
        "channels": list(channels().filter(active=True)),
        "earning": {
            "unknown_products": program.unknown_products,
            "base_promotions": base_promotions(program.currency),
        },
    }
