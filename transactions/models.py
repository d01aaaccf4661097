"""Purchase transactions as booked: lines, rewards with their trace, returns.

The tables keep the names they had when these models lived in the `loyalty` app (`loyalty_*`), so
moving them here renamed nothing in existing databases (transactions/migrations/0001_initial.py)."""

from django.db import models


class Transaction(models.Model):
    class Status(models.TextChoices):
        BOOKED = "booked", "Booked"
        PARTIALLY_RETURNED = "partially_returned", "Partially returned"
        RETURNED = "returned", "Returned"

    tx_id = models.CharField(max_length=100, help_text="The integrator's id: books once.")
    receipt_id = models.CharField(max_length=100, help_text="The receipt number; returns name it.")
    # Neither foreign key has an index of its own: tx_member_time_idx leads with the membership,
    # tx_receipt_once_per_sponsor with the sponsor. Every booking writes every index of this table.
    membership = models.ForeignKey(
        "memberships.Membership", on_delete=models.PROTECT, related_name="transactions", db_index=False
    )
    sponsor = models.ForeignKey(
        "loyalty.Sponsor", on_delete=models.PROTECT, related_name="transactions", db_index=False
    )
    channel = models.CharField(max_length=60, blank=True)
    occurred_at = models.DateTimeField()
    total_amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    payment_method = models.CharField(max_length=40, blank=True)
    properties = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.BOOKED)
    request_hash = models.CharField(max_length=64)
    response = models.JSONField(null=True, blank=True, help_text="The first answer, replayed for the same txId.")
    booking = models.ForeignKey("ledger.Booking", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    member_context = models.JSONField(default=dict, help_text="What the engine knew of the member.")
    cap_usage = models.JSONField(default=dict, help_text="Cap usage the engine saw, for recomputing returns.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "loyalty_transaction"
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["membership", "-occurred_at"], name="tx_member_time_idx"),
            models.Index(fields=["occurred_at"], name="tx_time_idx"),
            models.Index(fields=["receipt_id"], name="tx_receipt_idx"),
        ]
        constraints = [
            # A constraint rather than unique=True, which on PostgreSQL adds a LIKE index beside it.
            models.UniqueConstraint(fields=["tx_id"], name="tx_id_once"),
            models.UniqueConstraint(fields=["sponsor", "receipt_id"], name="tx_receipt_once_per_sponsor"),
        ]

    def __str__(self) -> str:
        return self.tx_id


class TransactionLine(models.Model):
    # No index of its own: tx_line_position_once leads with the transaction.
    transaction = models.ForeignKey(Transaction, on_delete=models.CASCADE, related_name="lines", db_index=False)
    position = models.PositiveIntegerField(help_text="1 for the first item of the request.")
    product_key = models.CharField(max_length=100)
    quantity = models.DecimalField(max_digits=12, decimal_places=3)
    unit_price = models.DecimalField(max_digits=14, decimal_places=2)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    returned_quantity = models.DecimalField(max_digits=12, decimal_places=3, default=0)
    known = models.BooleanField(default=True, help_text="The catalog knew the product when it was booked.")
    facts = models.JSONField(default=dict, help_text="Categories and attributes the engine saw.")

    class Meta:
        db_table = "loyalty_transactionline"
        ordering = ["transaction_id", "position"]
        constraints = [models.UniqueConstraint(fields=["transaction", "position"], name="tx_line_position_once")]

    def __str__(self) -> str:
        return f"{self.transaction_id}#{self.position}"


class TransactionReward(models.Model):
    transaction = models.ForeignKey(Transaction, on_delete=models.CASCADE, related_name="rewards")
    promotion_version = models.ForeignKey(
        "promotions.PromotionVersion", on_delete=models.PROTECT, related_name="rewards"
    )
    promotion_key = models.CharField(max_length=60)
    point_type = models.CharField(max_length=40)
    amount = models.BigIntegerField(help_text="Minor units of the point type.")
    lines = models.JSONField(default=dict, help_text="Minor units attributed to each line position.")
    trace = models.JSONField(default=list)
    capped = models.JSONField(null=True, blank=True)
    vouchers = models.JSONField(default=list, help_text="Tokens of vouchers this reward issued.")

    class Meta:
        db_table = "loyalty_transactionreward"
        ordering = ["transaction_id", "id"]

    def __str__(self) -> str:
        return f"{self.promotion_key} ({self.point_type})"


class TransactionReturn(models.Model):
    transaction = models.ForeignKey(Transaction, on_delete=models.CASCADE, related_name="returns")
    sequence = models.PositiveIntegerField()
    items = models.JSONField(help_text="{position: quantity} returned.")
    reversed_points = models.JSONField(default=dict, help_text="{point type: minor units} taken back.")
    booking = models.ForeignKey("ledger.Booking", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "loyalty_transactionreturn"
        ordering = ["transaction_id", "sequence"]
        constraints = [models.UniqueConstraint(fields=["transaction", "sequence"], name="tx_return_once")]

    def __str__(self) -> str:
        return f"{self.transaction_id} return {self.sequence}"


class DailySales(models.Model):
    """Purchases summed per day (loyalty.rollups) by sponsor, channel and currency. Refilled, never edited."""

    day = models.DateField(help_text="A day in the program's time zone.")
    sponsor = models.ForeignKey("loyalty.Sponsor", on_delete=models.CASCADE, related_name="+", db_index=False)
    channel = models.CharField(max_length=60, blank=True)
    currency = models.CharField(max_length=3)
    transactions = models.PositiveIntegerField()
    sales = models.DecimalField(max_digits=18, decimal_places=2)

    class Meta:
        verbose_name_plural = "daily sales"
        indexes = [models.Index(fields=["day", "sponsor"], name="daily_sales_day_idx")]

    def __str__(self) -> str:
        return f"{self.day} {self.channel}: {self.transactions}"


class DailyRewards(models.Model):
    """Points each promotion gave per day (loyalty.rollups), by sponsor and point type. Refilled, never edited."""

    day = models.DateField(help_text="A day in the program's time zone.")
    sponsor = models.ForeignKey("loyalty.Sponsor", on_delete=models.CASCADE, related_name="+", db_index=False)
    promotion_key = models.CharField(max_length=60)
    point_type = models.CharField(max_length=40)
    rewards = models.PositiveIntegerField()
    amount = models.BigIntegerField(help_text="Minor units of the point type.")

    class Meta:
        verbose_name_plural = "daily rewards"
        indexes = [models.Index(fields=["day", "sponsor"], name="daily_rewards_day_idx")]

    def __str__(self) -> str:
        return f"{self.day} {self.promotion_key}: {self.amount}"
