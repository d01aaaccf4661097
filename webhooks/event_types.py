"""Every event type the platform emits, with a JSON Schema of its payload.

Webhook subscribers pick event types by name (or by wildcard) and integrate against the payloads, so
they need one list that is complete and true: `GET /api/v1/webhooks/eventtypes` serves this one, and
the endpoint forms check subscriptions against it (`pattern_problem`). The names and payloads are
those the services write to the outbox (loyalty.models.Event) and the pull feed serves, plus the two
of the webhooks app itself. tests/event_types.py keeps it true: during the test session it checks
every event written against this registry and fails the run on an unknown type or a payload that
does not match its schema.

Pure data: no models are imported, so any module (settings checks, schema generation) can read it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
PATTERN_MAX_LENGTH = 80
_PATTERN_CHARACTERS = re.compile(r"[a-z0-9_.*]+")


@dataclass(frozen=True)
class EventType:
    """One event type: its name, when it happens, and the JSON Schema of its `payload` object."""

    name: str
    description: str  # one sentence for a CRM integrator: when it happens
    payload: dict[str, Any]  # JSON Schema (draft 2020-12) of the event's payload
    membership: bool  # whether its events carry the member's number (the feed's `membershipNumber`)


# Building blocks ------------------------------------------------------------------------------


def _obj(properties: dict[str, Any], required: list[str] | None = None, *, fixed: bool = True) -> dict[str, Any]:
    """An object schema; `required` defaults to every property. `fixed`: nothing else ever appears."""
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    schema["required"] = list(properties) if required is None else required
    if fixed:
        schema["additionalProperties"] = False
    return schema


def _payload(schema: dict[str, Any]) -> dict[str, Any]:
    """A top-level payload schema: the dialect named, so a validator needs no other hint."""
    return {"$schema": SCHEMA_DIALECT, **schema}


def _str(description: str, **extra: Any) -> dict[str, Any]:
    return {"type": "string", "description": description, **extra}


def _int(description: str, **extra: Any) -> dict[str, Any]:
    return {"type": "integer", "description": description, **extra}


def _bool(description: str) -> dict[str, Any]:
    return {"type": "boolean", "description": description}


def _or_null(schema: dict[str, Any]) -> dict[str, Any]:
    """The same value, or null."""
    return {**schema, "type": [schema["type"], "null"]}


def _strings(description: str) -> dict[str, Any]:
    return {"type": "array", "items": {"type": "string"}, "description": description}


def _const(value: str, description: str) -> dict[str, Any]:
    return {"type": "string", "const": value, "description": description}


def _const_true(description: str) -> dict[str, Any]:
    return {"type": "boolean", "const": True, "description": description}


def _amount(description: str) -> dict[str, Any]:
    """Points as a decimal string with the point type's precision ("12.50", "-3", "0.00")."""
    return _str(description, pattern=r"^-?[0-9]+(\.[0-9]+)?$")


def _moment(description: str) -> dict[str, Any]:
    return _str(description, format="date-time")


def _points_list(description: str) -> dict[str, Any]:
    return {
        "type": "array",
        "description": description,
        "items": _obj({"point_type": _str("The point type's key."), "amount": _amount("The points.")}),
    }


def _alternate_ids(description: str) -> dict[str, Any]:
    return {
        "type": "array",
        "description": description,
        "items": _obj({"type": _str("The alternate id's type."), "value": _str("The alternate id.")}),
    }


_MEMBERSHIP_NUMBER = _str("The membership's number.")
_MEMBERSHIP_STATUS = _str(
    "The membership's status afterwards.", enum=["anonymous", "active", "blocked", "cancelled", "merged"]
)


def _configuration_change() -> dict[str, Any]:
    """`<model>.created|updated` of loyalty.services.save_configuration: the edited fields' old and new values."""
    return _payload(
        _obj(
            {
                "id": _int("The object's id."),
                "object": _str("The object as the back office names it."),
                "changes": {
                    "type": "object",
                    "description": "Each changed field: [old value, new value] (old is null on creation).",
                    "additionalProperties": {"type": "array", "minItems": 2, "maxItems": 2},
                },
            }
        )
    )


def _configuration_deleted() -> dict[str, Any]:
    """`<model>.deleted` of loyalty.services.delete_configuration."""
    return _payload(
        _obj({"id": _int("The deleted object's id."), "object": _str("The object as the back office named it.")})
    )


def _booking(kind: str, properties: dict[str, Any]) -> dict[str, Any]:
    """A ledger booking's event (ledger.services.core.announce): the booking, then what it did."""
    return _obj(
        {
            "booking": _int("The ledger booking's id."),
            "kind": _const(kind, "The booking's kind."),
            "receipt_id": _str("The booking's receipt id (empty when it has none)."),
            **properties,
        }
    )


def _lots_notice(moment: str, moment_description: str) -> dict[str, Any]:
    """points.matured / points.expiring: one event per member account for the lots concerned."""
    return _payload(
        _obj(
            {
                "point_type": _str("The point type's key."),
                "amount": _amount("The points concerned."),
                moment: _moment(moment_description),
            }
        )
    )


def _card(*, with_type: bool, membership: bool) -> dict[str, Any]:
    properties: dict[str, Any] = {"cardNumber": _str("The card's number.")}
    if membership:
        properties["membershipNumber"] = _or_null(_str("The holder's membership number; null for a company card."))
    properties["legalEntity"] = _or_null(
        _str("The holding legal entity's registration number; null for a member's card.")
    )
    if with_type:
        properties["type"] = _str("The card's type.", enum=["physical", "virtual"])
    return _payload(_obj(properties))


def _legal_entity(properties: dict[str, Any]) -> dict[str, Any]:
    return _payload(_obj({"registrationNumber": _str("The legal entity's registration number."), **properties}))


def _catalog_value(changes: bool) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "masterCategory": _str("The master category's key."),
        "channel": _str("The channel's key."),
        "key": _str("The category value's key."),
    }
    if changes:
        properties["changes"] = {
            "type": "object",
            "description": "Each changed field (key, name, channel): [old value, new value].",
            "additionalProperties": {"type": "array", "minItems": 2, "maxItems": 2},
        }
    return _payload(_obj(properties))


def _product() -> dict[str, Any]:
    return _payload(
        _obj(
            {
                "channel": _str("The product's channel key."),
                "key": _str("The product's key in its channel."),
                "changes": _strings("The names of the changed fields (categories included)."),
            }
        )
    )


def _custom_category(*, deleted: bool) -> dict[str, Any]:
    properties: dict[str, Any] = {"key": _str("The custom category's key.")}
    if not deleted:
        properties["added"] = _int("Products added by this change.", minimum=0)
        properties["removed"] = _int("Products removed by this change.", minimum=0)
    properties["productCount"] = _int(
        "Products it held when deleted." if deleted else "Products it holds now.", minimum=0
    )
    return _payload(_obj(properties))


def _promotion() -> dict[str, Any]:
    return _payload(
        _obj({"key": _str("The promotion's key."), "version": _int("The number of its current rules version.")})
    )


def _import_batch(properties: dict[str, Any]) -> dict[str, Any]:
    return _payload(
        _obj({"key": _str("The import batch's key."), "importType": _str("The import's type."), **properties})
    )


def _export(properties: dict[str, Any]) -> dict[str, Any]:
    return _payload(
        _obj({"key": _str("The export job's key."), "template": _str("The export template."), **properties})
    )


_VOUCHER_TOKEN = _str("The voucher code.")
_VOUCHER_TYPE = _str("The voucher type's key.")
_TOKENS = _strings("The codes of the vouchers (the first 100).")


def _voucher_issued() -> dict[str, Any]:
    """vouchers.services.issue (priced: bought with points) and .register (given_codes: codes made elsewhere)."""
    return _payload(
        _obj(
            {
                "voucher_type": _VOUCHER_TYPE,
                "recipient": _or_null(_str("The recipient's membership number; null for vouchers given to nobody.")),
                "count": _int("How many vouchers were issued.", minimum=1),
                "tokens": _TOKENS,
                "batch": _or_null(_int("The issue batch's id, for a bulk issue.")),
                "source": _str("Where the issue came from (a promotion, the API, the back office)."),
                "reference": _str("The caller's reference (empty when none)."),
                "valid_until": _or_null(_moment("When the vouchers stop being valid (null: no end).")),
                "receipt_id": _str("The receipt of the points redemption that paid for it (bought vouchers only)."),
                "points_paid": _amount("The points paid (bought vouchers only)."),
                "point_type": _str("The point type paid with (bought vouchers only)."),
                "given_codes": _const_true("Present when the codes were made elsewhere and registered."),
            },
            ["voucher_type", "recipient", "count", "tokens", "batch", "source", "reference", "valid_until"],
        )
    )


def _webhook(properties: dict[str, Any]) -> dict[str, Any]:
    return _payload(_obj({"endpoint": _int("The webhook endpoint's id."), **properties}))


# The registry ---------------------------------------------------------------------------------

# Program configuration saved through loyalty.services.save_configuration (`<model>.<verb>`), with
# how it is named to people; every one but the program can be deleted (delete_configuration).
_CONFIGURATION = {
    "program": "the program settings",
    "sponsor": "a sponsor",
    "membershiptype": "a membership type",
    "tier": "a tier",
    "apiclient": "an API client",
    "pointtype": "a point type",
    "vouchertype": "a voucher type",
    "channel": "a sales channel",
    "mastercategory": "a master category of the product catalog",
}
_NOT_DELETABLE = {"program"}


def _configuration_types() -> list[EventType]:
    found = []
    for model, what in _CONFIGURATION.items():
        found.append(EventType(f"{model}.created", f"Sent when {what} is created.", _configuration_change(), False))
        found.append(EventType(f"{model}.updated", f"Sent when {what} is changed.", _configuration_change(), False))
        if model not in _NOT_DELETABLE:
            found.append(
                EventType(f"{model}.deleted", f"Sent when {what} is deleted.", _configuration_deleted(), False)
            )
    return found


_TYPES: list[EventType] = [
    *_configuration_types(),
    # API keys (loyalty.services)
    EventType(
        "apikey.issued",
        "Sent when a new API key is issued to an API client.",
        _payload(_obj({"client": _str("The API client's name."), "prefix": _str("The key's public prefix.")})),
        False,
    ),
    EventType(
        "apikey.revoked",
        "Sent when an API key is revoked and stops working.",
        _payload(_obj({"client": _str("The API client's name."), "prefix": _str("The key's public prefix.")})),
        False,
    ),
    # Memberships
    EventType(
        "membership.enrolled",
        "Sent when a person enrolls and gets a new active membership.",
        _payload(
            _obj(
                {
                    "membershipNumber": _MEMBERSHIP_NUMBER,
                    "status": _MEMBERSHIP_STATUS,
                    "membershipType": _str("The membership type's key."),
                    "channel": _str("The channel the enrollment came through (empty when none)."),
                    "sponsor": _or_null(_str("The enrolling sponsor's key.")),
                    "cardNumber": _or_null(_str("The card issued with the enrollment.")),
                    "alternateIds": _alternate_ids("The alternate ids linked at enrollment."),
                    "marketingConsent": _bool("Whether the member agreed to marketing."),
                }
            )
        ),
        True,
    ),
    EventType(
        "membership.anonymous_created",
        "Sent when a card nobody has registered yet gets an anonymous membership (it collects points until claimed).",
        _payload(
            _obj(
                {
                    "membershipNumber": _MEMBERSHIP_NUMBER,
                    "status": _MEMBERSHIP_STATUS,
                    "cardNumber": _str("The card behind the membership."),
                }
            )
        ),
        True,
    ),
    EventType(
        "membership.updated",
        "Sent when a member's details, membership type or marketing consent change (read the new values from the API).",
        _payload(
            _obj(
                {
                    "membershipNumber": _MEMBERSHIP_NUMBER,
                    "fields": _strings("The names of the changed fields (never their values)."),
                    "personalData": _bool("Whether any of them is personal data."),
                }
            )
        ),
        True,
    ),
    EventType(
        "membership.claimed",
        "Sent when the holder of an anonymous membership registers, either claiming it or merging it into their own.",
        _payload(
            _obj(
                {
                    "membershipNumber": _str("The anonymous membership's number."),
                    "status": _MEMBERSHIP_STATUS,
                    "mergedInto": _or_null(_str("The membership it was merged into; null when claimed as it is.")),
                    "marketingConsent": _bool("Whether the member agreed to marketing (when claimed as it is)."),
                },
                ["membershipNumber", "status", "mergedInto"],
            )
        ),
        True,
    ),
    EventType(
        "membership.merged",
        "Sent when a membership is merged into another, which takes over its cards, ids, points and vouchers.",
        _payload(
            _obj(
                {
                    "membershipNumber": _str("The merged (source) membership's number; it now leads to mergedInto."),
                    "mergedInto": _str("The surviving membership's number."),
                    "cards": _strings("The numbers of the cards that moved."),
                    "alternateIds": _alternate_ids("The alternate ids that moved."),
                    "remarks": _int("How many remarks moved.", minimum=0),
                }
            )
        ),
        True,
    ),
    EventType(
        "membership.cancelled",
        "Sent when a membership is cancelled: its cards are deactivated and its points forfeited.",
        _payload(
            _obj(
                {
                    "membershipNumber": _MEMBERSHIP_NUMBER,
                    "reason": _str("The reason given for the cancellation."),
                    "cardsDeactivated": _strings("The numbers of the cards deactivated."),
                }
            )
        ),
        True,
    ),
    EventType(
        "membership.reactivated",
        "Sent when a cancelled membership is opened again and the cards its cancellation deactivated come back.",
        _payload(
            _obj(
                {
                    "membershipNumber": _MEMBERSHIP_NUMBER,
                    "status": _MEMBERSHIP_STATUS,
                    "cardsReactivated": _strings("The numbers of the cards active again."),
                }
            )
        ),
        True,
    ),
    EventType(
        "membership.blocked",
        "Sent when a membership is blocked for now (suspected fraud, a dispute).",
        _payload(_obj({"membershipNumber": _MEMBERSHIP_NUMBER})),
        True,
    ),
    EventType(
        "membership.unblocked",
        "Sent when a blocked membership is unblocked.",
        _payload(_obj({"membershipNumber": _MEMBERSHIP_NUMBER, "status": _MEMBERSHIP_STATUS})),
        True,
    ),
    EventType(
        "tier.changed",
        "Sent when a member moves to another tier (an upgrade, a downgrade, or a change by staff).",
        _payload(
            _obj(
                {
                    "membershipNumber": _MEMBERSHIP_NUMBER,
                    "from": _or_null(_str("The previous tier's key; null for none.")),
                    "to": _or_null(_str("The new tier's key; null for none.")),
                    "reason": _str("Why: upgrade, downgrade, or the reason staff gave."),
                }
            )
        ),
        True,
    ),
    EventType(
        "card.issued",
        "Sent when a card is issued to a member or to a legal entity.",
        _card(with_type=True, membership=True),
        True,
    ),
    EventType(
        "card.updated",
        "Sent when a legal entity's card is changed or made active again.",
        _payload(
            _obj(
                {
                    "cardNumber": _str("The card's number."),
                    "legalEntity": _str("The holding legal entity's registration number."),
                    "fields": _strings("The names of the changed fields."),
                }
            )
        ),
        False,
    ),
    EventType(
        "card.deleted",
        "Sent when a card is deactivated: it no longer identifies anyone and its number is never issued again.",
        _card(with_type=False, membership=True),
        True,
    ),
    EventType(
        "alternate_id.added",
        "Sent when another system's id is linked to a membership.",
        _payload(
            _obj(
                {
                    "membershipNumber": _MEMBERSHIP_NUMBER,
                    "type": _str("The alternate id's type."),
                    "value": _str("The alternate id."),
                }
            )
        ),
        True,
    ),
    EventType(
        "alternate_id.deleted",
        "Sent when another system's id is unlinked from a membership.",
        _payload(
            _obj(
                {
                    "membershipNumber": _MEMBERSHIP_NUMBER,
                    "type": _str("The alternate id's type."),
                    "value": _str("The alternate id."),
                }
            )
        ),
        True,
    ),
    EventType(
        "remark.added",
        "Sent when customer service adds a remark to a membership.",
        _payload(_obj({"membershipNumber": _MEMBERSHIP_NUMBER, "remarkId": _int("The remark's id.")})),
        True,
    ),
    EventType(
        "legal_entity.created",
        "Sent when a company (legal entity) is registered.",
        _legal_entity(
            {
                "membershipType": _str("The membership type's key."),
                "fields": _strings("The names of the fields set."),
            }
        ),
        False,
    ),
    EventType(
        "legal_entity.updated",
        "Sent when a company's (legal entity's) details or users change.",
        _legal_entity(
            {
                "membershipType": _str("The membership type's key."),
                "fields": _strings("The names of the changed fields."),
            }
        ),
        False,
    ),
    EventType(
        "legal_entity.cancelled",
        "Sent when a company (legal entity) is cancelled and its cards are deactivated.",
        _legal_entity(
            {
                "reason": _str("The reason given for the cancellation."),
                "cardsDeactivated": _strings("The numbers of the cards deactivated."),
            }
        ),
        False,
    ),
    EventType(
        "legal_entity.reactivated",
        "Sent when a cancelled company (legal entity) is opened again and its cards come back.",
        _legal_entity({"cardsReactivated": _strings("The numbers of the cards active again.")}),
        False,
    ),
    # Points (ledger)
    EventType(
        "points.earned",
        "Sent when a member earns points, from a purchase or an import.",
        _payload(
            _booking(
                "earn",
                {
                    "points": _points_list("The points earned, per point type."),
                    "tx_id": _str("The purchase's transaction id (empty when none)."),
                },
            )
        ),
        True,
    ),
    EventType(
        "points.redeemed",
        "Sent when a member spends points.",
        _payload(
            _booking(
                "redeem",
                {
                    "point_type": _str("The point type's key."),
                    "amount": _amount("The points redeemed."),
                    "sponsor": _str("The sponsor the points were redeemed with."),
                },
            )
        ),
        True,
    ),
    EventType(
        "points.adjusted",
        "Sent when staff or an integrator corrects a member's points up or down.",
        _payload(
            _booking(
                "adjust",
                {
                    "point_type": _str("The point type's key."),
                    "amount": _amount("The points added (negative: taken away)."),
                    "reason": _str("The reason given."),
                },
            )
        ),
        True,
    ),
    EventType(
        "points.transferred",
        "Sent twice when points move from one member to another: once for the giver, once for the receiver.",
        _payload(
            {
                "oneOf": [
                    _booking(
                        "transfer",
                        {
                            "point_type": _str("The point type's key."),
                            "amount": _amount("The points given."),
                            "to": _str("The receiving membership's number."),
                        },
                    ),
                    _obj(
                        {
                            "booking": _int("The ledger booking's id."),
                            "point_type": _str("The point type's key."),
                            "amount": _amount("The points received."),
                            "from": _str("The giving membership's number."),
                        }
                    ),
                ]
            }
        ),
        True,
    ),
    EventType(
        "points.reversed",
        "Sent when a redemption is undone (the points come back) or an earn is taken back (a return).",
        _payload(
            {
                "oneOf": [
                    _booking(
                        "reversal",
                        {
                            "reverses": _int("The id of the redemption booking undone."),
                            "point_type": _str("The point type's key (empty when nothing was redeemed)."),
                            "amount": _amount("The points given back."),
                        },
                    ),
                    _booking(
                        "reversal",
                        {
                            "reverses": _int("The id of the earn booking taken back."),
                            "line_ref": _str("The line of the earn taken back (empty: the whole earn)."),
                            "points": _points_list("The points taken back, per point type."),
                        },
                    ),
                ]
            }
        ),
        True,
    ),
    EventType(
        "points.expired",
        "Sent when a lot of a member's points reaches its expiry date and expires.",
        _payload(
            _booking(
                "expire",
                {
                    "point_type": _str("The point type's key."),
                    "amount": _amount("The points expired."),
                    "lot": _int("The id of the lot that expired."),
                },
            )
        ),
        True,
    ),
    EventType(
        "points.matured",
        "Sent when a member's blocked points mature and can be redeemed.",
        _lots_notice("matured_at", "When the last of them matured."),
        True,
    ),
    EventType(
        "points.expiring",
        "Sent ahead of expiry (the program's forecast days) when a member's points will expire soon.",
        _lots_notice("expires_at", "When the first of them expires."),
        True,
    ),
    EventType(
        "points.forfeited",
        "Sent when a cancelled membership's points are forfeited.",
        _payload(_booking("forfeit", {"points": _points_list("The points forfeited, per point type.")})),
        True,
    ),
    EventType(
        "points.merged",
        "Sent when a merge moves a membership's points to the surviving membership (the event's member).",
        _payload(
            _booking(
                "merge",
                {
                    "source": _str("The merged membership's number."),
                    "points": _points_list("The points moved, per point type."),
                },
            )
        ),
        True,
    ),
    EventType(
        "ledger.verify_failed",
        "Sent when the nightly ledger check finds balances that do not add up (for operations).",
        _payload(
            _obj(
                {
                    "count": _int("How many violations were found.", minimum=1),
                    "violations": _strings("The first 50 violations, described."),
                }
            )
        ),
        False,
    ),
    # Catalog and promotions
    EventType(
        "categoryvalue.created",
        "Sent when a value is added to a master category in a channel.",
        _catalog_value(True),
        False,
    ),
    EventType(
        "categoryvalue.updated",
        "Sent when a category value is renamed or moved to another channel.",
        _catalog_value(True),
        False,
    ),
    EventType(
        "categoryvalue.deleted",
        "Sent when a category value is deleted (its products lose it).",
        _catalog_value(False),
        False,
    ),
    EventType("product.created", "Sent when a product is added to the catalog.", _product(), False),
    EventType(
        "product.updated",
        "Sent when a product's details or categories change.",
        _product(),
        False,
    ),
    EventType(
        "customcategory.created",
        "Sent when a custom category (a product list) is created.",
        _custom_category(deleted=False),
        False,
    ),
    EventType(
        "customcategory.updated",
        "Sent when a custom category's name, description or products change.",
        _custom_category(deleted=False),
        False,
    ),
    EventType(
        "customcategory.deleted",
        "Sent when a custom category is deleted.",
        _custom_category(deleted=True),
        False,
    ),
    EventType("promotion.created", "Sent when a promotion is created.", _promotion(), False),
    EventType(
        "promotion.updated",
        "Sent when a promotion's settings or rules change, or its activation is approved.",
        _promotion(),
        False,
    ),
    # Vouchers
    EventType(
        "voucher.issued",
        "Sent when vouchers are issued (by a promotion, bought with points, handed out or registered in bulk).",
        _voucher_issued(),
        True,
    ),
    EventType(
        "voucher.converted",
        "Sent when a voucher is used.",
        _payload(
            _obj(
                {
                    "token": _VOUCHER_TOKEN,
                    "voucher_type": _VOUCHER_TYPE,
                    "membership": _or_null(_str("The membership that used it (null: used without one).")),
                    "channel": _str("The channel it was used in (empty when none)."),
                    "reference": _str("The caller's reference (empty when none)."),
                    "uses_left": _int("How many uses it has left.", minimum=0),
                    "status": _str("The voucher's status afterwards.", enum=["issued", "converted"]),
                }
            )
        ),
        True,
    ),
    EventType(
        "voucher.revoked",
        "Sent when an unused voucher is withdrawn; points paid for it are given back.",
        _payload(
            _obj(
                {
                    "token": _VOUCHER_TOKEN,
                    "voucher_type": _VOUCHER_TYPE,
                    "status": {
                        "type": "array",
                        "description": 'The status before and after: ["issued", "revoked"].',
                        "prefixItems": [{"const": "issued"}, {"const": "revoked"}],
                        "items": False,
                        "minItems": 2,
                    },
                    "reason": _str("The reason given."),
                    "refund_receipt_id": _or_null(_str("The receipt of the points given back (null: none paid).")),
                    "points_refunded": _amount("The points given back (only when it was paid for)."),
                },
                ["token", "voucher_type", "status", "reason", "refund_receipt_id"],
            )
        ),
        True,
    ),
    EventType(
        "voucher.expired",
        "Sent when an unused voucher passes its end of validity.",
        _payload(
            _obj(
                {
                    "token": _VOUCHER_TOKEN,
                    "voucher_type": _VOUCHER_TYPE,
                    "valid_until": _moment("When it stopped being valid."),
                    "uses_left": _int("How many uses it had left.", minimum=0),
                }
            )
        ),
        True,
    ),
    EventType(
        "vouchers.merged",
        "Sent when a membership merge moves the merged membership's vouchers to the surviving one.",
        _payload(
            _obj(
                {
                    "from": _str("The merged membership's number."),
                    "to": _str("The surviving membership's number."),
                    "count": _int("How many vouchers moved.", minimum=1),
                    "tokens": _TOKENS,
                }
            )
        ),
        True,
    ),
    # Purchases (transactions)
    EventType(
        "tx.booked",
        "Sent when a purchase is booked and has earned its points.",
        _payload(
            _obj(
                {
                    "tx_id": _str("The purchase's transaction id."),
                    "receipt_id": _str("The receipt id (empty when none)."),
                    "points": _points_list("The points the purchase earned, per point type."),
                }
            )
        ),
        True,
    ),
    EventType(
        "tx.reversed",
        "Sent when a purchase is returned, in whole or in part, and its points are taken back.",
        _payload(
            _obj(
                {
                    "tx_id": _str("The purchase's transaction id."),
                    "receipt_id": _str("The receipt id (empty when none)."),
                    "return": _int("The number of this return of the purchase (1, 2, ...).", minimum=1),
                    "points": _points_list("The points taken back, per point type (negative amounts)."),
                }
            )
        ),
        True,
    ),
    # Imports and exports
    EventType(
        "import.completed",
        "Sent when an import batch has applied all its records.",
        _import_batch(
            {
                "total": _int("Records in the batch.", minimum=0),
                "ok": _int("Records applied.", minimum=0),
                "failed": _int("Records refused.", minimum=0),
            }
        ),
        False,
    ),
    EventType(
        "import.failed",
        "Sent when an import batch fails as a whole.",
        _import_batch({"error": _str("What went wrong.")}),
        False,
    ),
    EventType(
        "export.completed",
        "Sent when an export file is ready to download.",
        _export(
            {
                "format": _str("The file format.", enum=["csv", "json", "xlsx"]),
                "rows": _int("Rows in the file.", minimum=0),
            }
        ),
        False,
    ),
    EventType("export.failed", "Sent when an export job fails.", _export({}), False),
    # The webhooks app's own
    EventType(
        "webhook.test",
        "Sent on request to the one endpoint being tested, never to other subscribers.",
        _webhook({"message": _str("A fixed text saying this is a test.")}),
        False,
    ),
    EventType(
        "webhook.endpoint.disabled",
        "Sent when an endpoint is disabled after a 410 Gone answer or three days of failed deliveries.",
        _webhook({"url": _str("The endpoint's URL."), "reason": _str("Why it was disabled.")}),
        False,
    ),
]

EVENT_TYPES: dict[str, EventType] = {t.name: t for t in sorted(_TYPES, key=lambda t: t.name)}


def matching(patterns: list[str]) -> list[str]:
    """The type names a subscription's patterns select, sorted: an exact name, `*` (every type), or
    `prefix.*` (every type under that dotted prefix: `points.*` has `points.earned`, not `pointsx.y`)."""
    names: set[str] = set()
    for pattern in patterns:
        if pattern == "*":
            return list(EVENT_TYPES)
        if pattern.endswith(".*"):
            prefix = pattern[:-1]  # keeps the dot: `points.` does not match `pointsx.y`
            names.update(name for name in EVENT_TYPES if name.startswith(prefix))
        elif pattern in EVENT_TYPES:
            names.add(pattern)
    return sorted(names)


def pattern_problem(pattern: str) -> str | None:
    """Why `pattern` cannot be subscribed to, in words a person can act on; None when it can."""
    if not pattern:
        return "An event type pattern cannot be empty."
    if len(pattern) > PATTERN_MAX_LENGTH:
        return f"An event type pattern has at most {PATTERN_MAX_LENGTH} characters."
    if not _PATTERN_CHARACTERS.fullmatch(pattern):
        return (
            f"{pattern!r} has characters an event type never has: use lowercase letters, digits, '_', '.' and '*' only."
        )
    if "*" in pattern and pattern != "*" and not (pattern.endswith(".*") and "*" not in pattern[:-1]):
        return f"{pattern!r} is not a pattern: '*' stands alone (every type) or as the last part, as in 'points.*'."
    if not matching([pattern]):
        return f"No event type matches {pattern!r}."
    return None
