"""factory-boy factories of the imports app (batches written directly, for test set-up only)."""

import factory

from imports.models import ImportBatch, ImportRecord


class ImportBatchFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ImportBatch

    import_type = "memberships"
    source = "json"
    actor_label = "system:tests"


class ImportRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ImportRecord

    batch = factory.SubFactory(ImportBatchFactory)
    line = factory.Sequence(lambda n: n + 1)
    data = factory.LazyFunction(dict)
