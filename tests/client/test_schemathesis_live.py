"""Schemathesis against the running platform: gunicorn on PostgreSQL with a real Celery worker, the demo
program, the schema the code describes (the document /api/schema/ serves, but for `servers`).

Every operation: its examples, the coverage phase in positive and negative mode (boundary values, missing,
malformed and unknown parameters and fields), and MAX_EXAMPLES generated requests valid and invalid; then a
stateful run that chains operations through the links schemathesis infers from the answers (an enrolled
member's number into the member's operations, a voucher's code, a batch key...). All checks: no server
error, documented status codes, content types and headers, answers that match their schema, and that
invalid requests are refused and valid ones accepted, except for the findings listed in ALLOWED with the
reason each one is not a defect.

tests/test_schemathesis.py runs the same checks in-process on every database with fewer examples.
Runs with SCHEMATHESIS_LIVE=1 (and DATABASE_URL on PostgreSQL, CELERY_BROKER_URL), as .ci/run does beside the
SQLite suite. Knobs: SCHEMATHESIS_LIVE_EXAMPLES (default 50), SCHEMATHESIS_SEED.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import settings

from tests.test_schemathesis import GENERATION, SEED, openapi_document

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        not os.environ.get("SCHEMATHESIS_LIVE"),
        reason="minutes of fuzzing: set SCHEMATHESIS_LIVE=1 (.ci/run runs it beside the SQLite suite)",
    ),
]

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_LIVE_EXAMPLES", "50"))

# Findings that are not defects, by operation and check, each with its reason. Keep it short: fix the schema
# where it can say what the server does.
ALLOWED: dict[str, dict[str, str]] = {
    "queueCsvImport": {
        "positive_data_acceptance": "a file the schema calls valid may not be CSV text (invalid_file)",
    },
    "runExport": {
        "positive_data_acceptance": "each template takes only its own filters and sort options; the schema "
        "lists every template's in one operation",
    },
    "listAuditEntries": {"positive_data_acceptance": "a cursor must be one the API handed out"},
    "listEvents": {"positive_data_acceptance": "a cursor must be one the API handed out"},
    "claimMembership": {
        "positive_data_acceptance": "either membershipKey or the personal data, which OpenAPI 3.0 cannot say",
    },
    "enrollMember": {
        "positive_data_acceptance": "custom property names (letters, digits, _) cannot be said in OpenAPI 3.0; "
        "a membership type or sponsor key must exist (400 unknown_*)",
    },
    "updateMemberDetails": {
        "positive_data_acceptance": "custom property names (letters, digits, _) cannot be said in OpenAPI 3.0",
    },
    "saveLegalEntity": {"positive_data_acceptance": "a membership type key must exist (400)"},
    "bookTransaction": {
        "positive_data_acceptance": "a line names productKey or line, and quantities are above 0: rules "
        "across fields and decimal bounds a pattern cannot carry",
    },
    "reverseTransaction": {
        "positive_data_acceptance": "a returned line names productKey or line; quantities above 0",
    },
    "redeemPoints": {"positive_data_acceptance": "points above 0: a decimal bound a pattern cannot carry"},
    "createVoucherType": {"positive_data_acceptance": "a voucher type key: lower-case letters, digits, - and _"},
    "setCustomCategory": {"positive_data_acceptance": "every product must be in the catalog (400 unknown_products)"},
    "createWebhookEndpoint": {
        "positive_data_acceptance": "event types must exist (GET /webhooks/eventtypes) and the URL name a host the "
        "deployment's settings allow (400 invalid_webhook_endpoint)",
    },
    "updateWebhookEndpoint": {
        "positive_data_acceptance": "event types must exist and the URL name a host the settings allow (400)",
    },
}

CONFIG = {
    "seed": SEED,
    "suppress-health-check": ["all"],
    "generation": {**GENERATION, "max-examples": MAX_EXAMPLES},
    "checks": {
        # A body over the size limit is refused with 413 payload_too_large, a refusal like the others.
        "negative_data_rejection": {
            "expected-statuses": ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429"]
        },
    },
    "phases": {
        "examples": {"enabled": True},
        "coverage": {"enabled": True, "generation": {"mode": "all"}},
        "fuzzing": {"enabled": True},
        "stateful": {"enabled": True},
    },
    "operations": [
        {"include-operation-id": operation, "checks": {check: {"enabled": False} for check in checks}}
        for operation, checks in ALLOWED.items()
    ],
}


schema = schemathesis.openapi.from_dict(openapi_document(), config=schemathesis.Config.from_dict(CONFIG))


@pytest.fixture(scope="module")
def live(platform) -> dict:
    """Where the schema's operations are called, with a full-scope key."""
    return {"base_url": platform.url, "headers": {"Authorization": f"Api-Key {platform.key}"}}


@schema.parametrize()
def test_every_operation(case, live):
    case.call_and_validate(**live)


def test_chained_operations(live):
    class Live(schema.as_state_machine()):
        def get_call_kwargs(self, case):
            return live

    Live.run(settings=settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True))
