"""factory-boy factories of the catalog (rows written directly, for test set-up only)."""

from decimal import Decimal

import factory

from promotions.models import CategoryValue, Channel, CustomCategory, MasterCategory, Product, ProductCategory
from tests.factories import SponsorFactory


class ChannelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Channel

    key = factory.Sequence(lambda n: f"channel-{n}")
    name = factory.Sequence(lambda n: f"Channel {n}")
    kind = Channel.Kind.STORE
    sponsor = factory.SubFactory(SponsorFactory)


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    channel = factory.SubFactory(ChannelFactory)
    key = factory.Sequence(lambda n: f"SKU-{n:05d}")
    name = factory.Sequence(lambda n: f"Product {n}")
    brand = "Acme"
    price = Decimal("9.99")


class MasterCategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MasterCategory

    key = factory.Sequence(lambda n: f"master-{n}")
    name = factory.Sequence(lambda n: f"Master {n}")


class CategoryValueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CategoryValue

    master = factory.SubFactory(MasterCategoryFactory)
    channel = factory.SubFactory(ChannelFactory)
    key = factory.Sequence(lambda n: f"value-{n}")
    name = factory.Sequence(lambda n: f"Value {n}")


class CustomCategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomCategory
        skip_postgeneration_save = True

    key = factory.Sequence(lambda n: f"custom-{n}")
    name = factory.Sequence(lambda n: f"Custom {n}")

    @factory.post_generation
    def products(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.products.add(*extracted)


def classify(product: Product, *values: CategoryValue) -> Product:
    """Give the product these category values (one per master category)."""
    for value in values:
        ProductCategory.objects.create(product=product, master=value.master, value=value)
    return product
