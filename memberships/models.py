"""Members and what identifies them: memberships, legal entities, cards, alternate ids, remarks.

Rows here are never deleted: a cancelled or merged membership stays (its number is never reused),
a deleted card is deactivated, and every change goes through memberships.services.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from memberships.numbers import is_valid_membership_number


class MembershipStatus(models.TextChoices):
    ANONYMOUS = "anonymous", "Anonymous (a card nobody has claimed yet)"
    ACTIVE = "active", "Active"
    BLOCKED = "blocked", "Blocked (kept, but cannot be merged; unblock in the admin)"
    CANCELLED = "cancelled", "Cancelled (cards off, points forfeited; reactivate in the admin)"
    MERGED = "merged", "Merged into another membership"


# Memberships in these states hold their e-mail address against others when the program
# setting "unique e-mail" is on.
EMAIL_HOLDING_STATUSES = (MembershipStatus.ACTIVE, MembershipStatus.BLOCKED)


class Membership(models.Model):
    """A member of the program: who they are, how they joined, and where they stand."""

    Status = MembershipStatus

    number = models.CharField(
        max_length=10,
        editable=False,
        help_text="The membership number: 10 digits, the last one a check digit. Generated, never reused.",
    )
    membership_type = models.ForeignKey(
        "loyalty.MembershipType",
        on_delete=models.PROTECT,
        related_name="memberships",
        help_text="The kind of membership; decides which rules and promotions apply.",
    )
    status = models.CharField(
        max_length=10,
        choices=MembershipStatus.choices,
        default=MembershipStatus.ACTIVE,
        help_text="Change it with the actions (cancel, block, reactivate, merge), not by hand.",
    )
    tier = models.ForeignKey(
        "loyalty.Tier",
        null=True,
        blank=True,
        db_index=False,  # a partial index in Meta: most members have none
        on_delete=models.PROTECT,
        related_name="memberships",
        help_text="The member's status level; set by the tier engine.",
    )
    tier_below_since = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Since when the member has not qualified for their tier (the grace period runs from here).",
    )
    legal_entity = models.ForeignKey(
        "memberships.LegalEntity",
        null=True,
        blank=True,
        db_index=False,  # a partial index in Meta: most members have none
        on_delete=models.PROTECT,
        related_name="users",
        help_text="The company this member is a user of (business memberships only).",
    )
    merged_into = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        db_index=False,  # a partial index in Meta: most members have none
        on_delete=models.PROTECT,
        related_name="merged_from",
        help_text="The surviving membership this one was merged into; its number now leads there.",
    )

    # How the member joined.
    enrolled_at = models.DateTimeField(help_text="When the membership began.")
    channel = models.CharField(
        max_length=40,
        blank=True,
        help_text="Where the member enrolled (store, web shop, app, partner), as a channel key.",
    )
    sponsor = models.ForeignKey(
        "loyalty.Sponsor",
        null=True,
        blank=True,
        db_index=False,  # a partial index in Meta: most members have none
        on_delete=models.PROTECT,
        related_name="enrolled_memberships",
        help_text="The sponsor that enrolled the member.",
    )

    # Personal data. Only staff with the "view personal data" permission see these in the admin.
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    email = models.EmailField(
        max_length=254, blank=True, help_text="Stored in lower case; used to find the member and to reach them."
    )
    phone = models.CharField(
        max_length=20, blank=True, help_text="Digits with an optional leading +, e.g. +31612345678."
    )
    birth_date = models.DateField(null=True, blank=True)
    street = models.CharField(max_length=200, blank=True, help_text="Street and house number.")
    postal_code = models.CharField(max_length=20, blank=True)
    city = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166 code, e.g. NL or DE.")
    language = models.CharField(
        max_length=10, blank=True, help_text="Preferred language for messages, e.g. en, nl or de-AT."
    )

    # Consents.
    marketing_consent = models.BooleanField(default=False, help_text="The member agreed to receive marketing messages.")
    marketing_consent_at = models.DateTimeField(
        null=True, blank=True, help_text="When the marketing consent was last given or withdrawn."
    )
    marketing_consent_source = models.CharField(
        max_length=100, blank=True, help_text="Where the consent was given or withdrawn (web form, store, ...)."
    )

    properties = models.JSONField(
        default=dict,
        blank=True,
        help_text="Custom properties (name: value) that promotions and exports can use.",
    )

    # Lifecycle.
    claimed_at = models.DateTimeField(
        null=True, blank=True, help_text="When an anonymous membership was claimed by its holder."
    )
    blocked_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=500, blank=True)
    merged_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-enrolled_at", "-id"]
        permissions = [("view_personal_data", "Can see members' personal data")]
        indexes = [
            # Pattern ops: the index serves the exact look-up and the admin's search by the start of an
            # address ("anna.sm"); SQLite has no operator classes and ignores them.
            models.Index(
                fields=["email"], name="membership_email_idx", condition=~Q(email=""), opclasses=["varchar_pattern_ops"]
            ),
            models.Index(fields=["phone"], name="membership_phone_idx", condition=~Q(phone="")),
            models.Index(fields=["enrolled_at", "id"], name="membership_enrolled_idx"),
            # Only the members not active: the index finds the few blocked, anonymous, merged or cancelled
            # ones, and an enrollment (active) writes nothing to it. A query for active members reads the table.
            models.Index(fields=["status"], name="membership_status_idx", condition=~Q(status=MembershipStatus.ACTIVE)),
            # Foreign keys most rows leave empty: only the rows that have one are indexed (fewer index
            # writes per enrollment; a lookup by a given key still uses the index).
            models.Index(fields=["tier"], name="membership_tier_idx", condition=Q(tier__isnull=False)),
            models.Index(
                fields=["legal_entity"], name="membership_legal_entity_idx", condition=Q(legal_entity__isnull=False)
            ),
            models.Index(
                fields=["merged_into"], name="membership_merged_into_idx", condition=Q(merged_into__isnull=False)
            ),
            models.Index(fields=["sponsor"], name="membership_sponsor_idx", condition=Q(sponsor__isnull=False)),
        ]
        constraints = [
            # A constraint, not unique=True: that would add a second (LIKE) index nothing uses, written on
            # every enrollment at a random place (the numbers are random).
            models.UniqueConstraint(fields=["number"], name="membership_number_unique"),
            models.CheckConstraint(
                condition=Q(status=MembershipStatus.MERGED, merged_into__isnull=False)
                | (~Q(status=MembershipStatus.MERGED) & Q(merged_into__isnull=True)),
                name="membership_merged_has_survivor",
            ),
            models.CheckConstraint(
                condition=~Q(merged_into=F("id")),
                name="membership_not_merged_into_itself",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def has_identity(self) -> bool:
        """Someone registered for it (an anonymous membership has no e-mail address)."""
        return bool(self.email)

    @property
    def is_open(self) -> bool:
        """Can still earn, redeem and be changed (anonymous, active)."""
        return self.status in (MembershipStatus.ANONYMOUS, MembershipStatus.ACTIVE)

    @property
    def number_is_valid(self) -> bool:
        return is_valid_membership_number(self.number)


class LegalEntityStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    CANCELLED = "cancelled", "Cancelled"


class LegalEntity(models.Model):
    """A company in the program. Its staff are member users; it can hold cards of its own."""

    Status = LegalEntityStatus

    registration_number = models.CharField(
        max_length=40,
        unique=True,
        help_text="The company's registration number (chamber of commerce); identifies it in API calls.",
    )
    name = models.CharField(max_length=200)
    vat_number = models.CharField(max_length=40, blank=True, verbose_name="VAT number")
    membership_type = models.ForeignKey(
        "loyalty.MembershipType",
        on_delete=models.PROTECT,
        related_name="legal_entities",
        help_text="A company membership type.",
    )
    status = models.CharField(max_length=10, choices=LegalEntityStatus.choices, default=LegalEntityStatus.ACTIVE)
    street = models.CharField(max_length=200, blank=True, help_text="Street and house number.")
    postal_code = models.CharField(max_length=20, blank=True)
    city = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166 code, e.g. NL or DE.")
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name_plural = "legal entities"

    def __str__(self) -> str:
        return f"{self.name} ({self.registration_number})"


class CardType(models.TextChoices):
    PHYSICAL = "physical", "Physical card"
    VIRTUAL = "virtual", "Virtual card (app, wallet)"


class CardStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    INACTIVE = "inactive", "Inactive"


class DeactivationReason(models.TextChoices):
    DELETED = "deleted", "Deleted"
    MEMBERSHIP_CANCELLED = "membership_cancelled", "Membership cancelled"
    LEGAL_ENTITY_CANCELLED = "legal_entity_cancelled", "Legal entity cancelled"


class Card(models.Model):
    """A loyalty card. Its number identifies the holder at the till; it is never deleted or reissued."""

    Type = CardType
    Status = CardStatus

    number = models.CharField(
        max_length=40,
        help_text="Printed on the card or shown in the app. Never another member's membership number or alternate id "
        "(one key space); the member's own number is fine.",
    )
    membership = models.ForeignKey(Membership, null=True, blank=True, on_delete=models.PROTECT, related_name="cards")
    legal_entity = models.ForeignKey(
        LegalEntity, null=True, blank=True, db_index=False, on_delete=models.PROTECT, related_name="cards"
    )
    type = models.CharField(max_length=10, choices=CardType.choices, default=CardType.PHYSICAL)
    status = models.CharField(max_length=10, choices=CardStatus.choices, default=CardStatus.ACTIVE)
    valid_from = models.DateField(null=True, blank=True, help_text="Empty: valid from issue.")
    valid_until = models.DateField(null=True, blank=True, help_text="Empty: valid until deactivated.")
    issued_at = models.DateTimeField(auto_now_add=True)
    deactivated_at = models.DateTimeField(null=True, blank=True)
    deactivation_reason = models.CharField(max_length=30, choices=DeactivationReason.choices, blank=True)

    class Meta:
        ordering = ["-issued_at", "-id"]
        indexes = [
            models.Index(fields=["legal_entity"], name="card_legal_entity_idx", condition=Q(legal_entity__isnull=False))
        ]
        constraints = [
            models.UniqueConstraint(fields=["number"], name="card_number_unique"),  # no LIKE twin index
            models.CheckConstraint(
                condition=Q(membership__isnull=False, legal_entity__isnull=True)
                | Q(membership__isnull=True, legal_entity__isnull=False),
                name="card_has_one_holder",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def holder(self) -> "Membership | LegalEntity":
        return self.membership or self.legal_entity


class AlternateId(models.Model):
    """Another system's id for the member (CRM id, web shop customer id, hashed e-mail, ...)."""

    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="alternate_ids")
    type = models.CharField(
        max_length=40,
        help_text="What the id is, e.g. crm, shop or email_sha256. A value belongs to one member, under any type, "
        "and is no other member's membership number or card (one key space).",
    )
    value = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["type", "value"]
        verbose_name = "alternate id"
        constraints = [models.UniqueConstraint(fields=["type", "value"], name="alternate_id_unique_per_type")]
        indexes = [models.Index(fields=["value"], name="alternate_id_value_idx")]

    def __str__(self) -> str:
        return f"{self.type}:{self.value}"


class KeyClaim(models.Model):
    """One value of the key space and its holder.

    A membership number, a card number and an alternate id value all name a member in a `{key}`, so
    one value must lead to one holder: each value used in any of the three is claimed here, once,
    by the membership (the survivor, for a merged one) or the legal entity that holds it. The unique
    value is what refuses a second holder, concurrent ones included; the holder's own second use of
    a value (its number printed on its card) shares the claim. Written only by
    memberships.services.keys, in the transaction that writes the number, card or alternate id.
    Key resolution does not read this table (docs/memberships.md, "One key space").
    """

    value = models.CharField(max_length=100)
    # No foreign-key constraints in the database: a claim is written with the row that holds it, by the
    # service that just wrote or locked the holder, and holders are never deleted. A constraint would
    # check (and lock) the holder's row for every claim: roughly a quarter of a bulk import's time.
    membership = models.ForeignKey(
        Membership,
        null=True,
        blank=True,
        db_index=False,
        db_constraint=False,
        on_delete=models.DO_NOTHING,
        related_name="+",
    )
    legal_entity = models.ForeignKey(
        LegalEntity,
        null=True,
        blank=True,
        db_index=False,
        db_constraint=False,
        on_delete=models.DO_NOTHING,
        related_name="+",
    )

    class Meta:
        verbose_name = "key claim"
        constraints = [
            # The only index: claims are found by value (merges move them by value too).
            models.UniqueConstraint(fields=["value"], name="key_claim_value_unique"),
            models.CheckConstraint(
                condition=Q(membership__isnull=False, legal_entity__isnull=True)
                | Q(membership__isnull=True, legal_entity__isnull=False),
                name="key_claim_has_one_holder",
            ),
        ]

    def __str__(self) -> str:
        return self.value


class Remark(models.Model):
    """A customer-service note on a membership. Remarks are kept; they follow the member on merge."""

    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="remarks")
    text = models.TextField()
    author = models.CharField(max_length=200, help_text="Who wrote it: a staff user or an API client.")
    author_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.author}: {self.text[:60]}"
