"""loyalty.prepared: a queryset compiled once per shape answers as the queryset itself would."""

import pytest
from django.db import connection, transaction
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext

from loyalty.models import ApiClient, ApiKey, Sponsor
from loyalty.prepared import Prepared
from tests.conftest import run_in_threads


def _sponsors(*keys: str) -> list[Sponsor]:
    return [Sponsor.objects.create(key=key, name=key.title()) for key in keys]


class Counting:
    """A build function that counts how often it is called (compiles happen once per shape)."""

    def __init__(self, build):
        self.build, self.calls = build, 0

    def __call__(self, *args):
        self.calls += 1
        return self.build(*args)


@pytest.mark.django_db
def test_the_same_rows_as_the_queryset_for_every_value_and_list_length():
    made = {s.key: s for s in _sponsors("alpha", "beta", "gamma", "delta")}
    build = Counting(lambda keys: Sponsor.objects.filter(key__in=keys).order_by("key"))
    by_keys = Prepared(build)
    for keys in (["alpha"], ["beta"], ["alpha", "gamma"], ["delta", "beta"], ["nobody", "alpha", "gamma"]):
        assert by_keys.all(keys) == list(Sponsor.objects.filter(key__in=keys).order_by("key"))
    assert by_keys.all(["delta", "beta"])[0].name == made["beta"].name
    assert build.calls == 3  # one compile per list length, not per call


@pytest.mark.django_db
def test_ints_and_strings_in_one_query_and_values_list():
    alpha, beta = _sponsors("alpha", "beta")
    build = Counting(lambda pk, key: Sponsor.objects.filter(pk__gte=pk, key=key).values_list("key", flat=True))
    keys = Prepared(build)
    assert keys.all(alpha.pk, "beta") == ["beta"]
    assert keys.all(beta.pk + 1, "beta") == []
    assert keys.first(alpha.pk, "alpha") == "alpha"
    assert build.calls == 1


@pytest.mark.django_db
def test_select_related_objects_come_along_without_another_query():
    client = ApiClient.objects.create(name="shop", scopes=["read"])
    key, _ = ApiKey.objects.create_key(name="k", client=client)
    by_prefix = Prepared(lambda prefix: ApiKey.objects.select_related("client").filter(prefix=prefix)[:1])
    by_prefix.first(key.prefix)  # compiled
    with CaptureQueriesContext(connection) as queries:
        found = by_prefix.first(key.prefix)
        assert found.client.name == "shop"
    assert len(queries) == 1
    assert by_prefix.first("nope") is None


@pytest.mark.django_db
def test_an_empty_list_answers_without_a_query():
    by_keys = Prepared(lambda keys: Sponsor.objects.filter(key__in=keys))
    with CaptureQueriesContext(connection) as queries:
        assert by_keys.all([]) == []
    assert len(queries) == 0


@pytest.mark.django_db(transaction=True)  # outside the test's own transaction
def test_a_locking_query_refuses_to_run_outside_a_transaction_as_django_does():
    (alpha,) = _sponsors("alpha")
    locked = Prepared(lambda pk: Sponsor.objects.select_for_update().filter(pk=pk))
    with transaction.atomic():
        assert locked.all(alpha.pk) == [alpha]
    if connection.vendor == "postgresql":  # SQLite has no FOR UPDATE: Django leaves it out there
        with pytest.raises(TransactionManagementError):
            locked.all(alpha.pk)


@pytest.mark.django_db
def test_arguments_that_do_not_reach_the_sql_unchanged_are_refused():
    ignores_its_argument = Prepared(lambda key: Sponsor.objects.all())
    with pytest.raises(ValueError, match="as a parameter"):
        ignores_its_argument.all("alpha")
    with pytest.raises(TypeError):
        Prepared(lambda when: Sponsor.objects.filter(pk=when)).all(1.5)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_threads_run_a_query_another_thread_compiled_on_their_own_connections():
    alpha, beta = _sponsors("alpha", "beta")
    by_pk = Prepared(lambda pk: Sponsor.objects.select_for_update().filter(pk=pk))
    with transaction.atomic():
        assert by_pk.all(alpha.pk) == [alpha]  # compiled here, on this thread's connection

    def in_a_transaction(i: int) -> tuple[str, bool]:
        with transaction.atomic():
            (found,) = by_pk.all(beta.pk if i % 2 else alpha.pk)
            return found.key, connection.in_atomic_block

    assert run_in_threads(4, in_a_transaction) == [("alpha", True), ("beta", True)] * 2


def _prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.postgres
@pytest.mark.django_db
def test_on_postgresql_the_statement_is_prepared_once_and_still_logged():
    (alpha,) = _sponsors("alpha")
    by_pk = Prepared(lambda pk: Sponsor.objects.filter(pk=pk))
    for _ in range(3):
        with CaptureQueriesContext(connection) as queries:
            assert by_pk.all(alpha.pk) == [alpha]
        assert queries.captured_queries[0]["sql"].startswith('SELECT "loyalty_sponsor"."id"')
    assert sum('FROM "loyalty_sponsor"' in sql for sql in _prepared_statements()) == 1


@pytest.mark.postgres
@pytest.mark.django_db
def test_prepared_statements_can_be_turned_off_for_a_pooler(settings):
    settings.DATABASE_PREPARED_STATEMENTS = False
    (alpha,) = _sponsors("alpha")
    with transaction.atomic():
        by_name = Prepared(lambda name: Sponsor.objects.filter(name=name))
        assert by_name.all("Alpha") == [alpha]
    assert not any('"loyalty_sponsor"."name"' in sql for sql in _prepared_statements())


@pytest.mark.django_db
def test_raw_models_gives_what_a_raw_queryset_gives():
    from loyalty.prepared import raw_models

    _sponsors("alpha", "beta")
    sql = "SELECT * FROM loyalty_sponsor WHERE key IN (%s, %s) ORDER BY key"
    found = raw_models(Sponsor, sql, ["beta", "alpha"])
    assert found == list(Sponsor.objects.raw(sql, ["beta", "alpha"]))
    assert [s.name for s in found] == ["Alpha", "Beta"]
