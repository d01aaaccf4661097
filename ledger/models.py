"""Ledger tables (LEDGER.md). Amounts are integers in minor units of the point type's precision."""

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from loyalty.models.program import key_validator


class PointType(models.Model):
    class Expiry(models.TextChoices):
        NEVER = "never", "Never"
        MONTHS = "months", "N months after earning"
        END_OF_MONTH = "end_of_month", "N months after earning, rounded up to the end of that month"
        END_OF_QUARTER = "end_of_quarter", "N months after earning, rounded up to the end of that quarter"
        END_OF_YEAR = "end_of_year", "N months after earning, rounded up to the end of that year"

    key = models.CharField(max_length=40, unique=True, validators=[key_validator], help_text="Used in API calls.")
    name = models.CharField(max_length=120)
    redeemable = models.BooleanField(
        default=True, help_text="Members can spend these points. Off for status points that only count for tiers."
    )
    transferable = models.BooleanField(default=True, help_text="Members can move these points to another member.")
    counts_for_tiers = models.BooleanField(
        default=False, help_text="Status points: what members earn of this type in the tier window decides their tier."
    )
    is_main = models.BooleanField(
        default=False, help_text="The program's main redeemable type: used when a request names no point type."
    )
    precision = models.PositiveSmallIntegerField(
        default=2,
        validators=[MaxValueValidator(4)],
        help_text="Decimal places (0 = whole points). Cannot change once points are booked.",
    )
    expiry_policy = models.CharField(
        max_length=20,
        choices=Expiry.choices,
        default=Expiry.NEVER,
        help_text="When earned points expire. Expired points go back to the sponsor that issued them.",
    )
    expiry_months = models.PositiveSmallIntegerField(
        default=24,
        validators=[MinValueValidator(1), MaxValueValidator(240)],
        help_text="The N of the expiry policy (ignored for 'never').",
    )
    maturation_days = models.PositiveSmallIntegerField(
        default=0,
        validators=[MaxValueValidator(365)],
        help_text=(
            "Earned points stay blocked this many days (e.g. the return period) before members can spend "
            "them. Blocked points count in the balance, not in the redeemable balance."
        ),
    )
    active = models.BooleanField(default=True, help_text="Inactive types earn nothing new and are hidden from lists.")

    exclusive_flags = ("is_main",)

    class Meta:
        ordering = ["key"]
        constraints = [
            models.UniqueConstraint(fields=["is_main"], condition=Q(is_main=True), name="one_main_point_type"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.is_main and not self.redeemable:
            raise ValidationError({"is_main": "The main point type must be redeemable."})
        if self.pk and Posting.objects.filter(account__point_type_id=self.pk).exists():
            stored = PointType.objects.filter(pk=self.pk).values_list("precision", flat=True).first()
            if stored is not None and stored != self.precision:
                raise ValidationError({"precision": "Points of this type are booked: the precision cannot change."})


class Account(models.Model):
    """A member account (membership x point type, balance cached) or a sponsor's system account."""

    class Kind(models.TextChoices):
        MEMBER = "member", "Member"
        ISSUED = "issued", "Issued"
        REDEEMED = "redeemed", "Redeemed"
        ADJUSTED = "adjusted", "Adjusted"
        EXPIRED = "expired", "Expired"
        FORFEITED = "forfeited", "Forfeited"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    point_type = models.ForeignKey(PointType, on_delete=models.PROTECT, related_name="accounts")
    membership = models.ForeignKey(
        "memberships.Membership", null=True, blank=True, on_delete=models.PROTECT, related_name="point_accounts"
    )
    sponsor = models.ForeignKey(
        "loyalty.Sponsor", null=True, blank=True, on_delete=models.PROTECT, related_name="system_accounts"
    )
    # Cached for member accounts only, updated under the row lock with each posting. System accounts
    # are never locked or updated on the booking path: their balance is the sum of their postings.
    balance = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["membership", "point_type"], condition=Q(kind="member"), name="one_member_account"
            ),
            models.UniqueConstraint(
                fields=["sponsor", "point_type", "kind"], condition=~Q(kind="member"), name="one_system_account"
            ),
            models.CheckConstraint(
                condition=(Q(kind="member", membership__isnull=False, sponsor__isnull=True))
                | (~Q(kind="member") & Q(membership__isnull=True, sponsor__isnull=False)),
                name="account_owner_matches_kind",
            ),
        ]

    def __str__(self) -> str:
        owner = self.membership_id if self.kind == self.Kind.MEMBER else self.sponsor_id
        return f"{self.kind}:{owner}:{self.point_type_id}"


class Booking(models.Model):
    """One immutable journal entry. Its postings sum to zero per point type."""

    class Kind(models.TextChoices):
        EARN = "earn", "Earn"
        REDEEM = "redeem", "Redeem"
        ADJUST = "adjust", "Adjust"
        TRANSFER = "transfer", "Transfer"
        REVERSAL = "reversal", "Reversal"
        EXPIRE = "expire", "Expire"
        FORFEIT = "forfeit", "Forfeit"
        MERGE = "merge", "Merge"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    sponsor = models.ForeignKey("loyalty.Sponsor", on_delete=models.PROTECT, related_name="bookings")
    membership = models.ForeignKey(
        "memberships.Membership", null=True, blank=True, on_delete=models.PROTECT, related_name="bookings"
    )
    idempotency_key = models.CharField(max_length=255, blank=True)
    request_hash = models.CharField(max_length=64, blank=True)
    receipt_id = models.CharField(max_length=64, blank=True)
    tx_id = models.CharField(max_length=100, blank=True)
    reverses = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversals")
    line_ref = models.CharField(max_length=100, blank=True, help_text="The line item a partial reversal reverses.")
    reason = models.CharField(max_length=500, blank=True)
    reference = models.CharField(max_length=200, blank=True)
    actor_label = models.CharField(max_length=200)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(db_index=True)
    effective_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        permissions = [
            ("adjust_without_limit", "Can adjust points beyond the support agents' limit"),
            ("view_liability", "Can see the program's figures: the dashboard and the sponsors' liability"),
            ("move_points", "Can redeem and transfer members' points from the member page"),
        ]
        # Every index is written by every booking: none that another index's leading columns cover,
        # no pattern-ops twins (nothing searches these by LIKE). The kind with the id serves the
        # admin's filter by kind in its id order without a sort, even for a rare kind.
        indexes = [
            models.Index(fields=["kind", "id"], name="booking_kind_idx"),
            models.Index(fields=["receipt_id"], name="booking_receipt_idx"),
            models.Index(fields=["tx_id"], name="booking_tx_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["idempotency_key"], condition=~Q(idempotency_key=""), name="booking_idempotency_key_once"
            ),
            models.UniqueConstraint(
                fields=["sponsor", "receipt_id"],
                condition=Q(kind="earn") & ~Q(receipt_id=""),
                name="one_earn_per_receipt",
            ),
            models.UniqueConstraint(
                fields=["receipt_id"], condition=Q(kind="redeem") & ~Q(receipt_id=""), name="redeem_receipt_unique"
            ),
            models.UniqueConstraint(
                fields=["reverses"],
                condition=Q(reverses__isnull=False, line_ref=""),
                name="one_reversal_per_booking",
            ),
            models.UniqueConstraint(
                fields=["reverses", "line_ref"],
                condition=Q(reverses__isnull=False) & ~Q(line_ref=""),
                name="one_reversal_per_line",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}"


class Lot(models.Model):
    """Points credited together: they mature, expire and are consumed together."""

    class State(models.TextChoices):
        ACTIVE = "active", "Active"
        EXPIRED = "expired", "Expired"
        CLOSED = "closed", "Closed (moved or forfeited)"
        DEBT = "debt", "Debt"

    # No index of its own: lot_consume_idx leads with the account.
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="lots", db_index=False)
    booking = models.ForeignKey(Booking, on_delete=models.PROTECT, related_name="lots")
    sponsor = models.ForeignKey(
        "loyalty.Sponsor", on_delete=models.PROTECT, related_name="+", help_text="Who issued (and owes) these points."
    )
    line_ref = models.CharField(max_length=100, blank=True)
    original = models.BigIntegerField()
    remaining = models.BigIntegerField()
    matures_at = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.ACTIVE)
    maturity_notified = models.BooleanField(default=False)
    expiry_notified = models.BooleanField(default=False)
    created_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["account", "state", "expires_at"], name="lot_consume_idx"),
            models.Index(fields=["state", "expires_at"], name="lot_expiry_idx"),
            models.Index(fields=["maturity_notified", "matures_at"], name="lot_maturity_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(state="debt", remaining__lte=0, original=0)
                | (~Q(state="debt") & Q(remaining__gte=0, remaining__lte=models.F("original"))),
                name="lot_remaining_within_bounds",
            ),
        ]

    def __str__(self) -> str:
        return f"lot #{self.pk} {self.remaining}/{self.original}"


class LotMovement(models.Model):
    """Each consumption (-) and restoration (+) of a lot: remaining is always explained."""

    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="movements")
    booking = models.ForeignKey(Booking, on_delete=models.PROTECT, related_name="lot_movements")
    amount = models.BigIntegerField()

    def __str__(self) -> str:
        return f"{self.amount} on lot #{self.lot_id}"


class Posting(models.Model):
    booking = models.ForeignKey(Booking, on_delete=models.PROTECT, related_name="postings")
    # No index of its own: posting_account_idx leads with the account.
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="postings", db_index=False)
    amount = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["account", "id"], name="posting_account_idx")]

    def __str__(self) -> str:
        return f"posting {self.pk}"  # amounts are shown in points, with their account in words (ledger.admin)


class DailyPoints(models.Model):
    """Postings on the sponsors' system accounts summed per day (loyalty.rollups): what each sponsor
    issued, saw redeemed, expired, forfeited or adjusted that day. Refilled from the postings, never edited."""

    day = models.DateField(help_text="A day in the program's time zone.")
    sponsor = models.ForeignKey("loyalty.Sponsor", on_delete=models.CASCADE, related_name="+", db_index=False)
    point_type = models.ForeignKey(PointType, on_delete=models.CASCADE, related_name="+", db_index=False)
    kind = models.CharField(max_length=10, choices=Account.Kind.choices, help_text="The system account's kind.")
    amount = models.BigIntegerField(help_text="Sum of the postings, minor units (issued ones are negative).")
    postings = models.PositiveIntegerField()

    class Meta:
        verbose_name_plural = "daily points"
        indexes = [models.Index(fields=["day", "sponsor"], name="daily_points_day_idx")]

    def __str__(self) -> str:
        return f"{self.day} {self.kind} {self.amount}"


class DailyBlocked(models.Model):
    """How the points still blocked (not yet matured) changed per day (loyalty.rollups): points of new
    blocked lots and what returns took from them while blocked (the day written), less what matured (the
    day released). Summed from the lots' movements, never edited; the level on a day is the sum so far."""

    day = models.DateField(help_text="A day in the program's time zone.")
    sponsor = models.ForeignKey(
        "loyalty.Sponsor", on_delete=models.CASCADE, related_name="+", db_index=False, help_text="The lots' issuer."
    )
    point_type = models.ForeignKey(PointType, on_delete=models.CASCADE, related_name="+", db_index=False)
    change = models.BigIntegerField(help_text="Change of the blocked points that day, minor units.")

    class Meta:
        verbose_name_plural = "daily blocked points"
        indexes = [models.Index(fields=["day", "sponsor"], name="daily_blocked_day_idx")]

    def __str__(self) -> str:
        return f"{self.day} blocked {self.change:+}"
