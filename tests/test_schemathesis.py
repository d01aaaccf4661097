"""Schemathesis over the whole OpenAPI schema, in-process against the Django WSGI app.

The schema is the one /api/schema/ serves, generated from the code at collection time, and
`@schema.parametrize()` makes one test per operation: a new endpoint is fuzzed as soon as its
app is in the URLconf, without touching this file. No server process: requests go through
Django's WSGI handler inside the test's database transaction, so it runs on SQLite and on
PostgreSQL alike. Every app's demo data (`manage.py seed_demo`) is loaded once for the module,
so lists answer with real rows, and a full-scope API key authenticates the calls.

Per operation, all deterministic: the schema's examples; the coverage phase in positive mode
(boundary and enum values, optional parameters and fields left out, unexpected methods); and
MAX_EXAMPLES generated requests, valid and invalid (positive and negative mode), derandomized
with SEED. It fails on a 5xx, on a status code the operation does not document, on a wrong
content type or header, and on a body that does not match its schema.

Knobs, for a deeper or a quicker run (the defaults take about 45 s of CPU with 43 operations):
    SCHEMATHESIS_MAX_EXAMPLES=500   more generated requests per operation (default 20)
    SCHEMATHESIS_SEED=7             other generated requests (default SEED)
    SCHEMATHESIS_COVERAGE=all       the coverage phase in negative mode too (missing, malformed
                                    and unknown parameters and fields; ~60 more per operation)
    SCHEMATHESIS_COVERAGE=0         no coverage phase
"""

import io
import json
import os

import pytest
import schemathesis
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from config.wsgi import application

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "20"))
SEED = int(os.environ.get("SCHEMATHESIS_SEED", "20240601"))
COVERAGE = os.environ.get("SCHEMATHESIS_COVERAGE", "positive")

# Shared with tests/client/test_schemathesis_live.py.
GENERATION = {
    "mode": "all",
    "deterministic": True,
    "database": "none",
    # The test sends a valid key; fuzzing the security header would only test 401s.
    "with-security-parameters": False,
}

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": SEED,
        # function_scoped_fixture (the database and key are per operation, shared by its
        # examples on purpose) and too_slow (a shared CI machine) are not bugs of the API.
        "suppress-health-check": ["all"],
        "generation": {**GENERATION, "max-examples": MAX_EXAMPLES},
        "phases": {
            "examples": {"enabled": True},
            "coverage": {
                "enabled": COVERAGE != "0",
                "generation": {"mode": "all" if COVERAGE == "all" else "positive"},
            },
            "fuzzing": {
                "enabled": True,
                # Values taken from earlier answers (ids, times) would make the requests differ
                # between runs; the constants of the code still feed the generator.
                "extra-data-sources": {"responses": False},
            },
            "stateful": {"enabled": False},
        },
    }
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def openapi_document() -> dict:
    """The document /api/schema/ serves, generated in-process (no key or request needed)."""
    document = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(document, renderer_context={}))


schema = schemathesis.openapi.from_dict(openapi_document(), config=CONFIG)
schema.app = application

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def keep_the_test_connection():
    """As Django's test client does: the handler's request signals would otherwise close the
    connection that holds the test's transaction (PostgreSQL: "the connection is closed")."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture(scope="module")
def demo_data(django_db_setup, django_db_blocker):
    """Every app's demo data, so lists have rows to serialize, seeded once for all operations.

    It is written in an outer transaction that each test's own (a savepoint) nests in, and rolled
    back after the last operation, so the other test modules never see it.
    """
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("seed_demo", stdout=io.StringIO())
        yield
        transaction.set_rollback(True)


@pytest.fixture
def api_key(demo_data, make_key) -> str:
    """A full-scope key."""
    return make_key()


@schema.parametrize()
def test_api(case, api_key):
    case.call_and_validate(headers={"Authorization": f"Api-Key {api_key}"}, checks=CHECKS)
