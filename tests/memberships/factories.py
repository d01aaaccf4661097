"""factory-boy factories of the memberships app (rows written directly, for test set-up only)."""

import factory
from django.utils import timezone

from loyalty.models import MembershipType
from memberships.models import AlternateId, Card, LegalEntity, Membership, MembershipStatus, Remark
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


class MembershipFactory(factory.django.DjangoModelFactory):
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


class CardFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Card

    number = factory.Sequence(lambda n: f"6000{n:08d}")
    membership = factory.SubFactory(MembershipFactory)


class AlternateIdFactory(factory.django.DjangoModelFactory):
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
