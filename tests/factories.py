"""factory-boy factories of the loyalty app (later apps add theirs in tests/<app>/factories.py)."""

import factory
from django.contrib.auth import get_user_model

from loyalty.models import ApiClient, MembershipType, Sponsor, Tier


class ApiClientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ApiClient

    name = factory.Sequence(lambda n: f"client-{n}")
    scopes = factory.LazyFunction(lambda: ["read", "write", "imports"])


class SponsorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Sponsor

    key = factory.Sequence(lambda n: f"sponsor-{n}")
    name = factory.Sequence(lambda n: f"Sponsor {n}")


class MembershipTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MembershipType

    key = factory.Sequence(lambda n: f"type-{n}")
    name = factory.Sequence(lambda n: f"Type {n}")


class TierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tier

    key = factory.Sequence(lambda n: f"tier-{n}")
    name = factory.Sequence(lambda n: f"Tier {n}")
    rank = factory.Sequence(lambda n: n + 1)


class StaffUserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"staff{n}")
    is_staff = True
    is_superuser = True
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery")

    @factory.post_generation
    def saved(obj, create, extracted, **kwargs):
        if create:
            obj.save()
