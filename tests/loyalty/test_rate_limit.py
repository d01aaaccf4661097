"""Rate limits: a token bucket per API key (per address without one), shared by every process."""

import json
import os
import secrets
import subprocess
import sys
import time
import uuid
from pathlib import Path
from unittest import mock

import pytest
import time_machine
from django.conf import settings as django_settings
from django.core import signals
from django.core.exceptions import ImproperlyConfigured
from django.db import close_old_connections
from django.test import Client, RequestFactory
from rest_framework.test import APIClient

from loyalty.api.throttling import _REFUSED
from loyalty.models import ApiKey, AuditEntry
from loyalty.ratelimit import CacheBuckets, RedisBuckets, parse_rate, setting_rate
from tests.conftest import HAS_BROKER
from tests.factories import StaffUserFactory

ROOT = Path(__file__).resolve().parents[2]


def keyed(raw: str, addr: str = "10.0.0.1") -> APIClient:
    client = APIClient(REMOTE_ADDR=addr)
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return client


def some_address() -> str:
    return f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250) + 1}"


@pytest.fixture(autouse=True)
def _forget_refusals():
    """The fast path's memory is per process: a test's refusals must not reach the next test."""
    yield
    _REFUSED.clear()


@pytest.fixture
def limited(settings):
    """Small limits that do not refill during a test (the suite runs with limits off)."""
    settings.API_RATE_LIMIT = "3/h burst 3"
    settings.API_IMPORTS_RATE_LIMIT = "1/h burst 1"
    settings.API_ANON_RATE_LIMIT = "2/h burst 2"
    return settings


@pytest.mark.django_db
def test_a_key_over_its_limit_gets_429_rate_limited_with_retry_after_and_ratelimit_headers(limited, make_key):
    api = keyed(make_key())
    answers = [api.get("/api/v1/promos/program") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    refused = answers[-1]
    body = refused.json()
    assert body["status"] == 429 and body["code"] == "rate_limited" and body["errors"] == []
    assert "3/h burst 3" in body["detail"]
    assert refused["RateLimit-Limit"] == "3"
    assert refused["RateLimit-Remaining"] == "0"
    assert 1190 <= int(refused["Retry-After"]) <= 1200  # one token of 3 an hour
    assert 3590 <= int(refused["RateLimit-Reset"]) <= 3600


@pytest.mark.django_db
def test_one_key_using_up_its_limit_leaves_another_keys_bucket_alone(limited, make_key):
    flooding, other = keyed(make_key()), keyed(make_key())
    for _ in range(5):
        flooding.get("/api/v1/promos/program")
    assert flooding.get("/api/v1/promos/program").status_code == 429
    assert other.get("/api/v1/promos/program").status_code == 200


@pytest.mark.django_db
def test_the_default_limit_is_100_a_second_with_a_burst_of_200(settings):
    settings.API_RATE_LIMIT = "100/s"  # the default, as config/settings/api.py sets it
    rate = setting_rate("API_RATE_LIMIT")
    assert (rate.requests, rate.period, rate.burst) == (100, 1, 200)
    buckets = CacheBuckets()
    with time_machine.travel(1_900_000_000, tick=False) as clock:
        allowed = [buckets.take("test:default", rate).allowed for _ in range(201)]
        assert allowed.count(True) == 200 and allowed[-1] is False
        clock.shift(0.01)  # one token back after 1/100 s
        assert buckets.take("test:default", rate).allowed
        assert not buckets.take("test:default", rate).allowed


@pytest.mark.django_db
def test_imports_and_exports_have_their_own_lower_limit(limited, make_key):
    api = keyed(make_key())
    assert api.get("/api/v1/imports/importtypes").status_code == 200
    refused = api.get("/api/v1/exports/templates")
    assert refused.status_code == 429 and refused.json()["code"] == "rate_limited"
    assert refused["RateLimit-Limit"] == "1"
    assert api.get("/api/v1/promos/program").status_code == 200  # the general bucket is untouched


@pytest.mark.django_db
def test_calls_without_a_key_are_limited_per_address_bad_keys_included(limited):
    addr = some_address()
    anon = APIClient(REMOTE_ADDR=addr)
    assert anon.get("/api/v1/about").status_code == 200
    guessing = keyed("abcdefgh.not-a-real-key", addr=addr)
    assert guessing.get("/api/v1/promos/program").status_code == 401
    refused = guessing.get("/api/v1/promos/program")
    assert refused.status_code == 429 and refused.json()["code"] == "rate_limited"
    assert anon.get("/api/v1/about").status_code == 429
    assert APIClient(REMOTE_ADDR=some_address()).get("/api/v1/about").status_code == 200


@pytest.mark.django_db
def test_a_forged_x_forwarded_for_does_not_escape_the_limit(limited):
    addr = some_address()
    answers = [
        APIClient(REMOTE_ADDR=addr, HTTP_X_FORWARDED_FOR=some_address()).get("/api/v1/about").status_code
        for _ in range(3)
    ]
    assert answers == [200, 200, 429]


@pytest.mark.django_db
def test_a_staff_session_is_limited_per_user(limited):
    client = APIClient(REMOTE_ADDR=some_address())
    client.force_login(StaffUserFactory(id=10**9 + secrets.randbelow(10**9)))  # buckets in Redis outlive a run
    answers = [client.get("/api/v1/promos/program").status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]


@pytest.mark.django_db
def test_a_keys_override_set_in_the_admin_replaces_the_default(limited, make_key):
    raw = make_key()
    api_key = ApiKey.objects.get(prefix=raw.partition(".")[0])
    admin = Client()
    admin.force_login(StaffUserFactory())
    url = f"/admin/loyalty/apikey/{api_key.pk}/change/"
    response = admin.post(url, {"rate_limit": "5/h burst 5", "imports_rate_limit": "off"})
    assert response.status_code == 302, response.content[:500]
    api_key.refresh_from_db()
    assert (api_key.rate_limit, api_key.imports_rate_limit) == ("5/h burst 5", "off")
    entry = AuditEntry.objects.get(action="apikey.ratelimited")
    assert entry.changes["rate_limit"] == ["", "5/h burst 5"]

    api = keyed(raw)
    answers = [api.get("/api/v1/promos/program").status_code for _ in range(6)]
    assert answers == [200] * 5 + [429]
    assert all(api.get("/api/v1/imports/importtypes").status_code == 200 for _ in range(5))  # off


@pytest.mark.django_db
def test_the_admin_refuses_a_rate_it_cannot_read(make_key):
    raw = make_key()
    api_key = ApiKey.objects.get(prefix=raw.partition(".")[0])
    admin = Client()
    admin.force_login(StaffUserFactory())
    response = admin.post(
        f"/admin/loyalty/apikey/{api_key.pk}/change/", {"rate_limit": "fast", "imports_rate_limit": ""}
    )
    assert response.status_code == 200
    assert b"is not a rate" in response.content
    api_key.refresh_from_db()
    assert api_key.rate_limit == ""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("100/s", (100, 1, 200)),
        ("6000/m burst 500", (6000, 60, 500)),
        (" 10 / hour ", (10, 3600, 20)),
    ],
)
def test_rates_are_read_as_written(text, expected):
    rate = parse_rate(text)
    assert (rate.requests, rate.period, rate.burst) == expected


@pytest.mark.parametrize("text", ["", "fast", "0/s", "10/fortnight", "10/s burst 0", "-1/s", "1e3/s"])
def test_a_rate_that_cannot_be_read_is_refused(text):
    with pytest.raises(ValueError, match=r"rate|burst"):
        parse_rate(text)


def test_a_bad_rate_setting_stops_the_server_with_its_name(settings):
    settings.API_RATE_LIMIT = "lots"
    with pytest.raises(ImproperlyConfigured, match="API_RATE_LIMIT"):
        setting_rate("API_RATE_LIMIT")


def test_without_redis_reachable_requests_are_let_through():
    buckets = RedisBuckets("redis://127.0.0.1:1/0")
    decision = buckets.take("test:down", parse_rate("1/h burst 1"))
    assert decision.allowed and buckets.take("test:down", parse_rate("1/h burst 1")).allowed


@pytest.mark.skipif(not HAS_BROKER, reason="needs Redis: set CELERY_BROKER_URL (as .ci/run does)")
def test_a_bucket_in_redis_is_shared_by_every_process():
    """Another process takes two of three tokens; this one gets the last, then a refusal."""
    bucket = f"test:shared:{uuid.uuid4().hex}"
    code = (
        "from loyalty.ratelimit import RedisBuckets, parse_rate;"
        "import sys;"
        "b = RedisBuckets(sys.argv[1]);"
        "print([b.take(sys.argv[2], parse_rate('3/h burst 3')).allowed for _ in range(2)])"
    )
    url = django_settings.CELERY_BROKER_URL
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}
    script = f"import django; django.setup(); {code}"
    out = subprocess.run(
        [sys.executable, "-c", script, url, bucket], env=env, cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[True, True]"
    here = RedisBuckets(url)
    rate = parse_rate("3/h burst 3")
    first, second = here.take(bucket, rate), here.take(bucket, rate)
    assert first.allowed and first.remaining == 0
    assert not second.allowed and 1190 <= second.retry_after <= 1200


@pytest.mark.skipif(not HAS_BROKER, reason="needs Redis: set CELERY_BROKER_URL (as .ci/run does)")
def test_redis_buckets_allow_the_burst_then_the_rate():
    rate = parse_rate("100/s")
    bucket = f"test:burst:{uuid.uuid4().hex}"
    buckets = RedisBuckets(django_settings.CELERY_BROKER_URL)
    allowed = [buckets.take(bucket, rate).allowed for _ in range(260)]
    # 200 at once, plus the few that came back while the loop ran (a token every 10 ms)
    assert 200 <= allowed.count(True) < 240
    assert allowed[:200] == [True] * 200


def through_wsgi(path: str, **headers: str) -> tuple[str, dict[str, str], bytes]:
    """A GET through the WSGI application gunicorn serves (config/wsgi.py), fast path included."""
    from config.wsgi import application

    environ = RequestFactory().get(path, **headers).environ
    started = {}

    def start_response(status, response_headers, exc_info=None):
        started["status"], started["headers"] = status, dict(response_headers)

    # As Django's test client does: a request must not close the test's connection (its transaction).
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        answer = application(environ, start_response)
        body = b"".join(answer)
        getattr(answer, "close", lambda: None)()
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)
    return started["status"], started["headers"], body


@pytest.mark.django_db
def test_a_refused_key_is_refused_again_before_django_while_its_bucket_is_empty(
    limited, make_key, django_assert_num_queries
):
    raw = make_key()
    api = keyed(raw)
    for _ in range(3):
        api.get("/api/v1/promos/program")
    assert api.get("/api/v1/promos/program").status_code == 429  # the bucket says so
    auth = {"HTTP_AUTHORIZATION": f"Api-Key {raw}", "REMOTE_ADDR": "10.0.0.1", "HTTP_X_REQUEST_ID": "till-7.42"}
    with (
        django_assert_num_queries(0),
        mock.patch("django.core.handlers.wsgi.WSGIHandler.__call__", side_effect=AssertionError("reached Django")),
    ):
        status, headers, body = through_wsgi("/api/v1/promos/program", **auth)  # remembered: Django never sees it
    answer = json.loads(body)
    assert status == "429 Too Many Requests" and answer["code"] == "rate_limited" and answer["status"] == 429
    assert set(answer) == {"status", "code", "detail", "errors"} and "3/h" in answer["detail"]
    assert headers["RateLimit-Remaining"] == "0" and 1 <= int(headers["Retry-After"]) <= 1200
    assert headers["RateLimit-Limit"] == "3" and int(headers["RateLimit-Reset"]) >= int(headers["Retry-After"])
    assert headers["X-Request-ID"] == "till-7.42" and headers["Content-Type"] == "application/json"
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["Content-Length"] == str(len(body))
    other = {"HTTP_AUTHORIZATION": f"Api-Key {make_key()}", "REMOTE_ADDR": "10.0.0.1"}
    assert through_wsgi("/api/v1/promos/program", **other)[0] == "200 OK"  # same address, other key
    assert through_wsgi("/api/v1/imports/importtypes", **auth)[0] == "200 OK"  # its imports bucket is another


@pytest.mark.django_db
def test_the_fast_path_lets_a_key_through_once_a_token_is_back_and_never_remembers_a_session(limited, make_key):
    limited.API_RATE_LIMIT_REDIS_URL = ""  # buckets in Django's cache, on the clock time_machine moves
    raw = make_key()
    auth = {"HTTP_AUTHORIZATION": f"Api-Key {raw}", "REMOTE_ADDR": "10.0.0.1"}
    with time_machine.travel("2026-03-01 12:00:00Z", tick=False) as traveller:
        for _ in range(3):
            keyed(raw).get("/api/v1/promos/program")
        assert through_wsgi("/api/v1/promos/program", **auth)[0].startswith("429")
        assert len(_REFUSED) == 1
        later = time.monotonic() + 1201
        traveller.shift(1201)  # 3/h: a token is back after 20 minutes, in the bucket and in the fast path
        with mock.patch("loyalty.api.throttling.time.monotonic", return_value=later):
            assert through_wsgi("/api/v1/promos/program", **auth)[0] == "200 OK"
    _REFUSED.clear()
    staff = Client(REMOTE_ADDR="10.0.0.9")
    staff.force_login(StaffUserFactory(is_superuser=True))
    assert [staff.get("/api/v1/promos/program").status_code for _ in range(4)] == [200, 200, 200, 429]
    assert _REFUSED == {}  # a session's refusal is not remembered: its next call is answered by Django
    session = {"HTTP_COOKIE": f"sessionid={staff.cookies['sessionid'].value}", "REMOTE_ADDR": "10.0.0.9"}
    status, headers, _ = through_wsgi("/api/v1/promos/program", **session)
    assert status.startswith("429") and "RateLimit-Limit" in headers


@pytest.mark.django_db
def test_bad_keys_from_an_address_do_not_hold_back_a_good_key_from_it(limited, make_key):
    addr = some_address()
    guessing = keyed("abcdefgh.not-a-real-key", addr=addr)
    assert [guessing.get("/api/v1/promos/program").status_code for _ in range(3)] == [401, 401, 429]
    assert keyed(make_key(), addr=addr).get("/api/v1/promos/program").status_code == 200
