"""The catalog screens (Django's test client): pages open, and every save goes through the services."""

import pytest
from django.test import Client

from loyalty.models import AuditEntry
from promotions.models import CategoryValue, Channel, CustomCategory, MasterCategory, Product, ProductCategory
from tests.factories import StaffUserFactory
from tests.promotions.conftest import counts, query_count
from tests.promotions.factories import ProductFactory

pytestmark = pytest.mark.django_db
ADMIN = "/admin/promotions"


@pytest.fixture
def staff():
    return StaffUserFactory(password=None)  # force_login needs no password: skip the slow hashing


@pytest.fixture
def client_(staff) -> Client:
    client = Client()
    client.force_login(staff)
    return client


def categories_of(product: Product) -> dict[str, str]:
    return dict(ProductCategory.objects.filter(product=product).values_list("master__key", "value__key"))


def product_form(catalog, **overrides) -> dict:
    data = {
        "name": "Espresso beans",
        "brand": "Northwind Roasters",
        "price": "6.49",
        "attributes": "{}",
        "active": "on",
        "category__department": str(catalog.coffee.pk),
        "category__season": "",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_every_catalog_page_opens(client_, catalog):
    pages = [
        f"{ADMIN}/",
        f"{ADMIN}/channel/",
        f"{ADMIN}/channel/add/",
        f"{ADMIN}/channel/{catalog.webshop.pk}/change/",
        f"{ADMIN}/product/",
        f"{ADMIN}/product/add/",
        f"{ADMIN}/product/{catalog.espresso.pk}/change/",
        f"{ADMIN}/mastercategory/",
        f"{ADMIN}/mastercategory/add/",
        f"{ADMIN}/mastercategory/{catalog.department.pk}/change/",
        f"{ADMIN}/customcategory/",
        f"{ADMIN}/customcategory/add/",
        f"{ADMIN}/customcategory/{catalog.lovers.pk}/change/",
    ]
    for page in pages:
        assert client_.get(page).status_code == 200, page


def test_products_are_found_by_key_name_and_brand_and_filtered_by_channel_and_category(client_, catalog):
    def listed(query: dict) -> list[str]:
        response = client_.get(f"{ADMIN}/product/", query)
        assert response.status_code == 200
        return sorted(f"{p.channel.key}/{p.key}" for p in response.context["cl"].result_list)

    assert listed({"q": "TEA-001"}) == ["webshop/TEA-001"]
    assert listed({"q": "espresso"}) == ["store-amsterdam/COF-001", "webshop/COF-001"]
    assert listed({"q": "green leaf"}) == ["webshop/TEA-001"]
    assert listed({"channel__id__exact": catalog.store.pk}) == ["store-amsterdam/COF-001"]
    assert listed({"category": "department:coffee"}) == ["store-amsterdam/COF-001", "webshop/COF-001"]
    assert listed({"category": "season:summer"}) == ["webshop/COF-001"]
    assert listed({"custom_category": "coffee-lovers"}) == ["store-amsterdam/COF-001", "webshop/COF-001"]


def test_the_product_list_takes_as_many_queries_for_20_rows_as_for_1(client_, catalog):
    url = f"{ADMIN}/product/?channel__id__exact={catalog.store.pk}"
    client_.get(url)
    one = query_count(lambda: client_.get(url))
    for _ in range(19):
        ProductFactory(channel=catalog.store)
    assert len(client_.get(url).context["cl"].result_list) == 20
    assert query_count(lambda: client_.get(url)) == one


def test_a_channel_saved_in_the_admin_is_audited_as_the_user(client_, catalog, staff):
    response = client_.post(
        f"{ADMIN}/channel/add/",
        {
            "key": "store-utrecht",
            "name": "Utrecht",
            "kind": "store",
            "sponsor": catalog.webshop.sponsor_id,
            "active": "on",
        },
    )
    assert response.status_code == 302, response.content
    entry = AuditEntry.objects.get(action="channel.created")
    assert entry.actor_user == staff and entry.object_repr == "Utrecht"
    assert Channel.objects.filter(key="store-utrecht").exists()


def test_a_product_added_in_the_admin_gets_its_categories_through_the_service(client_, catalog, staff):
    data = product_form(
        catalog, channel=str(catalog.webshop.pk), key="COF-009", category__season=str(catalog.summer.pk)
    )
    response = client_.post(f"{ADMIN}/product/add/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    product = Product.objects.get(channel=catalog.webshop, key="COF-009")
    assert categories_of(product) == {"department": "coffee", "season": "summer"}
    entry = AuditEntry.objects.get(action="product.created")
    assert entry.actor_user == staff and entry.object_repr == "webshop/COF-009"


def test_a_product_changed_in_the_admin_is_audited_with_its_category_change(client_, catalog):
    url = f"{ADMIN}/product/{catalog.espresso.pk}/change/"
    response = client_.post(url, product_form(catalog, price="5.99", category__department=str(catalog.tea.pk)))
    assert response.status_code == 302
    entry = AuditEntry.objects.get(action="product.updated")
    assert entry.changes == {
        "price": ["6.49", "5.99"],
        "categories": [{"department": "coffee", "season": "summer"}, {"department": "tea"}],
    }


def test_a_category_value_of_another_channel_is_a_form_error_and_nothing_is_written(client_, catalog):
    before = counts()
    url = f"{ADMIN}/product/{catalog.store_espresso.pk}/change/"
    response = client_.post(url, product_form(catalog, category__department=str(catalog.coffee.pk)))
    assert response.status_code == 200
    assert "category__department" in response.context["adminform"].form.errors
    data = product_form(catalog, channel=str(catalog.store.pk), key="NEW-1", category__season=str(catalog.summer.pk))
    response = client_.post(f"{ADMIN}/product/add/", data)
    assert response.status_code == 200
    assert "category__season" in response.context["adminform"].form.errors
    assert counts() == before


def test_products_cannot_be_deleted_in_the_admin(client_, catalog):
    assert client_.get(f"{ADMIN}/product/{catalog.espresso.pk}/delete/").status_code == 403


def test_master_category_values_are_added_renamed_and_deleted_through_the_services(client_, catalog, staff):
    coffee, tea = catalog.coffee, catalog.tea
    store_coffee = catalog.store_coffee
    rows = [
        (coffee, {"name": "Coffee & espresso"}),
        (tea, {"DELETE": "on"}),
        (store_coffee, {}),
    ]
    data = {
        "key": "department",
        "name": "Department",
        "description": "Where it sits in the shop",
        "values-TOTAL_FORMS": "4",
        "values-INITIAL_FORMS": "3",
        "values-MIN_NUM_FORMS": "0",
        "values-MAX_NUM_FORMS": "1000",
    }
    for index, (value, change) in enumerate(rows):
        data.update(
            {
                f"values-{index}-id": str(value.pk),
                f"values-{index}-master": str(catalog.department.pk),
                f"values-{index}-channel": str(value.channel_id),
                f"values-{index}-key": value.key,
                f"values-{index}-name": change.get("name", value.name),
            }
        )
        if "DELETE" in change:
            data[f"values-{index}-DELETE"] = "on"
    data.update(
        {
            "values-3-master": str(catalog.department.pk),
            "values-3-channel": str(catalog.webshop.pk),
            "values-3-key": "bakery",
            "values-3-name": "Bakery",
        }
    )
    response = client_.post(f"{ADMIN}/mastercategory/{catalog.department.pk}/change/", data)
    assert response.status_code == 302, response.context["inline_admin_formsets"][0].formset.errors
    actions = sorted(AuditEntry.objects.filter(actor_user=staff).values_list("action", flat=True))
    assert actions == [
        "categoryvalue.created",
        "categoryvalue.deleted",
        "categoryvalue.updated",
        "mastercategory.updated",
    ]
    assert sorted(CategoryValue.objects.filter(master=catalog.department).values_list("key", "name")) == [
        ("bakery", "Bakery"),
        ("coffee", "Coffee"),
        ("coffee", "Coffee & espresso"),
    ]
    assert categories_of(catalog.green_tea) == {}


def test_a_master_category_with_values_is_not_deleted_and_the_admin_says_why(client_, catalog):
    response = client_.post(f"{ADMIN}/mastercategory/{catalog.season.pk}/delete/", {"post": "yes"})
    assert response.status_code == 200
    assert b"protected" in response.content and b"Summer" in response.content
    assert MasterCategory.objects.filter(pk=catalog.season.pk).exists()


def test_a_custom_category_saved_in_the_admin_assigns_exactly_the_chosen_products(client_, catalog, staff):
    response = client_.post(
        f"{ADMIN}/customcategory/add/",
        {"key": "tea-time", "name": "Tea time", "description": "", "products": [catalog.green_tea.pk]},
    )
    assert response.status_code == 302
    category = CustomCategory.objects.get(key="tea-time")
    assert list(category.products.all()) == [catalog.green_tea]
    assert AuditEntry.objects.get(action="customcategory.created").actor_user == staff

    response = client_.post(
        f"{ADMIN}/customcategory/{catalog.lovers.pk}/change/",
        {"name": "Coffee lovers", "description": "", "products": [catalog.espresso.pk]},
    )
    assert response.status_code == 302
    assert list(catalog.lovers.products.all()) == [catalog.espresso]
    assert AuditEntry.objects.get(action="customcategory.updated").changes["products"] == [2, 1]


def test_deleting_a_custom_category_in_the_admin_is_audited(client_, catalog):
    response = client_.post(f"{ADMIN}/customcategory/{catalog.lovers.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not CustomCategory.objects.exists()
    assert AuditEntry.objects.filter(action="customcategory.deleted").exists()


def test_the_product_picker_searches_products_with_their_channel(client_, catalog):
    response = client_.get(
        "/admin/autocomplete/",
        {"app_label": "promotions", "model_name": "customcategory", "field_name": "products", "term": "espresso"},
    )
    assert response.status_code == 200
    assert sorted(r["text"] for r in response.json()["results"]) == [
        "Espresso beans (store-amsterdam/COF-001)",
        "Espresso beans (webshop/COF-001)",
    ]


def test_the_add_to_custom_category_action_adds_the_selected_products(client_, catalog):
    url = f"{ADMIN}/product/"
    selected = [catalog.green_tea.pk]
    page = client_.post(url, {"action": "add_to_custom_category", "_selected_action": selected})
    assert page.status_code == 200 and b"custom_category" in page.content
    response = client_.post(
        url,
        {
            "action": "add_to_custom_category",
            "_selected_action": selected,
            "apply": "1",
            "custom_category": catalog.lovers.pk,
        },
    )
    assert response.status_code == 302
    assert catalog.lovers.products.filter(pk=catalog.green_tea.pk).exists()
    assert AuditEntry.objects.get(action="customcategory.updated").changes["products_added"] == ["webshop/TEA-001"]


def test_the_set_category_value_action_sets_it_on_products_of_its_channel_and_skips_others(client_, catalog):
    url = f"{ADMIN}/product/"
    selected = [catalog.green_tea.pk, catalog.store_espresso.pk]
    response = client_.post(
        url,
        {"action": "set_category_value", "_selected_action": selected, "apply": "1", "value": catalog.summer.pk},
        follow=True,
    )
    assert response.status_code == 200
    assert categories_of(catalog.green_tea) == {"department": "tea", "season": "summer"}
    assert categories_of(catalog.store_espresso) == {"department": "coffee"}
    messages = [str(m) for m in response.context["messages"]]
    assert any("skipped" in m for m in messages)
    assert AuditEntry.objects.filter(action="product.updated").count() == 1


def test_the_product_form_shows_one_choice_per_master_category_with_its_channels_values(client_, catalog):
    page = client_.get(f"{ADMIN}/product/{catalog.store_espresso.pk}/change/").content.decode()
    assert 'name="category__department"' in page and 'name="category__season"' in page
    assert "Department: Coffee (store-amsterdam)" in page
    assert "(webshop)" not in page  # values of other channels are not offered
    page = client_.get(f"{ADMIN}/product/add/").content.decode()
    assert "Season: Summer (webshop)" in page
