"""Shared fixtures and the test tiers (PostgreSQL-only, real Celery worker, browser)."""

import shutil
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.db import connection, connections
from rest_framework.test import APIClient

from loyalty.actors import Actor
from loyalty.models.clients import Scope
from tests.factories import ApiClientFactory

pytest_plugins = ["tests.browser_fixtures"]

ON_POSTGRES = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
HAS_BROKER = bool(settings.CELERY_BROKER_URL)


def pytest_configure(config):
    from tests import api_errors, event_types

    api_errors.install()
    event_types.install()
    # The suite fires many requests quickly with one key: rate limits are off unless a test turns them on
    # (tests/loyalty/test_rate_limit.py, with the `settings` fixture).
    settings.API_RATE_LIMIT = settings.API_IMPORTS_RATE_LIMIT = settings.API_ANON_RATE_LIMIT = "off"


def pytest_sessionfinish(session, exitstatus):
    """Errors the API answered that the schema does not document for the operation fail the run; so do
    events written to the outbox that the registry of event types does not describe (reported even
    when tests failed: what was seen is true of the code whatever else went wrong)."""
    from tests import api_errors, event_types

    api_errors.dump()
    if exitstatus == 0 and api_errors.SEEN:
        missing = api_errors.undocumented()
        if missing:
            session.config.api_errors_missing = missing
            session.exitstatus = 1
    event_types.dump()
    undescribed = event_types.problems()
    if undescribed:
        session.config.event_types_problems = undescribed
        if exitstatus == 0:
            session.exitstatus = 1


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    missing = getattr(config, "api_errors_missing", [])
    if missing:
        terminalreporter.section("errors the schema does not document (tests/api_errors.py)", red=True)
        for line in missing:
            terminalreporter.line(line)
    undescribed = getattr(config, "event_types_problems", [])
    if undescribed:
        terminalreporter.section("events webhooks.event_types does not describe (tests/event_types.py)", red=True)
        for line in undescribed:
            terminalreporter.line(line)


def pytest_collection_modifyitems(config, items):
    skips = {
        "postgres": (not ON_POSTGRES, "needs PostgreSQL: set DATABASE_URL=postgres://... (as .ci/run does)"),
        "celery_worker": (not HAS_BROKER, "needs a broker for a real worker: set CELERY_BROKER_URL (as .ci/run does)"),
        "browser": (shutil.which("chromium") is None, "needs Debian's chromium package (.ci/run installs it)"),
    }
    for item in items:
        for marker, (skip, reason) in skips.items():
            if skip and marker in item.keywords:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture
def system_actor() -> Actor:
    return Actor.for_system("tests")


@pytest.fixture
def make_key(db) -> Callable[..., str]:
    """A raw API key of a new client with the given scopes."""

    def make(scopes: list[str] | None = None, name: str | None = None) -> str:
        from loyalty.services import issue_api_key

        client = ApiClientFactory(
            scopes=list(Scope.values) if scopes is None else scopes, **({"name": name} if name else {})
        )
        _, raw = issue_api_key(client=client, actor=Actor.for_system("tests"))
        return raw

    return make


@pytest.fixture
def api(make_key) -> APIClient:
    """An HTTP client authenticated with a full-scope API key."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {make_key()}")
    return client


@pytest.fixture
def anon() -> APIClient:
    return APIClient()


def run_in_threads(count: int, fn: Callable[[int], Any]) -> list[Any]:
    """Run fn(i) in `count` threads started together; each returns its result or the exception."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def worker(i: int) -> None:
        try:
            barrier.wait()
            results[i] = fn(i)
        except Exception as exc:  # the test inspects it
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


@pytest.fixture(scope="session")
def celery_app():
    """The project's own Celery app, so the worker runs the real task registry."""
    from config.celery import app

    return app


@pytest.fixture(scope="session")
def celery_worker_parameters():
    return {"perform_ping_check": False, "queues": ("celery",)}


@pytest.fixture
def db_vendor() -> str:
    return connection.vendor


@pytest.fixture(autouse=True)
def fresh_promotion_cache():
    """Each test rolls its configuration back: nothing cached in one test is seen by the next."""
    from loyalty.configuration import forget

    forget()
    yield
    forget()


@pytest.fixture(scope="session", autouse=True)
def few_demo_purchases():
    """seed_demo books the /tx demo's purchases one at a time through the real service (about a
    minute for the 1,200 of the demo on SQLite): a few dozen show the same wherever tests seed it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("transactions.demo.TRANSACTIONS", 40)
        yield
