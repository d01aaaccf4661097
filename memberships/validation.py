"""Field rules shared by the API serializers, the admin forms and the services.

Each cleaner returns the normalized value or raises Django's ValidationError with a code, so a
serializer shows it as a field error and a service (called from the admin or an import) refuses
with InvalidInput carrying the same field error.
"""

import functools
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone

from loyalty.errors import InvalidInput

PHONE_SEPARATORS = re.compile(r"[\s().\-/]")
PHONE = re.compile(r"^\+?[0-9]{6,15}$")
CARD_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{3,39}$")
ALTERNATE_ID_TYPE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,39}$")
# No "/" (values are used in URL paths), no whitespace, no control characters.
ALTERNATE_ID_VALUE = re.compile(r"^[^\s/\x00-\x1f\x7f]{1,100}$")
COUNTRY = re.compile(r"^[A-Z]{2}$")
LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Z]{2})?$")
CHANNEL = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
PROPERTY_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,39}$")
MAX_PROPERTIES = 50
OLDEST_BIRTH_DATE = date(1900, 1, 1)
# Literal path segments of the API (/memberships/card/{key}, /memberships/merge, /memberships/type/...):
# a card number or alternate id with one of these names could not be used as a {key}.
RESERVED_KEYS = {"card", "merge", "type"}


def _not_reserved(value: str) -> str:
    if value.lower() in RESERVED_KEYS:
        raise ValidationError(f"{value!r} is reserved by the API's paths.", code="reserved")
    return value


def clean_email(value: str) -> str:
    return _clean_email((value or "").strip().lower())


@functools.lru_cache(maxsize=4096)
def _clean_email(value: str) -> str:
    """Memoized (a pure function; a refusal raises and is not cached): an import cleans each
    address twice, as its record is validated and as the service cleans it."""
    validate_email(value)
    if len(value) > 254:
        raise ValidationError("Use at most 254 characters.", code="invalid")
    return value


def clean_phone(value: str) -> str:
    """Digits with an optional leading +; spaces, dots, dashes, slashes and brackets are dropped; 00 becomes +."""
    value = PHONE_SEPARATORS.sub("", value or "")
    if value.startswith("00"):
        value = "+" + value[2:]
    if not PHONE.match(value):
        raise ValidationError("Give a phone number of 6 to 15 digits, optionally starting with +.", code="invalid")
    return value


def clean_birth_date(value: date) -> date:
    # Before yesterday in UTC is before today in every time zone: no need to ask for the local date
    # (a context-local look-up that costs more than the rest of a record's checks).
    if value < OLDEST_BIRTH_DATE or value >= datetime.now(UTC).date() - timedelta(days=1):
        _check_birth_date(value)
    return value


def _check_birth_date(value: date) -> None:
    if value > timezone.localdate():
        raise ValidationError("A birth date cannot be in the future.", code="invalid")
    if value < OLDEST_BIRTH_DATE:
        raise ValidationError("A birth date before 1900 is not plausible.", code="invalid")


def clean_card_number(value: str) -> str:
    value = (value or "").strip()
    if not CARD_NUMBER.match(value):
        raise ValidationError(
            "Give 4 to 40 letters, digits or dashes, starting with a letter or digit.", code="invalid"
        )
    return _not_reserved(value)


def clean_alternate_id_type(value: str) -> str:
    value = (value or "").strip()
    if not ALTERNATE_ID_TYPE.match(value):
        raise ValidationError(
            "Use up to 40 lower-case letters, digits, '_', '.' or '-' (e.g. crm, shop, email_sha256).",
            code="invalid",
        )
    return value


def clean_alternate_id_value(value: str) -> str:
    value = (value or "").strip()
    if not ALTERNATE_ID_VALUE.match(value):
        raise ValidationError("Give 1 to 100 characters without spaces or '/'.", code="invalid")
    return _not_reserved(value)


def clean_country(value: str) -> str:
    value = (value or "").strip().upper()
    if value and not COUNTRY.match(value):
        raise ValidationError("Use a two-letter ISO 3166 code such as NL or DE.", code="invalid")
    return value


def clean_language(value: str) -> str:
    value = (value or "").strip()
    if value and not LANGUAGE.match(value):
        raise ValidationError("Use a language code such as en, nl or de-AT.", code="invalid")
    return value


def clean_channel(value: str) -> str:
    value = (value or "").strip()
    if value and not CHANNEL.match(value):
        raise ValidationError("Use a channel key: lower-case letters, digits, '-' and '_'.", code="invalid")
    return value


def clean_properties(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValidationError("Give an object of name: value pairs.", code="invalid")
    if len(value) > MAX_PROPERTIES:
        raise ValidationError(f"At most {MAX_PROPERTIES} properties.", code="invalid")
    for name, item in value.items():
        if not isinstance(name, str) or not PROPERTY_NAME.match(name):
            raise ValidationError(
                f"Property name {name!r}: start with a letter; letters, digits and '_' only.", code="invalid"
            )
        if item is not None and not isinstance(item, str | int | float | bool):
            raise ValidationError(f"Property {name!r}: give a string, number, boolean or null.", code="invalid")
        if isinstance(item, str) and len(item) > 500:
            raise ValidationError(f"Property {name!r}: at most 500 characters.", code="invalid")
    return value


def clean_required_text(value: str, max_length: int = 100) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError("This field may not be blank.", code="blank")
    if len(value) > max_length:
        raise ValidationError(f"Use at most {max_length} characters.", code="max_length")
    return value


def clean_optional_text(value: str, max_length: int = 100) -> str:
    value = (value or "").strip()
    if len(value) > max_length:
        raise ValidationError(f"Use at most {max_length} characters.", code="max_length")
    return value


CLEANERS: dict[str, Callable[[Any], Any]] = {
    "first_name": clean_required_text,
    "last_name": clean_required_text,
    "email": clean_email,
    "phone": lambda v: clean_phone(v) if v else "",
    "birth_date": lambda v: clean_birth_date(v) if v is not None else None,
    "street": lambda v: clean_optional_text(v, 200),
    "postal_code": lambda v: clean_optional_text(v, 20),
    "city": lambda v: clean_optional_text(v, 100),
    "country": clean_country,
    "language": clean_language,
    "properties": lambda v: clean_properties(v if v is not None else {}),
    "consent_source": lambda v: clean_optional_text(v, 100),
}


def clean_fields(values: dict[str, Any]) -> dict[str, Any]:
    """Clean every known field of `values`; all problems at once as InvalidInput with field errors."""
    cleaned: dict[str, Any] = {}
    errors: list[dict[str, str]] = []
    for name, value in values.items():
        cleaner = CLEANERS.get(name)
        try:
            cleaned[name] = cleaner(value) if cleaner else value
        except ValidationError as exc:
            field = re.sub(r"_([a-z])", lambda m: m.group(1).upper(), name)  # camelCase, as on the wire
            errors += [{"field": field, "code": exc.code or "invalid", "message": m} for m in exc.messages]
    if errors:
        raise InvalidInput("; ".join(f"{e['field']}: {e['message']}" for e in errors), errors=errors)
    return cleaned
