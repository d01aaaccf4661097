import pytest
from django.test import Client
from rest_framework.test import APIClient

from loyalty.actors import Actor
from loyalty.api.views import LoyaltyApiMixin
from loyalty.models import ApiClient
from loyalty.services import revoke_api_key
from tests.factories import StaffUserFactory
from tests.urlwalk import api_routes

PUBLIC = {("/api/v1/about", "GET")}
ROUTES = api_routes()


def call(client, route, **extra):
    return getattr(client, route.method.lower())(route.path, **extra)


def test_the_walk_sees_the_api():
    assert len(ROUTES) >= 4
    assert ("/api/v1/about", "GET") in {(r.path, r.method) for r in ROUTES}


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_every_api_view_uses_the_shared_base(route):
    assert issubclass(route.view, LoyaltyApiMixin), "views must derive from loyalty.api.views"


@pytest.mark.django_db
@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_every_endpoint_but_about_refuses_anonymous_calls(route):
    response = call(APIClient(), route)
    if (route.path, route.method) in PUBLIC:
        assert response.status_code == 200
        return
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == "Api-Key"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "route", [r for r in ROUTES if (r.path, r.method) not in PUBLIC], ids=lambda r: f"{r.method} {r.path}"
)
def test_every_endpoint_refuses_a_key_without_the_scope(route, make_key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {make_key(scopes=[])}")
    response = call(client, route)
    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_scope"


@pytest.mark.django_db
def test_a_read_only_key_cannot_write_but_can_read(make_key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {make_key(scopes=['read'])}")
    assert client.get("/api/v1/audits").status_code == 200
    writes = [r for r in ROUTES if r.method != "GET" and (r.path, r.method) not in PUBLIC]
    for route in writes:
        assert call(client, route).status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize(
    "header",
    ["Api-Key nonsense", "Api-Key abc.def", "Api-Key ", "Bearer abc.def"],
)
def test_bad_keys_are_refused(header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get("/api/v1/audits")
    assert response.status_code == 401
    assert response.json()["code"] in {"authentication_failed", "not_authenticated"}


@pytest.mark.django_db
def test_a_revoked_key_and_a_disabled_client_are_refused(make_key):
    raw = make_key()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    assert client.get("/api/v1/audits").status_code == 200
    api_key = ApiClient.objects.latest("id").keys.get()
    revoke_api_key(api_key=api_key, actor=Actor.for_system("tests"))
    assert client.get("/api/v1/audits").json()["code"] == "authentication_failed"

    raw2 = make_key()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw2}")
    ApiClient.objects.filter(pk=ApiClient.objects.latest("id").pk).update(active=False)
    assert client.get("/api/v1/audits").status_code == 401


@pytest.mark.django_db
def test_keys_are_stored_hashed_and_last_use_is_recorded(make_key):
    raw = make_key()
    api_key = ApiClient.objects.latest("id").keys.get()
    assert raw.split(".")[1] not in api_key.hashed_key
    assert api_key.hashed_key.startswith("sha512$$")
    APIClient(HTTP_AUTHORIZATION=f"Api-Key {raw}").get("/api/v1/audits")
    api_key.refresh_from_db()
    assert api_key.last_used_at is not None
    assert api_key.client.last_used_at is not None


@pytest.mark.django_db
def test_staff_with_a_session_may_call_the_api_and_others_may_not():
    staff = StaffUserFactory()
    client = Client()
    client.force_login(staff)
    assert client.get("/api/v1/audits").status_code == 200
    assert client.get("/api/schema/").status_code == 200
    assert client.get("/api/docs/").status_code == 200

    staff.is_staff = False
    staff.save()
    assert client.get("/api/v1/audits").status_code == 401
    assert client.get("/api/docs/").status_code == 302


@pytest.mark.django_db
def test_the_schema_needs_a_key_and_the_docs_a_staff_login(make_key):
    assert APIClient().get("/api/schema/").status_code == 401
    assert Client().get("/api/docs/").status_code == 302
    assert Client().get("/api/redoc/").status_code == 302
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {make_key(scopes=['read'])}")
    assert client.get("/api/schema/").status_code == 200
