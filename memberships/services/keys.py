"""The one key space: a membership number, a card number and an alternate id value never lead to
two holders.

Every value that names a member in a `{key}` is claimed in `KeyClaim` by its holder (a membership,
or a legal entity for its cards), in the transaction that writes the number, card or alternate id.
The unique value decides: a value another holder claimed, committed or still in flight, is refused
(`key_taken`, or `card_taken` / `alternate_id_taken` when the very card or alternate id exists). A
holder's own second use of a value (its number printed on its card) shares its claim.

These helpers do not open transactions or write audit entries: the services that call them do.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection

from memberships.errors import AlternateIdTaken, CardTaken, KeyTaken
from memberships.models import AlternateId, Card, KeyClaim, LegalEntity, Membership
from memberships.selectors import key_uses

CLAIM_ATTEMPTS = 3


def _insert_sql() -> str:
    table = KeyClaim._meta.db_table
    return (
        f"INSERT INTO {table} (value, membership_id, legal_entity_id) VALUES (%s, %s, %s) "  # noqa: S608 - table name from the model
        "ON CONFLICT (value) DO NOTHING RETURNING id"
    )


def claim_key(value: str, *, membership: Membership | None = None, legal_entity: LegalEntity | None = None) -> bool:
    """Claim `value` for the holder (one of `membership`, `legal_entity`) in the caller's transaction.

    True when the value is now the holder's (newly, or it was already); False when another holder
    has it. INSERT ... ON CONFLICT DO NOTHING raises nothing, so no savepoint is needed, and on
    PostgreSQL a concurrent claim of the same value waits for the first transaction: if that commits,
    this one sees its claim and answers False; if it rolls back, this one claims the value.
    """
    holder = (membership.pk if membership else None, legal_entity.pk if legal_entity else None)
    for _ in range(CLAIM_ATTEMPTS):
        with connection.cursor() as cursor:
            cursor.execute(_insert_sql(), [value, *holder])
            if cursor.fetchone() is not None:
                return True
        held = KeyClaim.objects.filter(value=value).values_list("membership_id", "legal_entity_id").first()
        if held is not None:
            return held == holder
        # Released between the two statements (an alternate id deleted): claim again.
    return False


def key_taken(value: str, field: str) -> KeyTaken:
    """The refusal of a value another holder has, with the request field it came in."""
    message = (
        f"{value} already identifies another member: it is their membership number, one of their card "
        "numbers or alternate ids (or a company's card number)."
    )
    return KeyTaken(message, errors=[{"field": field, "code": KeyTaken.code, "message": message}])


def release_key(value: str) -> None:
    """After a holder stopped using `value` (an alternate id removed): the claim goes when nobody uses
    the value any more, stays while its holder still does (as its number, a card or another alternate
    id), and passes to a holder that still uses it where two held it before this rule (a clash stored
    earlier, see find_key_clashes)."""
    claim = KeyClaim.objects.select_for_update().filter(value=value).first()
    if claim is None:
        return
    holders = [(use.membership_id, use.legal_entity_id) for use in key_uses([value])]
    if not holders:
        claim.delete()
    elif (claim.membership_id, claim.legal_entity_id) not in holders:
        claim.membership_id, claim.legal_entity_id = holders[0]
        claim.save(update_fields=["membership", "legal_entity"])


def move_claims(*, source: Membership, target: Membership, values: Iterable[str]) -> int:
    """A merge: the source's claims on `values` (its number, those of memberships merged into it, its
    cards and alternate ids) become the target's, as its number and keys now lead there. By value, so
    the unique index finds them (claims have no index by holder)."""
    return KeyClaim.objects.filter(value__in=list(values), membership=source).update(membership=target)


def card_refusal(number: str, field: str) -> CardTaken | KeyTaken:
    """Why a card number could not be claimed: the card exists (`card_taken`), or the number is another
    holder's membership number or alternate id (`key_taken`)."""
    if Card.objects.filter(number=number).exists():
        return CardTaken(f"The card number {number} is already in use.")
    return key_taken(number, field)


def alternate_id_refusal(type_: str, value: str, field: str) -> AlternateIdTaken | KeyTaken:
    """Why an alternate id could not be claimed: the same type and value exist (`alternate_id_taken`),
    or the value is another holder's (`key_taken`)."""
    if AlternateId.objects.filter(type=type_, value=value).exists():
        return AlternateIdTaken(f"The alternate id {type_}:{value} is already in use.")
    return key_taken(value, field)
