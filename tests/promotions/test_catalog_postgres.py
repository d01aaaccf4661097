"""PostgreSQL only: the product text search has trigram indexes, and concurrent sets do not collide."""

import pytest
from django.db import connection

from promotions import catalog_services as services
from promotions.models import CustomCategory
from tests.conftest import run_in_threads
from tests.promotions.conftest import ACTOR, BASE, results

pytestmark = pytest.mark.postgres


@pytest.mark.django_db
def test_the_text_search_has_trigram_indexes_the_planner_can_use(api, catalog):
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'promotions_product'")
        names = {row[0] for row in cursor.fetchall()}
    assert {"product_name_trgm", "product_brand_trgm", "product_key_trgm"} <= names
    from promotions.models import Product

    Product.objects.bulk_create(
        Product(channel=catalog.store, key=f"BULK-{n}", name=f"Product {n}", brand="Acme") for n in range(3000)
    )
    query = Product.objects.filter(name__icontains="espresso").order_by()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE promotions_product")
        cursor.execute("SET LOCAL enable_seqscan = off")  # a test table is small: ask whether the index serves
        sql, params = query.query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "product_name_trgm" in plan, plan
    assert [p["key"] for p in results(api.get(f"{BASE}/product/data?q=espresso"))] == ["COF-001", "COF-001"]


@pytest.mark.django_db(transaction=True)
def test_concurrent_sets_of_a_new_custom_category_create_it_once_with_every_product(catalog):
    refs = [("webshop", "COF-001"), ("webshop", "TEA-001"), ("store-amsterdam", "COF-001")]

    def set_one(i: int):
        return services.set_custom_category(key="race", products=[refs[i % 3]], replace=False, actor=ACTOR)

    outcomes = run_in_threads(6, set_one)
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    assert sum(1 for o in outcomes if o.created) == 1
    assert CustomCategory.objects.get(key="race").products.count() == 3
