"""enroll_many and issue_cards, the bulk forms of enroll_membership and issue_card: they write what
the one-by-one services write and leave every member or card those could refuse to them (None)."""

import pytest
from django.db import IntegrityError

from loyalty.actors import Actor
from loyalty.models import AuditEntry, Event, Program
from memberships.models import AlternateId, Card, KeyClaim, Membership
from memberships.services import bulk as bulk_module
from memberships.services import enroll_many, enroll_membership, issue_card, issue_cards

pytestmark = pytest.mark.django_db
ACTOR = Actor.for_system("tests")


def person(n, **extra):
    return {"first_name": "Ada", "last_name": f"L{n}", "email": f"p{n}@example.com", **extra}


def trail(number):
    membership = Membership.objects.get(number=number)
    cards = set(map(str, membership.cards.values_list("pk", flat=True)))
    audits = [
        (a.action, a.object_repr == number or a.object_id in cards, a.changes)
        for a in AuditEntry.objects.order_by("id")
        if (a.object_type == "memberships.membership" and a.object_id == str(membership.pk)) or a.object_id in cards
    ]
    events = [(e.type, e.payload) for e in Event.objects.filter(membership_number=number).order_by("id")]
    return audits, events


def claims_of(number):
    """The values the membership claimed in the one key space (its number, card, alternate ids)."""
    return sorted(KeyClaim.objects.filter(membership__number=number).values_list("value", flat=True))


def renumbered(value, swap):
    if isinstance(value, dict):
        return {k: renumbered(v, swap) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [renumbered(v, swap) for v in value]
    return swap.get(value, value)


def test_enroll_many_writes_what_enroll_membership_writes():
    values = person(1, card_number="6001000000001", alternate_ids=[("crm", "C-1")], marketing_consent=True)
    [number] = enroll_many(actor=ACTOR, members=[values])
    bulk_trail = trail(number)
    assert [a[0] for a in bulk_trail[0]] == ["membership.enrolled", "card.issued"]
    bulk_row = Membership.objects.filter(number=number).values()[0]
    bulk_claims = claims_of(number)
    # Free the keys for the reference.
    Card.objects.all().delete(), AlternateId.objects.all().delete()
    KeyClaim.objects.exclude(value=number).delete()
    reference = enroll_membership(actor=ACTOR, **values)
    assert renumbered(bulk_trail, {number: reference.number}) == renumbered(trail(reference.number), {})
    assert sorted(renumbered(bulk_claims, {number: reference.number})) == claims_of(reference.number)
    ignored = {"id", "number", "created_at", "updated_at", "enrolled_at", "marketing_consent_at"}
    service_row = Membership.objects.filter(number=reference.number).values()[0]
    assert {k: v for k, v in bulk_row.items() if k not in ignored} == {
        k: v for k, v in service_row.items() if k not in ignored
    }


def test_enroll_many_leaves_whatever_could_be_refused_to_enroll_membership():
    Program.current()
    Program.objects.update(unique_email=True)
    enroll_membership(actor=ACTOR, **person(0, card_number="6009999999999"))
    results = enroll_many(
        actor=ACTOR,
        members=[
            person(1),
            person(2, card_number="6009999999999"),  # taken
            person(3, card_number="6001000000003"),
            person(4, card_number="6001000000003"),  # shared with the one before
            person(0),  # e-mail held
            person(5, email="not an address"),
            person(6, channel="Bad Channel"),
        ],
    )
    assert [r is not None for r in results] == [True, False, False, False, False, False, False]
    assert Membership.objects.count() == 2


def test_enroll_many_writes_nothing_when_a_key_is_taken_under_it(monkeypatch):
    enroll_membership(actor=ACTOR, **person(0, card_number="6009999999999"))
    monkeypatch.setattr(bulk_module, "_blocked", lambda prepared, unique_email: set())
    with pytest.raises(IntegrityError):
        enroll_many(actor=ACTOR, members=[person(1), person(2, card_number="6009999999999")])
    assert Membership.objects.count() == 1


def test_issue_cards_writes_what_issue_card_writes_and_leaves_refusals():
    holder = enroll_membership(actor=ACTOR, **person(1))
    results = issue_cards(
        actor=ACTOR,
        cards=[
            {"membership": holder, "number": "7001", "card_type": "virtual"},
            {"membership": holder, "number": "7001"},
            {"membership": holder, "number": "x y"},
        ],
    )
    assert results == [None, None, None]  # 7001 is given twice: both go to issue_card
    [number] = issue_cards(actor=ACTOR, cards=[{"membership": holder, "number": "7002", "card_type": "virtual"}])
    assert number == "7002"
    issue_card(membership=holder, number="7003", card_type="virtual", actor=ACTOR)
    bulk_audit, service_audit = (
        AuditEntry.objects.filter(action="card.issued", object_repr=n).values("changes", "actor_label").get()
        for n in ("7002", "7003")
    )
    assert bulk_audit == service_audit
    bulk_event, service_event = (
        Event.objects.filter(type="card.issued", payload__cardNumber=n).values_list("payload", flat=True).get()
        for n in ("7002", "7003")
    )
    assert {**bulk_event, "cardNumber": "7003"} == service_event
