"""Promotions as data: a promotion and its immutable versions; cap usage counted under lock."""

from django.conf import settings
from django.db import models

from loyalty.models.program import key_validator


class Promotion(models.Model):
    key = models.CharField(max_length=60, unique=True, validators=[key_validator], help_text="Used in API answers.")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, help_text="What members are told about it.")
    active = models.BooleanField(
        default=True, help_text="Inactive promotions are never evaluated (their validity dates apply on top)."
    )
    current_version = models.ForeignKey(
        "promotions.PromotionVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    activated_at = models.DateTimeField(
        null=True, blank=True, help_text="When it was first activated. Never activated: a draft."
    )
    approval_requested_at = models.DateTimeField(
        null=True, blank=True, help_text="With two-person approval: when its activation was asked for."
    )
    approval_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who asked: another person must approve.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return self.name

    @property
    def definition(self) -> dict:
        return self.current_version.definition if self.current_version else {}


class PromotionVersion(models.Model):
    """One saved state of a promotion's rules. Never changed: a booked transaction points at it."""

    promotion = models.ForeignKey(Promotion, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    definition = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=200)

    class Meta:
        ordering = ["promotion_id", "-number"]
        constraints = [models.UniqueConstraint(fields=["promotion", "number"], name="promotion_version_once")]

    def __str__(self) -> str:
        return f"{self.promotion.key} v{self.number}"


class PromotionBudget(models.Model):
    """Points a promotion has given in all (minor units of its point type), locked when it gives more."""

    promotion = models.OneToOneField(Promotion, on_delete=models.CASCADE, primary_key=True, related_name="budget")
    used = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.promotion_id}: {self.used}"


class PromotionMemberUsage(models.Model):
    """Points a promotion gave one member in a period (day, month, lifetime)."""

    promotion = models.ForeignKey(Promotion, on_delete=models.CASCADE, related_name="member_usage")
    membership = models.ForeignKey("memberships.Membership", on_delete=models.CASCADE, related_name="+")
    period = models.CharField(max_length=10)
    period_key = models.CharField(max_length=10)
    used = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["promotion", "membership", "period", "period_key"], name="promotion_member_usage_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.promotion_id}/{self.membership_id}/{self.period_key}: {self.used}"


class TestBasket(models.Model):
    """A sample purchase saved from the simulator with the points it earned then: the promotion editor runs
    it again on every showing (so after every save) and says whether it still earns the same."""

    __test__ = False  # a model, not a test case for pytest

    promotion = models.ForeignKey(Promotion, on_delete=models.CASCADE, related_name="test_baskets")
    name = models.CharField(max_length=120)
    sample = models.JSONField(help_text="channel, occurredAt, membershipKey, paymentMethod, properties, items.")
    expected = models.JSONField(help_text="Points per point type key when saved, as decimal strings.")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=200)

    class Meta:
        ordering = ["promotion_id", "name", "id"]
        constraints = [models.UniqueConstraint(fields=["promotion", "name"], name="test_basket_name_once")]

    def __str__(self) -> str:
        return f"{self.promotion.key}: {self.name}"


class BacktestRun(models.Model):
    """A backtest of many purchases, run by a worker: the page shows its progress, then its report."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Waiting for a worker"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    promotion = models.ForeignKey(Promotion, on_delete=models.CASCADE, related_name="backtest_runs")
    days = models.PositiveSmallIntegerField()
    until = models.DateTimeField(help_text="The end of the window: when it was asked for.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    expected = models.PositiveIntegerField(default=0, help_text="Purchases in the window when it was asked for.")
    scanned = models.PositiveIntegerField(default=0)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_by = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.promotion.key}: {self.days} days ({self.status})"
