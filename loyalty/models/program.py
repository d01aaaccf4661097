import secrets
import zoneinfo
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models

from loyalty.prepared import Prepared

key_validator = RegexValidator(
    r"^[a-z0-9][a-z0-9_-]*$",
    "Use lower-case letters, digits, '-' and '_' (it appears in API calls).",
)


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"Unknown time zone {value!r}; use an IANA name such as Europe/Amsterdam.")


def new_generation() -> int:
    """A fresh configuration or catalog generation (loyalty.configuration): random, not a counter, so a
    rolled-back change never shares its number with a later one."""
    return secrets.randbits(62)


class Program(models.Model):
    """The one loyalty program this deployment runs."""

    class Rounding(models.TextChoices):
        HALF_UP = "half_up", "Half up (0.5 becomes 1)"
        HALF_EVEN = "half_even", "Half to even (banker's rounding)"
        DOWN = "down", "Down (never award a fraction)"
        UP = "up", "Up (always award the fraction)"

    singleton = models.BooleanField(default=True, unique=True, editable=False)
    name = models.CharField(max_length=120, help_text="Shown to members and integrators.")
    currency = models.CharField(
        max_length=3,
        default="EUR",
        validators=[RegexValidator(r"^[A-Z]{3}$", "An ISO 4217 code such as EUR or USD.")],
        help_text="Currency of purchase amounts (ISO 4217, e.g. EUR).",
    )
    time_zone = models.CharField(
        max_length=64,
        default="UTC",
        validators=[validate_time_zone],
        help_text="Local time of the program: promotion hours, days and expiry dates use it.",
    )
    points_precision = models.PositiveSmallIntegerField(
        default=2,
        validators=[MaxValueValidator(4)],
        help_text="Decimal places of points (0 = whole points). Points are stored as whole minor units.",
    )
    rounding = models.CharField(
        max_length=10,
        choices=Rounding.choices,
        default=Rounding.HALF_UP,
        help_text="How a computed reward with more decimals than the precision is rounded.",
    )
    unique_email = models.BooleanField(
        default=False,
        help_text="Refuse an enrollment whose e-mail address another active membership already uses.",
    )
    anonymous_on_unknown_card = models.BooleanField(
        default=True,
        help_text=(
            "A transaction for a card nobody registered creates an anonymous membership that collects "
            "the points until someone claims it. Off: such a transaction is refused."
        ),
    )
    unknown_products = models.CharField(
        max_length=10,
        choices=[("ignore", "Ignore: they earn nothing"), ("qualify", "Qualify: they earn like any product")],
        default="qualify",
        help_text="What a transaction line with a product the catalog does not know earns.",
    )
    point_value = models.DecimalField(
        max_digits=12,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0))],
        help_text=(
            "What one point of the main point type is worth in the program's currency (e.g. 0.01), for "
            "figures in money such as a promotion backtest's extra liability. Empty: shown in points only."
        ),
    )
    promotion_approval = models.BooleanField(
        default=False,
        verbose_name="two-person approval of promotions",
        help_text=(
            "Activating a promotion needs a second person's approval: the first asks, another approves "
            "(in the admin); until then the promotion stays inactive."
        ),
    )
    support_adjustment_limit = models.DecimalField(
        max_digits=19,
        decimal_places=4,
        default=Decimal(100),
        validators=[MinValueValidator(Decimal(0))],
        help_text=(
            "The most points a support agent may add or take away in one adjustment (of any point type); "
            "0: support agents cannot adjust. Program managers have no limit."
        ),
    )
    expiry_forecast_days = models.PositiveSmallIntegerField(
        default=30,
        validators=[MaxValueValidator(366)],
        help_text="How many days ahead members are told (by an event) that points will expire.",
    )
    tier_window = models.CharField(
        max_length=15,
        choices=[("rolling", "Rolling: the last N months (each tier's window)"), ("calendar_year", "Calendar year")],
        default="rolling",
        help_text="Which status points count for tiers.",
    )
    tier_grace_days = models.PositiveSmallIntegerField(
        default=30,
        validators=[MaxValueValidator(730)],
        help_text=(
            "A member who no longer qualifies keeps the tier this many days (from the assessment that "
            "found it) before moving down. Upgrades happen at once."
        ),
    )
    generation = models.BigIntegerField(
        default=new_generation,
        editable=False,
        help_text="Changes with every configuration change; processes reload cached configuration when it does.",
    )
    catalog_generation = models.BigIntegerField(
        default=new_generation,
        editable=False,
        help_text="Changes with every catalog change; processes read the products' facts again when it does.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(singleton=True), name="program_singleton")]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def current(cls) -> "Program":
        from loyalty.memo import memoized

        return memoized("program", cls._load)

    @classmethod
    def _load(cls) -> "Program":
        program = _first_program.first()
        if program is None:
            program, _ = cls.objects.get_or_create(singleton=True, defaults={"name": "Loyalty program"})
        return program


class Sponsor(models.Model):
    """A brand that issues points and pays for them (one, or many in a coalition)."""

    key = models.CharField(
        max_length=40,
        unique=True,
        validators=[key_validator],
        help_text="Used in API calls.",
    )
    name = models.CharField(max_length=120)
    is_default = models.BooleanField(
        default=False,
        help_text="Applies when a request names no sponsor. Exactly one sponsor should be the default.",
    )
    active = models.BooleanField(default=True, help_text="Inactive sponsors cannot issue new points.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["key"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=models.Q(is_default=True),
                name="one_default_sponsor",
            )
        ]

    def __str__(self) -> str:
        return self.name


class MembershipType(models.Model):
    """A kind of membership (consumer, business, employee) with its own rules."""

    key = models.CharField(
        max_length=40,
        unique=True,
        validators=[key_validator],
        help_text="Used in API calls.",
    )
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    is_company = models.BooleanField(
        default=False,
        help_text="Memberships of this type belong to a legal entity (a company) and its users.",
    )
    is_default = models.BooleanField(default=False, help_text="Applies when an enrollment names no type.")
    active = models.BooleanField(default=True, help_text="Inactive types take no new enrollments.")

    class Meta:
        ordering = ["key"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=models.Q(is_default=True),
                name="one_default_membership_type",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Tier(models.Model):
    """A status level. Members qualify by earning status points within a rolling window."""

    key = models.CharField(
        max_length=40,
        unique=True,
        validators=[key_validator],
        help_text="Used in API calls.",
    )
    name = models.CharField(max_length=120)
    rank = models.PositiveSmallIntegerField(
        unique=True,
        validators=[MinValueValidator(1)],
        help_text="1 is the entry tier; higher ranks are better.",
    )
    qualification_threshold = models.DecimalField(
        max_digits=14,
        decimal_places=4,
        default=0,
        validators=[MinValueValidator(0)],
        help_text="Status points a member must earn within the window to reach this tier (0 for the entry tier).",
    )
    qualification_window_months = models.PositiveSmallIntegerField(
        default=12,
        validators=[MinValueValidator(1), MaxValueValidator(120)],
        help_text="How many months back the earned status points count.",
    )
    description = models.TextField(blank=True, help_text="The benefits, in words members understand.")

    class Meta:
        ordering = ["rank"]

    def __str__(self) -> str:
        return self.name


_first_program: Prepared[Program] = Prepared(lambda: Program.objects.order_by("pk")[:1])
