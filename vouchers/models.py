"""Voucher types (what a voucher gives and how it is handed out) and the vouchers issued from them.

A type is configuration (saved through loyalty.services.save_configuration, audited); its stock
counter lives in its own row (`VoucherStock`), the one row an issue locks, so editing a type in the
admin never overwrites the count. A voucher keeps a snapshot of what it was issued with (uses,
validity, price paid), so later edits of its type change nothing already handed out.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q

from ledger.amounts import MAX_MINOR
from loyalty.models.program import key_validator
from vouchers import codes

currency_validator = RegexValidator(r"^[A-Z]{3}$", "An ISO 4217 code such as EUR or USD.")


def validate_channel_keys(value) -> None:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValidationError("Give a list of channel keys.")
    for item in value:
        key_validator(item)
    if len(set(value)) != len(value):
        raise ValidationError("Each channel once.")


class VoucherType(models.Model):
    """What a voucher gives, how long it is valid, how its codes look and who may get how many."""

    class Kind(models.TextChoices):
        AMOUNT_OFF = "amount_off", "Amount off (e.g. EUR 5 off the purchase)"
        PERCENT_OFF = "percent_off", "Percent off (e.g. 10% off the purchase)"
        FREE_PRODUCT = "free_product", "Free product (e.g. a free coffee)"
        CUSTOM = "custom", "Custom benefit (described in words)"

    key = models.CharField(max_length=40, unique=True, validators=[key_validator], help_text="Used in API calls.")
    name = models.CharField(max_length=120, help_text="What members and cashiers see, e.g. '10% off your next visit'.")
    description = models.TextField(blank=True, help_text="The conditions in plain words, shown to members.")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.CUSTOM, help_text="What it gives.")
    value = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text="The amount off (in the currency) or the percentage off (1-100). Empty for the other kinds.",
    )
    currency = models.CharField(
        max_length=3,
        blank=True,
        validators=[currency_validator],
        help_text="For an amount off: its currency. Empty: the program's currency.",
    )
    product_key = models.CharField(
        max_length=100, blank=True, help_text="For a free product: the product key the till gives away."
    )

    # Validity: a fixed window, N days from issue, or both (the earlier end wins).
    valid_from = models.DateTimeField(
        null=True, blank=True, help_text="Vouchers cannot be used before this moment. Empty: from issue."
    )
    valid_until = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Vouchers expire at this moment, and none are issued after it. Empty: no fixed end.",
    )
    valid_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(3660)],
        help_text="Each voucher expires this many days after it was issued. Empty: no per-voucher limit.",
    )

    # Codes.
    code_length = models.PositiveSmallIntegerField(
        default=12,
        validators=[MinValueValidator(6), MaxValueValidator(40)],
        help_text="Random characters per code (ignored when a pattern is given).",
    )
    code_alphabet = models.CharField(
        max_length=36,
        default=codes.SAFE_ALPHABET,
        help_text="Characters codes are drawn from: upper-case letters and digits, without the look-alikes "
        "0, O, 1, I and L.",
    )
    code_prefix = models.CharField(max_length=12, blank=True, help_text="Put before every code, e.g. 'NW-'.")
    code_suffix = models.CharField(max_length=12, blank=True, help_text="Put after every code.")
    code_pattern = models.CharField(
        max_length=48,
        blank=True,
        help_text="Shape of the code: '#' is a random character, e.g. '####-####-####'. Empty: 'length' "
        "random characters in a row.",
    )

    # How it is used and handed out.
    uses_per_voucher = models.PositiveIntegerField(
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(10_000)],
        help_text="How often one voucher can be converted (1: single use).",
    )
    limit_per_member = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="At most this many vouchers of this type per member (revoked ones do not count). Empty: no limit.",
    )
    stock = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="At most this many vouchers are handed out in all (a revoked one comes back). Empty: no limit.",
    )
    price_points = models.DecimalField(
        max_digits=19,
        decimal_places=4,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.0001"))],
        help_text="Members buy it with this many points (a rewards catalog item). Empty: it is free.",
    )
    point_type = models.ForeignKey(
        "ledger.PointType",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The points the price is paid in. Empty: the program's main point type.",
    )
    sponsor = models.ForeignKey(
        "loyalty.Sponsor",
        on_delete=models.PROTECT,
        related_name="voucher_types",
        help_text="Who funds the voucher; points paid for it are redeemed at this sponsor.",
    )
    channels = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_channel_keys],
        help_text="The channels where vouchers can be converted (keys of existing channels). None: everywhere.",
    )
    active = models.BooleanField(
        default=True, help_text="Off: no new vouchers are issued. Vouchers already issued can still be used."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        creating = self._state.adding
        super().save(*args, **kwargs)
        if creating:  # every type has its stock row, however it was created (API, admin, demo)
            VoucherStock.objects.get_or_create(voucher_type=self)

    @property
    def purchasable(self) -> bool:
        return self.price_points is not None

    def clean(self) -> None:
        problems: dict[str, str] = {}
        if self.kind in (self.Kind.AMOUNT_OFF, self.Kind.PERCENT_OFF) and self.value is None:
            problems["value"] = "Give the amount or percentage off."
        if self.kind == self.Kind.PERCENT_OFF and self.value is not None and self.value > 100:
            problems["value"] = "A percentage is at most 100."
        if self.kind in (self.Kind.FREE_PRODUCT, self.Kind.CUSTOM) and self.value is not None:
            problems["value"] = "Only an amount or percentage off has a value."
        if self.currency and self.kind != self.Kind.AMOUNT_OFF:
            problems["currency"] = "Only an amount off has a currency."
        if self.kind == self.Kind.FREE_PRODUCT and not self.product_key:
            problems["product_key"] = "Name the product that is given away."
        if self.valid_from and self.valid_until and self.valid_from >= self.valid_until:
            problems["valid_until"] = "The end must come after the start."
        if self.point_type_id and self.price_points is None:
            problems["point_type"] = "A point type goes with a price in points."
        if self.price_points is not None:
            problems.update(self._price_problems())
        if unknown := self._unknown_channels():
            problems["channels"] = (
                f"No channel {', '.join(repr(key) for key in unknown)}: use the key of an existing channel."
            )
        problems.update(
            codes.format_problems(
                self.code_alphabet or "", self.code_length or 0, self.code_prefix, self.code_suffix, self.code_pattern
            )
        )
        if problems:
            raise ValidationError(problems)

    def _unknown_channels(self) -> list[str]:
        from promotions.models import Channel

        keys = [key for key in self.channels or [] if isinstance(key, str)]
        if not keys:
            return []
        known = set(Channel.objects.filter(key__in=keys).values_list("key", flat=True))
        return [key for key in keys if key not in known]

    def _price_problems(self) -> dict[str, str]:
        from ledger.models import PointType

        point_type = (
            PointType.objects.filter(pk=self.point_type_id).first()
            if self.point_type_id
            else PointType.objects.filter(is_main=True).first()
        )
        if point_type is None:
            return {"point_type": "The program has no main point type: name one."}
        self.point_type = point_type  # stored, so a later change of the main type changes no price
        if not point_type.redeemable:
            return {"point_type": f"{point_type.name} cannot be redeemed, so it cannot pay for vouchers."}
        scaled = self.price_points.scaleb(point_type.precision)
        if scaled != scaled.to_integral_value():
            return {"price_points": f"{point_type.name} have {point_type.precision} decimal places."}
        if scaled >= MAX_MINOR:
            return {"price_points": "The price is out of range."}
        return {}

    def code_generator(self) -> codes.CodeGenerator:
        return codes.CodeGenerator(
            alphabet=self.code_alphabet,
            length=self.code_length,
            prefix=self.code_prefix,
            suffix=self.code_suffix,
            pattern=self.code_pattern,
        )


class VoucherStock(models.Model):
    """How many vouchers of a type are out (issued and not revoked). Issue and revoke lock this row
    first: it serializes the stock and per-member limit checks of one type, and nothing else."""

    voucher_type = models.OneToOneField(
        VoucherType, primary_key=True, on_delete=models.CASCADE, related_name="stock_row"
    )
    issued = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.voucher_type_id}: {self.issued} out"


class VoucherStatus(models.TextChoices):
    ISSUED = "issued", "Issued (can be used)"
    CONVERTED = "converted", "Converted (used up)"
    REVOKED = "revoked", "Revoked"
    EXPIRED = "expired", "Expired"


class IssueBatch(models.Model):
    """One bulk issue of N codes: who asked for it, when, and for what."""

    voucher_type = models.ForeignKey(VoucherType, on_delete=models.PROTECT, related_name="batches")
    count = models.PositiveIntegerField()
    recipient = models.ForeignKey(
        "memberships.Membership", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    source = models.CharField(max_length=100, blank=True)
    reference = models.CharField(max_length=200, blank=True)
    actor_label = models.CharField(max_length=200)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "issue batches"

    def __str__(self) -> str:
        return f"batch #{self.pk}: {self.count} x {self.voucher_type_id}"


class Voucher(models.Model):
    """One issued voucher. Its code (`token`) is what the member shows and the till sends."""

    Status = VoucherStatus

    # Unique by a constraint, not `unique=True`: on PostgreSQL that would add a second (LIKE) index.
    token = models.CharField(max_length=64, editable=False, help_text="The voucher code.")
    # Foreign keys without their own index where an index below leads with them: every index costs
    # on a bulk issue of a hundred thousand codes.
    voucher_type = models.ForeignKey(VoucherType, on_delete=models.PROTECT, related_name="vouchers", db_index=False)
    recipient = models.ForeignKey(
        "memberships.Membership",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="vouchers",
        db_index=False,
        help_text="Only this member may use it. Empty: any member (or none) may.",
    )
    batch = models.ForeignKey(IssueBatch, null=True, blank=True, on_delete=models.PROTECT, related_name="vouchers")
    status = models.CharField(max_length=10, choices=VoucherStatus.choices, default=VoucherStatus.ISSUED)
    uses_total = models.PositiveIntegerField(default=1)
    uses_left = models.PositiveIntegerField(default=1)
    valid_from = models.DateTimeField()
    valid_until = models.DateTimeField(null=True, blank=True)
    issued_at = models.DateTimeField()
    source = models.CharField(
        max_length=100, blank=True, help_text="Who issued it: 'api', 'admin', 'promotion:<key>', ..."
    )
    reference = models.CharField(
        max_length=200, blank=True, help_text="What it was issued for, e.g. the transaction id of a promotion."
    )
    actor_label = models.CharField(max_length=200, blank=True)
    # The price paid, when bought with points: refunded on revocation.
    points_paid = models.BigIntegerField(default=0, help_text="Minor units of the point type.")
    point_type = models.ForeignKey(
        "ledger.PointType", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    receipt_id = models.CharField(max_length=64, blank=True, help_text="The redemption that paid for it.")
    refund_receipt_id = models.CharField(max_length=64, blank=True, help_text="The reversal that refunded it.")
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoke_reason = models.CharField(max_length=500, blank=True)
    expired_at = models.DateTimeField(null=True, blank=True, help_text="When the expiry job marked it expired.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            # A member's vouchers (list, limits, merges); unassigned bulk codes stay out of it.
            models.Index(
                fields=["recipient", "-id"], condition=Q(recipient__isnull=False), name="voucher_recipient_idx"
            ),
            models.Index(fields=["voucher_type", "status"], name="voucher_type_status_idx"),
            # The expiry job's work list: only issued vouchers with an end.
            models.Index(
                fields=["valid_until"],
                condition=Q(status="issued", valid_until__isnull=False),
                name="voucher_expiry_idx",
            ),
            models.Index(fields=["reference"], condition=~Q(reference=""), name="voucher_reference_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["token"], name="voucher_token_unique"),
            models.CheckConstraint(condition=Q(uses_left__lte=models.F("uses_total")), name="voucher_uses_within"),
            models.CheckConstraint(
                condition=~Q(status="converted") | Q(uses_left=0), name="voucher_converted_is_used_up"
            ),
        ]

    def __str__(self) -> str:
        return self.token


class Conversion(models.Model):
    """One use of a voucher: where, by whom, for which transaction."""

    voucher = models.ForeignKey(Voucher, on_delete=models.PROTECT, related_name="conversions")
    converted_at = models.DateTimeField()
    membership = models.ForeignKey(
        "memberships.Membership", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    channel = models.CharField(max_length=40, blank=True)
    reference = models.CharField(max_length=200, blank=True, help_text="The transaction it was used in.")
    actor_label = models.CharField(max_length=200)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.voucher_id} used at {self.converted_at:%Y-%m-%d %H:%M}"
