"""The demo members: seeded through the services, and a second run changes nothing."""

import pytest

from loyalty import demo as loyalty_demo
from loyalty.actors import Actor
from loyalty.models import AuditEntry, Event
from memberships import demo
from memberships.models import AlternateId, Card, LegalEntity, Membership

pytestmark = pytest.mark.django_db


def test_the_demo_enrolls_a_few_hundred_members_with_cards_ids_and_a_company_and_is_idempotent(no_hooks):
    actor = Actor.for_system("seed_demo")
    loyalty_demo.seed(actor)
    demo.seed(actor)
    assert Membership.objects.count() >= 300
    assert Membership.objects.filter(status="anonymous").count() == 5
    assert Membership.objects.filter(status="cancelled").count() == 1
    assert Membership.objects.filter(status="merged").count() == 1
    assert Card.objects.filter(membership__isnull=False).count() >= 300
    assert AlternateId.objects.filter(type="crm").count() == 300
    entity = LegalEntity.objects.get()
    assert entity.users.count() == 3 and entity.cards.count() == 2
    assert AuditEntry.objects.filter(action="membership.enrolled").count() >= 300

    rows = (Membership.objects.count(), Card.objects.count(), AuditEntry.objects.count(), Event.objects.count())
    demo.seed(actor)
    assert (Membership.objects.count(), Card.objects.count(), AuditEntry.objects.count(), Event.objects.count()) == rows
