"""Enrolling many members at once: the bulk form of `enroll_membership`, for imports.

`enroll_many` writes, with one statement per table (COPY on PostgreSQL), exactly what
`enroll_membership` writes for each member it takes: the membership, its card and alternate ids,
the claims of the one key space (memberships.services.keys), the `membership.enrolled` and
`card.issued` audit entries and events, in the same order. It takes only the members nothing could
refuse: every value is cleaned by the service's own cleaners, and a member whose e-mail (with the
program's unique e-mail setting), card, alternate id or value of the key space is taken, or shared
with another member of the same call, or whose values a cleaner refuses, is left out and
returned as None. The caller enrolls those with `enroll_membership`, one by one, so every refusal
comes from the service with its own code. A key taken by a concurrent transaction between the
checks and the insert makes the insert fail (IntegrityError): the whole call rolls back (it is
atomic) and the caller goes one by one.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from loyalty.actors import Actor
from loyalty.bulk import audit_columns, current_txid, insert_rows
from loyalty.errors import DomainError
from loyalty.models import AuditEntry, Event, MembershipType, Program
from memberships import events
from memberships.models import (
    EMAIL_HOLDING_STATUSES,
    AlternateId,
    Card,
    CardStatus,
    KeyClaim,
    Membership,
    MembershipStatus,
)
from memberships.numbers import generate_membership_number
from memberships.selectors import key_claims
from memberships.services.common import (
    ENROLLED_FIELDS,
    clean_identity,
    consent_values,
    enrolled_changes,
    membership_type_for_enrollment,
)
from memberships.services.enrollment import _clean_alternate_ids, _clean_card, _clean_channel
from memberships.services.identifiers import clean_card_values

IDENTITY_DEFAULTS: dict[str, Any] = {
    "phone": "",
    "birth_date": None,
    "street": "",
    "postal_code": "",
    "city": "",
    "country": "",
    "language": "",
    "properties": None,
    "consent_source": "",
}


def _prepare(values: dict[str, Any], default_type: MembershipType | None) -> dict[str, Any] | None:
    """What enroll_membership computes before it writes, or None when it might refuse."""
    try:
        identity = clean_identity(
            {
                "first_name": values.get("first_name", ""),
                "last_name": values.get("last_name", ""),
                "email": values.get("email", ""),
                **{name: values.get(name, default) for name, default in IDENTITY_DEFAULTS.items()},
            },
            required=True,
        )
        membership_type = values.get("membership_type") or default_type
        if membership_type is None or not membership_type.active:
            return None  # enroll_membership refuses it (unknown_membership_type)
        card_number = values.get("card_number", "")
        return {
            "identity": identity,
            "source": identity.pop("consent_source"),
            "channel": _clean_channel(values.get("channel", "")),
            "membership_type": membership_type,
            "sponsor": values.get("sponsor"),
            "card": _clean_card(card_number, values.get("card_type", Card.Type.PHYSICAL)) if card_number else None,
            "pairs": _clean_alternate_ids(values.get("alternate_ids", ())),
            "marketing": values.get("marketing_consent"),
            "enrolled_at": values.get("enrolled_at"),
        }
    except (DomainError, ValidationError):
        return None


def _twice(keys: Iterable[Any]) -> set[Any]:
    seen: set[Any] = set()
    twice: set[Any] = set()
    for key in keys:
        (twice if key in seen else seen).add(key)
    return twice


def _lock_emails(emails: list[str]) -> None:
    """The advisory locks ensure_email_free takes, for all the addresses at once in a fixed order."""
    if connection.vendor != "postgresql" or not emails:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_advisory_xact_lock(h)) FROM (SELECT hashtextextended('membership-email:' || e, 0) AS h "
            "FROM unnest(%s::text[]) AS e ORDER BY 1) AS locks",
            [sorted(set(emails))],
        )


def _values(p: dict[str, Any]) -> set[str]:
    """The member's values of the one key space (its card number, its alternate id values)."""
    return ({p["card"][0]} if p["card"] else set()) | {value for _, value in p["pairs"]}


def _blocked(prepared: list[dict[str, Any]], unique_email: bool) -> set[tuple[str, Any]]:
    """The keys (e-mail, card, alternate id, value of the key space) that are taken, or given twice in
    this call (a value twice only across members: one member may use it as card and alternate id)."""
    cards = [p["card"][0] for p in prepared if p["card"]]
    pairs = [pair for p in prepared for pair in p["pairs"]]
    values = [value for p in prepared for value in _values(p)]
    blocked = {("card", n) for n in _twice(cards)} | {("alt", pair) for pair in _twice(pairs)}
    blocked |= {("key", v) for v in _twice(values)} | {("key", v) for v in key_claims(values)}
    if cards:
        blocked |= {("card", n) for n in Card.objects.filter(number__any=cards).values_list("number", flat=True)}
    if pairs:
        stored = AlternateId.objects.filter(value__any={v for _, v in pairs}).values_list("type", "value")
        blocked |= {("alt", pair) for pair in stored}
    if unique_email:
        emails = [p["identity"]["email"] for p in prepared]
        _lock_emails(emails)
        blocked |= {("email", e) for e in _twice(emails)}
        held = Membership.objects.filter(email__any=set(emails), status__in=EMAIL_HOLDING_STATUSES)
        blocked |= {("email", e) for e in held.values_list("email", flat=True)}
    return blocked


def _keys(p: dict[str, Any], unique_email: bool) -> set[tuple[str, Any]]:
    keys = {("email", p["identity"]["email"])} if unique_email else set()
    if p["card"]:
        keys.add(("card", p["card"][0]))
    return keys | {("alt", pair) for pair in p["pairs"]} | {("key", v) for v in _values(p)}


def _free_numbers(count: int, used: set[str]) -> list[str]:
    """`count` fresh membership numbers that no membership has and that are no value of the key space
    (a claim, or one of `used`, the values of this call): drawn as _insert_membership draws them."""
    numbers: dict[str, None] = {}
    while len(numbers) < count:
        fresh = list(dict.fromkeys(generate_membership_number() for _ in range(count - len(numbers))))
        fresh = [n for n in fresh if n not in numbers and n not in used]
        taken = set(Membership.objects.filter(number__any=fresh).values_list("number", flat=True))
        taken |= set(key_claims(fresh))
        numbers.update(dict.fromkeys(n for n in fresh if n not in taken))
    return list(numbers)


@transaction.atomic
def enroll_many(*, actor: Actor, members: list[dict[str, Any]]) -> list[str | None]:
    """Enroll every member that nothing could refuse, in bulk; for each member of `members` (the
    keyword arguments of enroll_membership), the new membership number, or None when it is left to
    enroll_membership."""
    results: list[str | None] = [None] * len(members)
    default_type = None
    if any(not m.get("membership_type") for m in members):
        try:
            default_type = membership_type_for_enrollment(None)
        except DomainError:
            default_type = None
    prepared = {i: p for i, m in enumerate(members) if (p := _prepare(m, default_type)) is not None}
    if not prepared:
        return results
    unique_email = Program.current().unique_email
    blocked = _blocked(list(prepared.values()), unique_email)
    if blocked:
        prepared = {i: p for i, p in prepared.items() if not _keys(p, unique_email) & blocked}
    if not prepared:
        return results

    now = timezone.now()
    numbers = _free_numbers(len(prepared), {v for p in prepared.values() for v in _values(p)})
    member_rows = []
    for p, number in zip(prepared.values(), numbers, strict=True):
        channel = p["channel"]
        member_rows.append(
            {
                "number": number,
                "membership_type_id": p["membership_type"].pk,
                "status": MembershipStatus.ACTIVE,
                "enrolled_at": p["enrolled_at"] or now,
                "channel": channel,
                "sponsor_id": p["sponsor"].pk if p["sponsor"] else None,
                **p["identity"],
                **consent_values(p["marketing"], p["source"], actor=actor, channel=channel),
            }
        )
    member_ids = insert_rows(Membership, member_rows, ids=True)
    # The one key space: each member's number and values (none is claimed: checked above; a claim
    # made meanwhile by a concurrent transaction fails this insert, and the caller goes one by one).
    insert_rows(
        KeyClaim,
        [
            {"value": value, "membership_id": pk}
            for p, row, pk in zip(prepared.values(), member_rows, member_ids, strict=True)
            for value in (row["number"], *sorted(_values(p)))
        ],
    )
    card_rows = [
        {"number": p["card"][0], "type": p["card"][1], "membership_id": pk}
        for p, pk in zip(prepared.values(), member_ids, strict=True)
        if p["card"]
    ]
    card_ids = iter(insert_rows(Card, card_rows, ids=True))
    insert_rows(
        AlternateId,
        [
            {"membership_id": pk, "type": t, "value": v}
            for p, pk in zip(prepared.values(), member_ids, strict=True)
            for t, v in p["pairs"]
        ],
    )

    txid = current_txid()
    who = audit_columns(actor)
    membership_label, card_label = Membership._meta.label_lower, Card._meta.label_lower
    audits: list[dict[str, Any]] = []
    outbox: list[dict[str, Any]] = []
    for (index, p), row, pk in zip(prepared.items(), member_rows, member_ids, strict=True):
        number = row["number"]
        changes = enrolled_changes({name: row[name] for name in ENROLLED_FIELDS})
        audits.append(
            {
                **who,
                "action": events.MEMBERSHIP_ENROLLED,
                "object_type": membership_label,
                "object_id": str(pk),
                "object_repr": number,
                "changes": changes,
            }
        )
        card = p["card"]
        outbox.append(
            {
                "type": events.MEMBERSHIP_ENROLLED,
                "membership_number": number,
                "txid": txid,
                "payload": {
                    "membershipNumber": number,
                    "status": row["status"],
                    "membershipType": p["membership_type"].key,
                    "channel": row["channel"],
                    "sponsor": p["sponsor"].key if p["sponsor"] else None,
                    "cardNumber": card[0] if card else None,
                    "alternateIds": [{"type": t, "value": v} for t, v in p["pairs"]],
                    "marketingConsent": row.get("marketing_consent", False),
                },
            }
        )
        if card:
            audits.append(
                {
                    **who,
                    "action": events.CARD_ISSUED,
                    "object_type": card_label,
                    "object_id": str(next(card_ids)),
                    "object_repr": card[0][:200],
                    "changes": {
                        "holder": [None, number],
                        "type": [None, card[1]],
                        "status": [None, CardStatus.ACTIVE],
                    },
                }
            )
            outbox.append(
                {
                    "type": events.CARD_ISSUED,
                    "membership_number": number,
                    "txid": txid,
                    "payload": {
                        "cardNumber": card[0],
                        "membershipNumber": number,
                        "legalEntity": None,
                        "type": card[1],
                    },
                }
            )
        results[index] = number
    insert_rows(AuditEntry, audits)
    insert_rows(Event, outbox)
    return results


@transaction.atomic
def issue_cards(*, actor: Actor, cards: list[dict[str, Any]]) -> list[str | None]:
    """The bulk form of `issue_card`: for each card of `cards` (issue_card's keyword arguments:
    membership, number, card_type, valid_from, valid_until), the number when it was issued here,
    or None when it is left to issue_card (a value a cleaner refuses, a number taken or given twice,
    a membership that cannot get a card), which then refuses it with its own code. The memberships
    are locked in ascending id order, as issue_card locks each."""
    results: list[str | None] = [None] * len(cards)
    prepared: dict[int, dict[str, Any]] = {}
    for index, card in enumerate(cards):
        try:
            number = clean_card_values(
                card["number"],
                card.get("card_type", Card.Type.PHYSICAL),
                card.get("valid_from"),
                card.get("valid_until"),
            )
        except (DomainError, ValidationError):
            continue
        prepared[index] = {**card, "number": number, "card_type": card.get("card_type", Card.Type.PHYSICAL)}
    if not prepared:
        return results
    numbers = [c["number"] for c in prepared.values()]
    blocked = _twice(numbers) | set(Card.objects.filter(number__any=numbers).values_list("number", flat=True))
    # The one key space: a number another holder claimed is left to issue_card (key_taken); one the
    # member claimed itself (its own number, an alternate id of its own) needs no new claim.
    claims = key_claims(numbers)
    blocked |= {
        c["number"]
        for c in prepared.values()
        if claims.get(c["number"], (c["membership"].pk, None))[0] != c["membership"].pk
    }
    member_ids = sorted({c["membership"].pk for c in prepared.values()})
    holders = {
        row["pk"]: row
        for row in Membership.objects.select_for_update(of=("self",), no_key=True)
        .filter(pk__in=member_ids)
        .order_by("pk")
        .values("pk", "number", "status")
    }
    open_statuses = (MembershipStatus.ACTIVE, MembershipStatus.ANONYMOUS)
    prepared = {
        i: c
        for i, c in prepared.items()
        if c["number"] not in blocked and holders.get(c["membership"].pk, {}).get("status") in open_statuses
    }
    if not prepared:
        return results
    rows = [
        {
            "number": c["number"],
            "membership_id": c["membership"].pk,
            "type": c["card_type"],
            "valid_from": c.get("valid_from"),
            "valid_until": c.get("valid_until"),
        }
        for c in prepared.values()
    ]
    insert_rows(
        KeyClaim,
        [
            {"value": row["number"], "membership_id": row["membership_id"]}
            for row in rows
            if row["number"] not in claims
        ],
    )
    card_ids = insert_rows(Card, rows, ids=True)
    txid = current_txid()
    who = audit_columns(actor)
    audits, outbox = [], []
    for index, row, pk in zip(prepared, rows, card_ids, strict=True):
        holder = holders[row["membership_id"]]["number"]
        audits.append(
            {
                **who,
                "action": events.CARD_ISSUED,
                "object_type": Card._meta.label_lower,
                "object_id": str(pk),
                "object_repr": row["number"][:200],
                "changes": {
                    "holder": [None, holder],
                    "type": [None, row["type"]],
                    "status": [None, CardStatus.ACTIVE],
                },
            }
        )
        outbox.append(
            {
                "type": events.CARD_ISSUED,
                "membership_number": holder,
                "txid": txid,
                "payload": {
                    "cardNumber": row["number"],
                    "membershipNumber": holder,
                    "legalEntity": None,
                    "type": row["type"],
                },
            }
        )
        results[index] = row["number"]
    insert_rows(AuditEntry, audits)
    insert_rows(Event, outbox)
    return results
