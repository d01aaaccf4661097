"""The product catalog: where members buy (channels), what they buy (products), and how products
are grouped (master categories with their values per channel, and manager-defined custom categories).

Promotion rules refer to these by key (`tx.channel`, `line.productKey`, `line.category.<master>`,
`line.customCategories`); every write goes through promotions.catalog_services.
"""

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models

from loyalty.models.program import key_validator

product_key_validator = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
    "Use letters, digits, '.', '-' and '_' (it appears in API paths), e.g. SKU-1042 or 8712345678901.",
)

MAX_ATTRIBUTES = 50


def validate_attributes(value) -> None:
    """Product attributes: an object of name -> string, number or boolean (what rules can compare)."""
    if not isinstance(value, dict):
        raise ValidationError("Attributes must be an object of name: value.")
    if len(value) > MAX_ATTRIBUTES:
        raise ValidationError(f"At most {MAX_ATTRIBUTES} attributes.")
    for name, item in value.items():
        if not isinstance(name, str) or not name or len(name) > 64:
            raise ValidationError("Attribute names are non-empty texts of at most 64 characters.")
        if item is not None and not isinstance(item, str | int | float | bool):
            raise ValidationError(f"Attribute {name!r} must be a text, a number, a boolean or null.")
        if isinstance(item, str) and len(item) > 500:
            raise ValidationError(f"Attribute {name!r} is longer than 500 characters.")


class Channel(models.Model):
    """Where a purchase happens: a store, a web shop or a partner's outlets, run for one sponsor."""

    class Kind(models.TextChoices):
        STORE = "store", "Store"
        WEBSHOP = "webshop", "Web shop"
        PARTNER = "partner", "Partner"

    key = models.CharField(max_length=40, unique=True, validators=[key_validator], help_text="Used in API calls.")
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.STORE)
    sponsor = models.ForeignKey(
        "loyalty.Sponsor",
        on_delete=models.PROTECT,
        related_name="channels",
        help_text="The sponsor that issues (and pays for) the points earned in this channel.",
    )
    active = models.BooleanField(default=True, help_text="Inactive channels are hidden from lists.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return self.name


class MasterCategory(models.Model):
    """A dimension products are classified along, such as department, brand or season."""

    key = models.CharField(
        max_length=40,
        unique=True,
        validators=[key_validator],
        help_text="Rules refer to it as line.category.<key>, e.g. line.category.department.",
    )
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["key"]
        verbose_name_plural = "master categories"

    def __str__(self) -> str:
        return self.name


class CategoryValue(models.Model):
    """One value of a master category in one channel (department 'coffee' in the web shop).

    Values with the same key in several channels mean the same thing to the rules: a rule on
    `line.category.department eq coffee` matches the coffee of every channel.
    """

    master = models.ForeignKey(
        MasterCategory, on_delete=models.PROTECT, related_name="values", verbose_name="master category"
    )
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="category_values")
    key = models.CharField(max_length=40, validators=[key_validator], help_text="What rules compare with.")
    name = models.CharField(max_length=120)
    products = models.ManyToManyField(
        "Product", through="ProductCategory", related_name="categories", blank=True, editable=False
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["master_id", "channel_id", "key"]
        constraints = [
            models.UniqueConstraint(fields=["master", "channel", "key"], name="category_value_key_per_channel"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.key})"


class Product(models.Model):
    """A product as one channel sells it. The key is the channel's own product code (SKU, EAN)."""

    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="products")
    key = models.CharField(max_length=64, validators=[product_key_validator], help_text="Unique within the channel.")
    name = models.CharField(max_length=200)
    brand = models.CharField(max_length=120, blank=True)
    price = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        default=0,
        validators=[MinValueValidator(0)],
        help_text="The list price in the program's currency (transactions carry their own amounts).",
    )
    attributes = models.JSONField(
        default=dict,
        blank=True,
        validators=[validate_attributes],
        help_text='Other facts rules can use, e.g. {"organic": true, "size": "500g"}.',
    )
    active = models.BooleanField(default=True, help_text="Inactive products are kept (old receipts name them).")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["channel_id", "key"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "key"], name="product_key_per_channel"),
        ]
        indexes = [
            # Exact lookups across channels (`key`, `brand` filters) and "changed since" for syncs.
            # The text search (`q`) has trigram indexes on PostgreSQL, made by migration 0001.
            models.Index(fields=["key"], name="product_key_idx"),
            models.Index(fields=["brand"], name="product_brand_idx"),
            models.Index(fields=["updated_at", "id"], name="product_updated_idx"),
        ]

    def __str__(self) -> str:
        # Names the channel: the same key in several channels is several products. Lists that
        # show products load the channel with them (select_related).
        return f"{self.name} ({self.channel.key}/{self.key})"


class ProductCategory(models.Model):
    """A product's value for one master category: at most one value per dimension, by constraint.

    `master` repeats the value's master category so that the database itself refuses two values
    of one dimension (a product cannot be both 'coffee' and 'tea' in the department dimension).
    """

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="category_links")
    master = models.ForeignKey(MasterCategory, on_delete=models.PROTECT, related_name="+")
    value = models.ForeignKey(CategoryValue, on_delete=models.CASCADE, related_name="product_links")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["product", "master"], name="one_value_per_master_category"),
        ]
        indexes = [models.Index(fields=["value", "product"], name="product_category_value_idx")]

    def __str__(self) -> str:
        return f"{self.product_id}: {self.value_id}"


class CustomCategory(models.Model):
    """A product set a program manager defines (any channels), e.g. 'coffee lovers'."""

    key = models.CharField(
        max_length=40,
        unique=True,
        validators=[key_validator],
        help_text="Rules refer to it in line.customCategories.",
    )
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    products = models.ManyToManyField(Product, related_name="custom_categories", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["key"]
        verbose_name_plural = "custom categories"

    def __str__(self) -> str:
        return self.name
