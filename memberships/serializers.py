"""Wire shapes of the membership endpoints (snake_case here, camelCase on the wire).

Input serializers check form (types, lengths, formats) with the same cleaners the services use;
the services check the rules (uniqueness, status). Output serializers never run queries of their
own: the selectors load what they show.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from loyalty.api.serializers import StrictInputSerializer
from memberships import validation
from memberships.hooks import tier_standing_of
from memberships.models import Card, LegalEntity, Membership, MembershipStatus, Remark
from memberships.selectors import MAX_KEY_LENGTH


def _clean(cleaner, value):
    try:
        return cleaner(value)
    except DjangoValidationError as exc:
        raise serializers.ValidationError(exc.messages, code=exc.code or "invalid") from exc


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": {"oneOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}]},
        "nullable": False,
        "example": {"favoriteStore": "amsterdam-centre", "householdSize": 3},
    }
)
class PropertiesField(serializers.JSONField):
    """Custom properties: an object of name: scalar value (names are kept as sent)."""

    def to_internal_value(self, data):
        return _clean(validation.clean_properties, super().to_internal_value(data))


# Input ----------------------------------------------------------------------------------------


def _schema_pattern(rule, *, key: bool = True) -> str:
    """A cleaner's rule as the schema's pattern: the API trims the value first, so spaces around are fine;
    a key (a card number, an alternate id value) is none of the path words (RESERVED_KEYS, any case)."""
    reserved = "|".join("".join(f"[{c.upper()}{c}]" for c in word) for word in sorted(validation.RESERVED_KEYS))
    not_reserved = rf"(?!(?:{reserved})\s*$)" if key else ""
    return rf"^\s*{not_reserved}{rule.pattern.strip('^$')}\s*$"


@extend_schema_field({"type": "string", "maxLength": 40, "pattern": _schema_pattern(validation.CARD_NUMBER)})
class CardNumberField(serializers.CharField):
    """A card number; the schema carries the rule `validation.clean_card_number` applies."""

    def __init__(self, **kwargs):
        super().__init__(max_length=40, **kwargs)


@extend_schema_field(
    {"type": "string", "maxLength": 40, "pattern": _schema_pattern(validation.ALTERNATE_ID_TYPE, key=False)}
)
class AlternateIdTypeField(serializers.CharField):
    def __init__(self, **kwargs):
        super().__init__(max_length=40, **kwargs)


@extend_schema_field({"type": "string", "maxLength": 100, "pattern": _schema_pattern(validation.ALTERNATE_ID_VALUE)})
class AlternateIdValueField(serializers.CharField):
    def __init__(self, **kwargs):
        super().__init__(max_length=100, **kwargs)


@extend_schema_field({"type": "string", "maxLength": 2, "pattern": r"^[A-Za-z]{2}$"})
class CountryField(serializers.CharField):
    """ISO 3166 alpha-2, any case (stored upper case)."""

    def __init__(self, **kwargs):
        super().__init__(max_length=2, **kwargs)


# Digits with separators the cleaner drops; the count of digits (6 to 15) is checked by the server.
PHONE_PATTERN = r"^[\s().\-/]*(\+|00)?[\s().\-/]*[0-9][0-9\s().\-/]*$"


@extend_schema_field({"type": "string", "maxLength": 32, "pattern": PHONE_PATTERN})
class PhoneField(serializers.CharField):
    def __init__(self, **kwargs):
        super().__init__(max_length=32, **kwargs)


class AddressInput(StrictInputSerializer):
    street = serializers.CharField(max_length=200, required=False, allow_blank=True)
    postal_code = serializers.CharField(max_length=20, required=False, allow_blank=True)
    city = serializers.CharField(max_length=100, required=False, allow_blank=True)
    country = CountryField(required=False, allow_blank=True, help_text="ISO 3166 alpha-2, e.g. NL.")

    def validate_country(self, value):
        return _clean(validation.clean_country, value)


class ConsentsInput(StrictInputSerializer):
    marketing = serializers.BooleanField(help_text="true: the member agrees to marketing messages; false: withdraws.")
    source = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        help_text="Where the consent was given, e.g. `web-signup`. Default: the channel, or the API client.",
    )


class AlternateIdInput(StrictInputSerializer):
    type = AlternateIdTypeField(help_text="e.g. `crm`, `shop`, `email_sha256`.")
    value = AlternateIdValueField(help_text="No spaces or `/`; another member's number, card or alternate id is taken.")

    def validate_type(self, value):
        return _clean(validation.clean_alternate_id_type, value)

    def validate_value(self, value):
        return _clean(validation.clean_alternate_id_value, value)


class PersonalDataInput(StrictInputSerializer):
    """The identity fields, shared by enrollment, claim and details update."""

    first_name = serializers.CharField(max_length=100)
    last_name = serializers.CharField(max_length=100)
    email = serializers.EmailField(max_length=254, help_text="Stored in lower case.")
    phone = PhoneField(required=False, allow_blank=True, help_text="6 to 15 digits, optional leading +.")
    birth_date = serializers.DateField(required=False, allow_null=True)
    address = AddressInput(required=False)
    language = serializers.CharField(max_length=10, required=False, allow_blank=True, help_text="e.g. en, nl, de-AT.")
    consents = ConsentsInput(required=False)

    def validate_email(self, value):
        return _clean(validation.clean_email, value)

    def validate_phone(self, value):
        return _clean(validation.clean_phone, value) if value else ""

    def validate_birth_date(self, value):
        return _clean(validation.clean_birth_date, value) if value else None

    def validate_language(self, value):
        return _clean(validation.clean_language, value)


class EnrollMembershipInput(PersonalDataInput):
    membership_type = serializers.CharField(
        max_length=40, required=False, help_text="A membership type key; default: the program's default type."
    )
    card_number = CardNumberField(required=False, help_text="A card to issue with it.")
    card_type = serializers.ChoiceField(choices=Card.Type.choices, default=Card.Type.PHYSICAL)
    alternate_ids = AlternateIdInput(many=True, required=False, max_length=20)
    properties = PropertiesField(required=False)
    channel = serializers.CharField(max_length=40, required=False, help_text="Where the member enrolled (a key).")
    sponsor = serializers.CharField(max_length=40, required=False, help_text="Default: the program's default sponsor.")

    def validate_card_number(self, value):
        return _clean(validation.clean_card_number, value)

    def validate_channel(self, value):
        return _clean(validation.clean_channel, value)


class UpdateDetailsInput(PersonalDataInput):
    """Partial: only the fields given change. `null` clears phone or birth date."""

    membership_type = serializers.CharField(max_length=40, required=False, help_text="A membership type key.")
    properties = PropertiesField(required=False, help_text="Replaces all custom properties.")

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("partial", True)
        super().__init__(*args, **kwargs)
        self.fields["phone"].allow_null = True

    def validate_phone(self, value):
        return _clean(validation.clean_phone, value) if value else ""


class ClaimMembershipInput(StrictInputSerializer):
    """Either the holder's identity (the anonymous membership becomes theirs and active), or the
    key of the membership they already have (the anonymous one is merged into it)."""

    membership_key = serializers.CharField(
        max_length=MAX_KEY_LENGTH,
        required=False,
        help_text="The claimant's existing membership: the anonymous one is merged into it.",
    )
    first_name = serializers.CharField(max_length=100, required=False)
    last_name = serializers.CharField(max_length=100, required=False)
    email = serializers.EmailField(max_length=254, required=False)
    phone = PhoneField(required=False, allow_blank=True)
    birth_date = serializers.DateField(required=False, allow_null=True)
    address = AddressInput(required=False)
    language = serializers.CharField(max_length=10, required=False, allow_blank=True)
    consents = ConsentsInput(required=False)

    validate_email = PersonalDataInput.validate_email
    validate_phone = PersonalDataInput.validate_phone
    validate_birth_date = PersonalDataInput.validate_birth_date
    validate_language = PersonalDataInput.validate_language

    def validate(self, attrs):
        identity = {name for name in attrs if name != "membership_key"}
        if attrs.get("membership_key"):
            if identity - {"consents"}:
                raise serializers.ValidationError(
                    "Give either membershipKey (merge into an existing membership) or the personal data, not both.",
                    code="invalid",
                )
            return attrs
        missing = [name for name in ("first_name", "last_name", "email") if not attrs.get(name)]
        if missing:
            raise serializers.ValidationError(
                {name: [serializers.ErrorDetail("This field is required.", code="required")] for name in missing}
            )
        return attrs


class MergeMembershipsInput(StrictInputSerializer):
    source_key = serializers.CharField(
        max_length=MAX_KEY_LENGTH, help_text="The membership that disappears into the target."
    )
    target_key = serializers.CharField(max_length=MAX_KEY_LENGTH, help_text="The membership that survives.")


class CancelMembershipInput(StrictInputSerializer):
    reason = serializers.CharField(max_length=500, help_text="Why; kept in the audit log and shown to staff.")


class RemarkInput(StrictInputSerializer):
    text = serializers.CharField(max_length=4000)


class LegalEntityInput(StrictInputSerializer):
    registration_number = serializers.CharField(
        max_length=40, help_text="Identifies the company: an existing one with this number is updated."
    )
    name = serializers.CharField(max_length=200)
    vat_number = serializers.CharField(
        max_length=40,
        required=False,
        allow_blank=True,
        allow_null=True,
        help_text='Left out: unchanged. `""` or null: cleared.',
    )
    address = AddressInput(
        required=False,
        allow_null=True,
        help_text="Given: the whole address is replaced (a part left out becomes empty). Left out: unchanged. "
        "null or `{}`: cleared.",
    )
    users = serializers.ListField(
        child=serializers.CharField(max_length=MAX_KEY_LENGTH),
        required=False,
        allow_null=True,
        max_length=1000,
        help_text="Membership keys of the company's member users. Given: exactly these are its users. "
        "Left out: unchanged. `[]` or null: it has none.",
    )


class LegalEntityCardInput(StrictInputSerializer):
    number = CardNumberField(help_text="The card number: an existing card of this company is updated.")
    type = serializers.ChoiceField(choices=Card.Type.choices, default=Card.Type.PHYSICAL)
    valid_from = serializers.DateField(required=False, allow_null=True)
    valid_until = serializers.DateField(required=False, allow_null=True)

    def validate_number(self, value):
        return _clean(validation.clean_card_number, value)


class AlternateIdDeleteQuery(StrictInputSerializer):
    type = serializers.CharField(max_length=40, required=False)


# Output ---------------------------------------------------------------------------------------


class MembershipAddressOutput(serializers.Serializer):
    street = serializers.CharField()
    postal_code = serializers.CharField()
    city = serializers.CharField()
    country = serializers.CharField()


class MembershipConsentsOutput(serializers.Serializer):
    marketing = serializers.BooleanField(source="marketing_consent")
    changed_at = serializers.DateTimeField(source="marketing_consent_at", allow_null=True)
    source = serializers.CharField(source="marketing_consent_source")


class AlternateIdOutput(serializers.Serializer):
    type = serializers.CharField()
    value = serializers.CharField()
    created_at = serializers.DateTimeField()


PERSONAL_OUTPUT = ("first_name", "last_name", "email", "phone", "birth_date", "address")


class MembershipSummaryOutput(serializers.Serializer):
    """One row of the search list (from selectors.search_memberships, which annotates the keys)."""

    membership_number = serializers.CharField(source="number")
    status = serializers.ChoiceField(choices=MembershipStatus.choices)
    membership_type = serializers.CharField(source="membership_type_key", help_text="The membership type key.")
    tier = serializers.CharField(source="tier_key", allow_null=True, help_text="The tier key.")
    first_name = serializers.CharField(allow_null=True)
    last_name = serializers.CharField(allow_null=True)
    email = serializers.CharField(allow_null=True)
    enrolled_at = serializers.DateTimeField()

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if not self.context.get("personal_data", True):
            for name in PERSONAL_OUTPUT:
                if name in data:
                    data[name] = None
        return data


class TierStandingOutput(serializers.Serializer):
    tier = serializers.CharField(allow_null=True, help_text="The tier the member holds.")
    qualified_tier = serializers.CharField(allow_null=True, help_text="The tier the status points qualify for now.")
    point_type = serializers.CharField(help_text="The point type that counts for tiers.")
    status_points = serializers.CharField(help_text="Status points inside the qualification window.")
    window_start = serializers.DateTimeField(help_text="Where the qualification window begins.")
    next_tier = serializers.CharField(allow_null=True)
    points_to_next_tier = serializers.CharField(allow_null=True, help_text="Status points still needed for it.")
    points_to_keep_tier = serializers.CharField(
        allow_null=True, help_text="Status points still needed to keep the current tier at the next assessment."
    )
    below_tier_since = serializers.DateTimeField(
        allow_null=True, help_text="Set while the member no longer qualifies: the grace period runs from here."
    )


class MembershipDetailsOutput(MembershipSummaryOutput):
    membership_type = serializers.CharField(source="membership_type.key", help_text="The membership type key.")
    tier = serializers.CharField(source="tier.key", allow_null=True, default=None, help_text="The tier key.")
    merged_into = serializers.CharField(
        source="merged_into.number",
        allow_null=True,
        default=None,
        help_text="For a merged membership: the number of the membership it was merged into.",
    )
    phone = serializers.CharField(allow_null=True)
    birth_date = serializers.DateField(allow_null=True)
    address = serializers.SerializerMethodField()
    language = serializers.CharField()
    consents = serializers.SerializerMethodField()
    properties = serializers.JSONField()
    channel = serializers.CharField()
    sponsor = serializers.CharField(source="sponsor.key", allow_null=True, default=None)
    legal_entity = serializers.CharField(
        source="legal_entity.registration_number",
        allow_null=True,
        default=None,
        help_text="Registration number of the company this member is a user of.",
    )
    alternate_ids = serializers.SerializerMethodField()
    tier_standing = serializers.SerializerMethodField(
        help_text="Status points in the window and what the next tier takes (null without tiers)."
    )
    claimed_at = serializers.DateTimeField(allow_null=True)
    merged_at = serializers.DateTimeField(allow_null=True)
    cancelled_at = serializers.DateTimeField(allow_null=True)
    cancel_reason = serializers.CharField()
    updated_at = serializers.DateTimeField()

    @extend_schema_field(MembershipAddressOutput(allow_null=True))
    def get_address(self, instance: Membership) -> dict[str, Any] | None:
        return MembershipAddressOutput(instance).data

    @extend_schema_field(MembershipConsentsOutput)
    def get_consents(self, instance: Membership) -> dict[str, Any]:
        return MembershipConsentsOutput(instance).data

    @extend_schema_field(TierStandingOutput(allow_null=True))
    def get_tier_standing(self, instance: Membership) -> dict[str, Any] | None:
        standing = tier_standing_of(instance)
        return TierStandingOutput(standing).data if standing else None

    @extend_schema_field(AlternateIdOutput(many=True))
    def get_alternate_ids(self, instance: Membership) -> list[dict[str, Any]]:
        return AlternateIdOutput(instance.alternate_ids.all(), many=True).data


class MembershipAccountOutput(serializers.Serializer):
    point_type = serializers.CharField(help_text="The point type key.")
    name = serializers.CharField()
    redeemable_type = serializers.BooleanField(help_text="false for status points, which cannot be redeemed.")
    balance = serializers.CharField(help_text='Decimal string, e.g. "120.00".')
    blocked = serializers.CharField(help_text="Points not yet matured (counted in balance, not redeemable).")
    redeemable = serializers.CharField()

    def to_representation(self, instance):
        data = super().to_representation(instance)
        for name in ("balance", "blocked", "redeemable"):
            data[name] = str(getattr(instance, name))
        return data


class CardOutput(serializers.ModelSerializer):
    class Meta:
        model = Card
        fields = [
            "number",
            "type",
            "status",
            "valid_from",
            "valid_until",
            "issued_at",
            "deactivated_at",
            "deactivation_reason",
        ]


class RemarkOutput(serializers.ModelSerializer):
    class Meta:
        model = Remark
        fields = ["id", "text", "author", "created_at"]


class LegalEntityAddressOutput(serializers.Serializer):
    street = serializers.CharField()
    postal_code = serializers.CharField()
    city = serializers.CharField()
    country = serializers.CharField()


class LegalEntityOutput(serializers.ModelSerializer):
    membership_type = serializers.CharField(source="membership_type.key")
    address = serializers.SerializerMethodField()
    users = serializers.SerializerMethodField()

    class Meta:
        model = LegalEntity
        fields = [
            "registration_number",
            "name",
            "vat_number",
            "membership_type",
            "status",
            "address",
            "users",
            "cancelled_at",
            "cancel_reason",
            "created_at",
            "updated_at",
        ]

    @extend_schema_field(LegalEntityAddressOutput)
    def get_address(self, instance: LegalEntity) -> dict[str, Any]:
        return LegalEntityAddressOutput(instance).data

    @extend_schema_field({"type": "array", "items": {"type": "string"}, "description": "Membership numbers."})
    def get_users(self, instance: LegalEntity) -> list[str]:
        return [user.number for user in instance.users.all()]


def legal_entity_values(data: dict[str, Any]) -> dict[str, Any]:
    """The parsed legal entity sections as service keyword values, with one rule for all: a section
    left out is not passed (unchanged); `vatNumber` given replaces it; `address` given replaces the
    whole address (null or {} clears it). `users` is resolved by the caller (None: unchanged)."""
    values: dict[str, Any] = {}
    if "vat_number" in data:
        values["vat_number"] = data["vat_number"] or ""
    if "address" in data:
        address = data["address"] or {}
        values.update({name: address.get(name, "") for name in ("street", "postal_code", "city", "country")})
    return values


def identity_values(data: dict[str, Any]) -> dict[str, Any]:
    """Flatten parsed personal data (address nested on the wire) into service keyword values."""
    values = {
        name: data[name]
        for name in ("first_name", "last_name", "email", "phone", "birth_date", "language", "properties")
        if name in data
    }
    if values.get("phone") is None and "phone" in values:
        values["phone"] = ""
    values.update(data.get("address") or {})
    return values
