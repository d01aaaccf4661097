"""factory-boy factories of the memberships app (rows written directly, for test set-up only).

Like the migration that filled the one key space, each row also claims its value (number, card
number, alternate id value) for its holder unless the value is claimed already: rows written here
may clash, as stored data could before the key space, and the services see their claims.
"""

import factory
from django.utils import timezone

from loyalty.models import MembershipType
from memberships.models import AlternateId, Card, KeyClaim, LegalEntity, Membership, MembershipStatus, Remark
from memberships.numbers import generate_membership_number


def default_membership_type() -> MembershipType:
    membership_type = MembershipType.objects.filter(is_default=True).first()
    if membership_type is None:
        membership_type, _ = MembershipType.objects.get_or_create(
            key="consumer", defaults={"name": "Consumer", "is_default": True}
        )
    return membership_type


def company_membership_type() -> MembershipType:
    membership_type, _ = MembershipType.objects.get_or_create(
        key="business", defaults={"name": "Business", "is_company": True}
    )
    return membership_type


def claim_as_stored(value: str, membership: Membership | None = None, legal_entity: LegalEntity | None = None) -> None:
    """The claim the migration would have written for a stored value: the first holder keeps it."""
    holder = (membership.merged_into_id or membership.pk) if membership else None
    KeyClaim.objects.bulk_create(
        [KeyClaim(value=value, membership_id=holder, legal_entity=legal_entity)], ignore_conflicts=True
    )


class ClaimingFactory(factory.django.DjangoModelFactory):
    class Meta:
        abstract = True

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        obj = super()._create(model_class, *args, **kwargs)
        if isinstance(obj, Membership):
            claim_as_stored(obj.number, membership=obj)
        elif isinstance(obj, Card):
            claim_as_stored(obj.number, membership=obj.membership, legal_entity=obj.legal_entity)
        else:
            claim_as_stored(obj.value, membership=obj.membership)
        return obj


class MembershipFactory(ClaimingFactory):
    class Meta:
        model = Membership

    number = factory.LazyFunction(generate_membership_number)
    membership_type = factory.LazyFunction(default_membership_type)
    status = MembershipStatus.ACTIVE
    enrolled_at = factory.LazyFunction(timezone.now)
    first_name = factory.Sequence(lambda n: f"First{n}")
    last_name = factory.Sequence(lambda n: f"Last{n}")
    email = factory.Sequence(lambda n: f"member{n}@example.com")


class AnonymousMembershipFactory(MembershipFactory):
    status = MembershipStatus.ANONYMOUS
    first_name = ""
    last_name = ""
    email = ""


class CardFactory(ClaimingFactory):
    class Meta:
        model = Card

    number = factory.Sequence(lambda n: f"6000{n:08d}")
    membership = factory.SubFactory(MembershipFactory)


class AlternateIdFactory(ClaimingFactory):
    class Meta:
        model = AlternateId

    membership = factory.SubFactory(MembershipFactory)
    type = "crm"
    value = factory.Sequence(lambda n: f"CRM-{n:06d}")


class LegalEntityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LegalEntity

    registration_number = factory.Sequence(lambda n: f"KVK{n:08d}")
    name = factory.Sequence(lambda n: f"Company {n} B.V.")
    membership_type = factory.LazyFunction(company_membership_type)


class RemarkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Remark

    membership = factory.SubFactory(MembershipFactory)
    text = factory.Sequence(lambda n: f"Remark {n}")
    author = "user:agent"
