"""Every write of the catalog. The API, the admin, the demo and imports call these.

Each service runs in one transaction, validates, writes, records its audit entry and emits its
event in that transaction, and refuses with a DomainError (promotions.errors) that leaves nothing
written. A call that changes nothing writes nothing (no audit entry, no event), so a sync that
sends the same catalog again is cheap and quiet.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, models, transaction

from loyalty.actors import Actor
from loyalty.api.errors import camel
from loyalty.audit import diff_fields, record_audit
from loyalty.bulk import audit_columns, current_txid, insert_rows
from loyalty.configuration import bump_catalog
from loyalty.models import AuditEntry, Event, Sponsor
from loyalty.outbox import emit_event
from loyalty.services import save_configuration
from promotions import events
from promotions.errors import (
    CategoryValueWrongChannel,
    InvalidCatalogData,
    UnknownCategory,
    UnknownProducts,
)
from promotions.models import (
    CategoryValue,
    Channel,
    CustomCategory,
    MasterCategory,
    Product,
    ProductCategory,
)

MAX_CUSTOM_CATEGORY_PRODUCTS = 10_000
AUDIT_LIST_LIMIT = 100  # products named one by one in an audit entry; the counts are always complete
LOOKUP_CHUNK = 500  # keys per IN (...) query, well under every backend's parameter limit

ProductRef = tuple[str, str]  # (channel key, product key)


def _validation_errors(exc: DjangoValidationError) -> list[dict[str, Any]]:
    return [
        {"field": camel(field) if field != "__all__" else "", "code": "invalid", "message": str(message)}
        for field, messages in exc.message_dict.items()
        for message in messages
    ]


def _full_clean(instance: models.Model, what: str, **kwargs: Any) -> None:
    try:
        instance.full_clean(**kwargs)
    except DjangoValidationError as exc:
        raise InvalidCatalogData(f"The {what} is not valid.", errors=_validation_errors(exc)) from exc


def _values(instance: models.Model, names: Iterable[str]) -> dict[str, Any]:
    return {name: getattr(instance, name) for name in names}


def _insert(instance: models.Model) -> bool:
    """Save a new row; False when a concurrent transaction created the same key first."""
    try:
        with transaction.atomic():
            instance.save(force_insert=True)
    except IntegrityError:
        return False
    return True


def _ref(product: Product, channel_key: str | None = None) -> str:
    return f"{channel_key or product.channel.key}/{product.key}"


# Channels and master categories: program configuration --------------------------------------


def save_channel(*, key: str, name: str, kind: str, sponsor: Sponsor, active: bool = True, actor: Actor) -> Channel:
    """Create the channel or bring it up to date (audited as `channel.created` / `channel.updated`)."""
    channel = Channel.objects.filter(key=key).first() or Channel(key=key)
    channel.name, channel.kind, channel.sponsor, channel.active = name, kind, sponsor, active
    return save_configuration(channel, actor=actor)


def save_master_category(*, key: str, name: str, description: str = "", actor: Actor) -> MasterCategory:
    master = MasterCategory.objects.filter(key=key).first() or MasterCategory(key=key)
    master.name, master.description = name, description
    return save_configuration(master, actor=actor)


# Category values -----------------------------------------------------------------------------


def _value_fields(value: CategoryValue) -> dict[str, Any]:
    return {"key": value.key, "name": value.name, "channel": value.channel.key}


@transaction.atomic
def save_category_value(
    *,
    master: MasterCategory,
    channel: Channel,
    key: str,
    name: str,
    actor: Actor,
    value: CategoryValue | None = None,
) -> CategoryValue:
    """Create or update a value of `master` in `channel`.

    Without `value`, the value is found by (master, channel, key) and created when missing; with
    it, that value is updated to the given fields. A value keeps its master category, and moves to
    another channel only while no product has it (a product takes values of its own channel).
    """
    locked = CategoryValue.objects.select_for_update(of=("self",)).select_related("channel")
    if value is not None:
        stored = locked.filter(pk=value.pk).first()
    else:
        stored = locked.filter(master=master, channel=channel, key=key).first()
    creating = stored is None
    before = {} if creating else _value_fields(stored)
    instance = stored or CategoryValue(master=master)
    if not creating and instance.master_id != master.pk:
        raise InvalidCatalogData("A category value cannot move to another master category.", code="invalid_category")
    if not creating and instance.channel_id != channel.pk and instance.product_links.exists():
        raise CategoryValueWrongChannel(
            f"{instance.key} is assigned to products of its channel: it cannot move to {channel.key}."
        )
    instance.channel, instance.key, instance.name = channel, key, name
    _full_clean(instance, "category value")
    changes = diff_fields(before, _value_fields(instance))
    if not creating and not changes:
        return instance
    if creating:
        if not _insert(instance):
            return save_category_value(master=master, channel=channel, key=key, name=name, actor=actor)
    else:
        instance.save()
    verb = "created" if creating else "updated"
    label = f"{master.key}:{channel.key}/{instance.key}"
    record_audit(actor, f"categoryvalue.{verb}", instance, object_repr=label, changes=changes)
    emit_event(
        events.CATEGORY_VALUE_CREATED if creating else events.CATEGORY_VALUE_UPDATED,
        payload={"masterCategory": master.key, "channel": channel.key, "key": instance.key, "changes": changes},
    )
    return instance


@transaction.atomic
def delete_category_value(*, value: CategoryValue, actor: Actor) -> None:
    """Delete a value; the products that had it lose it (the audit entry counts them)."""
    value = CategoryValue.objects.select_for_update(of=("self",)).select_related("master", "channel").get(pk=value.pk)
    label = f"{value.master.key}:{value.channel.key}/{value.key}"
    products = value.product_links.count()
    pk = value.pk
    value.delete()
    record_audit(
        actor,
        "categoryvalue.deleted",
        object_type=CategoryValue._meta.label_lower,
        object_id=str(pk),
        object_repr=label,
        changes={"products": [products, 0]},
    )
    emit_event(
        events.CATEGORY_VALUE_DELETED,
        payload={"masterCategory": value.master.key, "channel": value.channel.key, "key": value.key},
    )


# Products ------------------------------------------------------------------------------------

PRODUCT_FIELDS = ("name", "brand", "price", "attributes", "active")


def _price(value: Any) -> Decimal:
    try:
        price = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise InvalidCatalogData(
            f"{value!r} is not a price.", errors=[{"field": "price", "code": "invalid", "message": "Not a number."}]
        ) from exc
    if not price.is_finite():
        raise InvalidCatalogData(
            f"{value!r} is not a price.", errors=[{"field": "price", "code": "invalid", "message": "Not a number."}]
        )
    return price


def _apply_categories(product: Product, categories: Mapping[str, str | None]) -> dict[str, list[Any]]:
    """Make {master key: value key} the product's whole classification. Returns the audit diff."""
    wanted = {master: value for master, value in categories.items() if value}
    masters = {m.key: m for m in MasterCategory.objects.filter(key__in=list(wanted))}
    unknown_masters = sorted(set(wanted) - set(masters))
    if unknown_masters:
        raise UnknownCategory(
            f"Unknown master categories: {', '.join(unknown_masters)}.",
            errors=[
                {"field": f"categories.{key}", "code": "unknown_category", "message": "No such master category."}
                for key in unknown_masters
            ],
        )
    values = {
        (v.master_id, v.key): v
        for v in CategoryValue.objects.filter(
            channel_id=product.channel_id, master__in=masters.values(), key__in=set(wanted.values())
        )
    }
    missing = [(m, v) for m, v in wanted.items() if (masters[m].pk, v) not in values]
    if missing:
        channel_key = product.channel.key
        raise UnknownCategory(
            "Unknown category values in channel "
            f"{channel_key}: {', '.join(f'{m}:{v}' for m, v in missing)} (add them to the master category first).",
            errors=[
                {
                    "field": f"categories.{m}",
                    "code": "unknown_category",
                    "message": f"{m} has no value {v!r} in channel {channel_key}.",
                }
                for m, v in missing
            ],
        )
    links = {
        link.master_id: link
        for link in ProductCategory.objects.filter(product=product).select_related("master", "value")
    }
    before = dict(sorted((link.master.key, link.value.key) for link in links.values()))
    target = {masters[m].pk: values[(masters[m].pk, v)] for m, v in wanted.items()}
    stale = [link.pk for master_id, link in links.items() if master_id not in target]
    if stale:
        ProductCategory.objects.filter(pk__in=stale).delete()
    for master_id, value in target.items():
        link = links.get(master_id)
        if link is None:
            ProductCategory.objects.create(product=product, master_id=master_id, value=value)
        elif link.value_id != value.pk:
            ProductCategory.objects.filter(pk=link.pk).update(value=value)
    after = dict(sorted(wanted.items()))
    if before == after:
        return {}
    bump_catalog()  # the update above sends no signal
    return {"categories": [before, after]}


@transaction.atomic
def save_product(
    *,
    channel: Channel,
    key: str,
    name: str,
    price: Decimal | str | int = 0,
    brand: str = "",
    attributes: Mapping[str, Any] | None = None,
    active: bool = True,
    categories: Mapping[str, str | None] | None = None,
    actor: Actor,
) -> Product:
    """Create the product `key` of `channel`, or bring it up to date.

    `categories` ({master category key: value key}) is the product's whole classification: masters
    left out lose their value; values must exist in the product's channel. None leaves the
    classification as it is; so does `attributes=None` for an existing product.
    """
    stored = Product.objects.select_for_update(of=("self",)).filter(channel=channel, key=key).first()
    creating = stored is None
    before = {} if creating else _values(stored, PRODUCT_FIELDS)
    product = stored or Product(channel=channel, key=key)
    product.channel = channel  # the caller's instance: no query for its key below
    product.name, product.brand, product.price, product.active = name, brand, _price(price), active
    if attributes is not None or creating:
        product.attributes = dict(attributes or {})
    _full_clean(product, "product", exclude=["channel"], validate_unique=False, validate_constraints=False)
    changes = diff_fields(before, _values(product, PRODUCT_FIELDS))
    if creating:
        if not _insert(product):  # created concurrently since we looked: update that one
            return save_product(
                channel=channel,
                key=key,
                name=name,
                price=price,
                brand=brand,
                attributes=attributes,
                active=active,
                categories=categories,
                actor=actor,
            )
    elif changes:
        product.save()
    if categories is not None:
        changes.update(_apply_categories(product, categories))
    if not creating and not changes:
        return product
    verb = "created" if creating else "updated"
    record_audit(actor, f"product.{verb}", product, object_repr=_ref(product, channel.key), changes=changes)
    emit_event(
        events.PRODUCT_CREATED if creating else events.PRODUCT_UPDATED,
        payload={"channel": channel.key, "key": key, "changes": sorted(changes)},
    )
    return product


@transaction.atomic
def create_products(*, actor: Actor, products: list[dict[str, Any]]) -> list[Product | None]:
    """The bulk form of `save_product` for new products: for each of `products` (save_product's
    keyword arguments), the product when it was created here, with the same row, audit entry and
    event save_product writes, in one statement per table; or None when it is left to save_product:
    a key the channel has already (an update), a key given twice, categories given, or a value the
    model's validation refuses (save_product then refuses it with its own code). A product created
    concurrently makes the insert fail (IntegrityError) and the whole call roll back."""
    results: list[Product | None] = [None] * len(products)
    candidates: dict[int, tuple[Product, dict[str, list[Any]]]] = {}
    for index, values in enumerate(products):
        if values.get("categories") is not None:
            continue
        channel = values["channel"]
        product = Product(channel=channel, key=values["key"])
        product.name, product.brand = values["name"], values.get("brand", "")
        product.active = values.get("active", True)
        product.attributes = dict(values.get("attributes") or {})
        try:
            product.price = _price(values.get("price", 0))
            _full_clean(product, "product", exclude=["channel"], validate_unique=False, validate_constraints=False)
        except InvalidCatalogData:
            continue
        candidates[index] = (product, diff_fields({}, _values(product, PRODUCT_FIELDS)))
    refs = [(p.channel_id, p.key) for p, _ in candidates.values()]
    seen: set[tuple[int, str]] = set()
    twice = {ref for ref in refs if ref in seen or seen.add(ref)}
    stored: set[tuple[int, str]] = set()
    by_channel: dict[int, list[str]] = {}
    for channel_id, key in refs:
        by_channel.setdefault(channel_id, []).append(key)
    for channel_id, keys in by_channel.items():
        for start in range(0, len(keys), LOOKUP_CHUNK):
            found = Product.objects.filter(channel_id=channel_id, key__in=keys[start : start + LOOKUP_CHUNK])
            stored |= {(channel_id, key) for key in found.values_list("key", flat=True)}
    fresh = {i: c for i, c in candidates.items() if (c[0].channel_id, c[0].key) not in twice | stored}
    if not fresh:
        return results
    rows = [
        {name: getattr(product, name) for name in ("channel_id", "key", *PRODUCT_FIELDS)}
        for product, _ in fresh.values()
    ]
    bump_catalog()  # rows by COPY send no signals
    for (product, _), pk in zip(fresh.values(), insert_rows(Product, rows, ids=True), strict=True):
        product.pk = pk
    who, txid = audit_columns(actor), current_txid()
    audits, outbox = [], []
    for index, (product, changes) in fresh.items():
        channel_key = product.channel.key
        audits.append(
            {
                **who,
                "action": "product.created",
                "object_type": Product._meta.label_lower,
                "object_id": str(product.pk),
                "object_repr": _ref(product, channel_key)[:200],
                "changes": changes,
            }
        )
        outbox.append(
            {
                "type": events.PRODUCT_CREATED,
                "txid": txid,
                "payload": {"channel": channel_key, "key": product.key, "changes": sorted(changes)},
            }
        )
        results[index] = product
    insert_rows(AuditEntry, audits)
    insert_rows(Event, outbox)
    return results


# Custom categories ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CustomCategoryResult:
    custom_category: CustomCategory
    created: bool
    added: int
    removed: int
    product_count: int


def resolve_products(refs: list[ProductRef]) -> dict[ProductRef, int]:
    """{(channel key, product key): product id} for the refs the catalog has (a query per 500 keys)."""
    found: dict[ProductRef, int] = {}
    by_channel: dict[str, list[str]] = {}
    for channel_key, product_key in refs:
        by_channel.setdefault(channel_key, []).append(product_key)
    for channel_key, product_keys in by_channel.items():
        for start in range(0, len(product_keys), LOOKUP_CHUNK):
            rows = Product.objects.filter(
                channel__key=channel_key, key__in=product_keys[start : start + LOOKUP_CHUNK]
            ).values_list("key", "id")
            found.update({(channel_key, product_key): pk for product_key, pk in rows})
    return found


def _unknown_products_error(refs: list[ProductRef], found: Mapping[ProductRef, int]) -> UnknownProducts | None:
    missing = [(index, ref) for index, ref in enumerate(refs) if ref not in found]
    if not missing:
        return None
    listed = ", ".join(f"{c}/{p}" for _, (c, p) in missing[:10])
    more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
    return UnknownProducts(
        f"{len(missing)} of the products are not in the catalog: {listed}{more}. Nothing was changed.",
        errors=[
            {
                "field": f"products.{index}",
                "code": "unknown_product",
                "message": f"Channel {channel_key!r} has no product {product_key!r}.",
            }
            for index, (channel_key, product_key) in missing
        ],
    )


def _product_labels(ids: Iterable[int]) -> list[str]:
    ids = sorted(ids)[:AUDIT_LIST_LIMIT]
    rows = Product.objects.filter(pk__in=ids).values_list("channel__key", "key").order_by("channel__key", "key")
    return [f"{c}/{p}" for c, p in rows]


@transaction.atomic
def set_custom_category(
    *,
    key: str,
    products: Iterable[ProductRef],
    replace: bool,
    actor: Actor,
    name: str | None = None,
    description: str | None = None,
) -> CustomCategoryResult:
    """Create or update the custom category `key` and assign products to it.

    `products` are (channel key, product key) pairs. With `replace` the category holds exactly
    these products afterwards; without it they are added to the ones it has. If any product is
    not in the catalog, nothing is written and UnknownProducts lists each one (by its position in
    `products`). `name` and `description` change only when given; a new category without a name
    is named after its key.
    """
    refs = [(str(c), str(p)) for c, p in products]
    if len(refs) > MAX_CUSTOM_CATEGORY_PRODUCTS:
        raise InvalidCatalogData(
            f"At most {MAX_CUSTOM_CATEGORY_PRODUCTS} products per call; add more with replace=false.",
            code="too_many_products",
        )
    found = resolve_products(list(dict.fromkeys(refs)))
    error = _unknown_products_error(refs, found)
    if error is not None:
        raise error
    stored = CustomCategory.objects.select_for_update().filter(key=key).first()
    creating = stored is None
    before = {} if creating else _values(stored, ("name", "description"))
    category = stored or CustomCategory(key=key, name=key, description="")
    if name is not None:
        category.name = name
    if description is not None:
        category.description = description
    _full_clean(category, "custom category", validate_unique=False)
    changes = diff_fields(before, _values(category, ("name", "description")))
    if creating and not _insert(category):  # created concurrently: add to (or replace) that one
        return set_custom_category(
            key=key, products=refs, replace=replace, actor=actor, name=name, description=description
        )
    Link = CustomCategory.products.through
    current = (
        set() if creating else set(Link.objects.filter(customcategory=category).values_list("product_id", flat=True))
    )
    wanted = set(found.values())
    to_add = wanted - current
    to_remove = (current - wanted) if replace else set()
    if to_add:
        Link.objects.bulk_create(
            [Link(customcategory=category, product_id=pk) for pk in sorted(to_add)], batch_size=LOOKUP_CHUNK
        )
    removed_ids = sorted(to_remove)
    for start in range(0, len(removed_ids), LOOKUP_CHUNK):
        Link.objects.filter(customcategory=category, product_id__in=removed_ids[start : start + LOOKUP_CHUNK]).delete()
    if to_add or to_remove:
        bump_catalog()  # links are written in bulk: no signals
    count = len(current) + len(to_add) - len(to_remove)
    result = CustomCategoryResult(category, creating, len(to_add), len(to_remove), count)
    if not creating and not changes and not to_add and not to_remove:
        return result
    if not creating:
        category.save()  # name, description and updated_at; its post_save moves the catalog generation
    if to_add or to_remove:
        changes["products"] = [len(current), count]
    if to_add:
        changes["products_added"] = _product_labels(to_add)
    if to_remove:
        changes["products_removed"] = _product_labels(to_remove)
    verb = "created" if creating else "updated"
    record_audit(actor, f"customcategory.{verb}", category, object_repr=category.key, changes=changes)
    emit_event(
        events.CUSTOM_CATEGORY_CREATED if creating else events.CUSTOM_CATEGORY_UPDATED,
        payload={"key": category.key, "added": len(to_add), "removed": len(to_remove), "productCount": count},
    )
    return result


@transaction.atomic
def delete_custom_category(*, custom_category: CustomCategory, actor: Actor) -> None:
    category = CustomCategory.objects.select_for_update().get(pk=custom_category.pk)
    count = category.products.count()
    pk, key = category.pk, category.key
    category.delete()
    record_audit(
        actor,
        "customcategory.deleted",
        object_type=CustomCategory._meta.label_lower,
        object_id=str(pk),
        object_repr=key,
        changes={"products": [count, 0]},
    )
    emit_event(events.CUSTOM_CATEGORY_DELETED, payload={"key": key, "productCount": count})


@transaction.atomic
def set_product_category(
    *, product: Product, master: MasterCategory, value: CategoryValue | None, actor: Actor
) -> Product:
    """Give the product `value` for `master` (None removes it), leaving its other categories as they are."""
    product = Product.objects.select_for_update(of=("self",)).select_related("channel").get(pk=product.pk)
    if value is not None and value.master_id != master.pk:
        raise InvalidCatalogData(f"{value.key} is not a value of {master.key}.", code="invalid_category")
    if value is not None and value.channel_id != product.channel_id:
        raise CategoryValueWrongChannel(
            f"{value.key} is a value of another channel; {_ref(product)} takes values of {product.channel.key}."
        )
    current = dict(ProductCategory.objects.filter(product=product).values_list("master__key", "value__key").order_by())
    wanted = {**current, master.key: value.key if value is not None else None}
    changes = _apply_categories(product, wanted)
    if not changes:
        return product
    record_audit(actor, "product.updated", product, object_repr=_ref(product), changes=changes)
    emit_event(
        events.PRODUCT_UPDATED,
        payload={"channel": product.channel.key, "key": product.key, "changes": sorted(changes)},
    )
    return product
