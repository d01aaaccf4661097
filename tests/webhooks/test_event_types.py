"""webhooks.event_types: the registry is well formed, subscriptions match as documented, every type
constant of the apps is registered, and the session guard (tests/event_types.py) sees every door."""

from __future__ import annotations

import importlib
import importlib.util
import re

import pytest
from django.apps import apps
from django.db import connection
from jsonschema import Draft202012Validator

from loyalty import bulk
from loyalty.actors import Actor
from loyalty.audit import audit_entry
from loyalty.models import AuditEntry, Event
from loyalty.outbox import emit_event, emit_events, event_row, outbox_groups, record_and_emit
from tests import event_types as guard
from webhooks import event_types
from webhooks.event_types import EVENT_TYPES, SCHEMA_DIALECT, matching, pattern_problem

NAME = re.compile(r"[a-z0-9_]+(\.[a-z0-9_]+)+")
# Constants of the apps' events.py that no code path writes to the outbox, so no subscriber can
# receive them: audit actions only, and a name the configuration list spells out but nothing emits.
NEVER_EMITTED = {
    "apikey.ratelimited",  # audited by loyalty.services.set_api_key_rate_limits
    "import.queued",  # audited by imports.services.queueing
    "import.cancelled",  # audited by imports.services.control
    "import.resumed",  # audited by imports.services.control
    "program.deleted",  # loyalty.events.CONFIGURATION_EVENT_TYPES; delete_configuration refuses the program
}


def test_every_payload_schema_is_a_json_schema_of_an_object():
    for event_type in EVENT_TYPES.values():
        Draft202012Validator.check_schema(event_type.payload)
        assert event_type.payload["$schema"] == SCHEMA_DIALECT, event_type.name
        shapes = event_type.payload.get("oneOf", [event_type.payload])
        assert all(shape["type"] == "object" for shape in shapes), event_type.name


def test_names_are_unique_lowercase_dotted_and_sorted():
    names = [t.name for t in event_types._TYPES]
    assert len(names) == len(set(names))
    assert list(EVENT_TYPES) == sorted(names)
    for key, event_type in EVENT_TYPES.items():
        assert key == event_type.name
        assert NAME.fullmatch(key), key
        assert len(key) <= event_types.PATTERN_MAX_LENGTH


def test_each_type_says_in_one_sentence_when_it_happens():
    for event_type in EVENT_TYPES.values():
        text = event_type.description
        assert text[0].isupper() and text.endswith("."), event_type.name
        assert ". " not in text.rstrip("."), f"{event_type.name}: one sentence"
        assert isinstance(event_type.membership, bool)


def test_the_webhooks_apps_own_types_are_registered():
    test = EVENT_TYPES["webhook.test"]
    disabled = EVENT_TYPES["webhook.endpoint.disabled"]
    Draft202012Validator(test.payload).validate({"endpoint": 3, "message": "This is a test."})
    Draft202012Validator(disabled.payload).validate(
        {"endpoint": 3, "url": "https://crm.example.com/hooks", "reason": "410 Gone"}
    )
    assert not Draft202012Validator(test.payload).is_valid({"endpoint": "3", "message": "x"})
    assert not test.membership and not disabled.membership


def test_matching_an_exact_name_a_star_and_prefixes():
    assert matching(["points.earned"]) == ["points.earned"]
    assert matching(["*"]) == list(EVENT_TYPES)
    points = matching(["points.*"])
    assert "points.earned" in points and "points.expiring" in points
    assert points == [name for name in EVENT_TYPES if name.startswith("points.")]
    assert matching(["webhook.*"]) == ["webhook.endpoint.disabled", "webhook.test"]
    assert matching(["points.earned", "points.*", "tier.changed"]) == sorted({*points, "tier.changed"})
    assert matching(["poinst.*", "points.earnd", "points*", "*.earned"]) == []
    assert matching([]) == []


def test_a_prefix_ends_at_a_dot(monkeypatch):
    monkeypatch.setattr(event_types, "EVENT_TYPES", dict.fromkeys(("points.earned", "pointsx.y", "points")))
    assert matching(["points.*"]) == ["points.earned"]
    assert matching(["points"]) == ["points"]


@pytest.mark.parametrize("pattern", ["points.earned", "*", "points.*", "webhook.*", "webhook.endpoint.*"])
def test_patterns_that_can_be_subscribed_to(pattern):
    assert pattern_problem(pattern) is None


@pytest.mark.parametrize(
    ("pattern", "words"),
    [
        ("", "cannot be empty"),
        ("points." + "a" * 74, "at most 80 characters"),
        ("Points.earned", "characters an event type never has"),
        ("points.earned ", "characters an event type never has"),
        ("points-earned", "characters an event type never has"),
        ("*.earned", "'*' stands alone"),
        ("points*", "'*' stands alone"),
        ("points.*.x", "'*' stands alone"),
        ("points.**", "'*' stands alone"),
        ("**", "'*' stands alone"),
        ("points.earnd", "No event type matches 'points.earnd'."),
        ("pointsx.*", "No event type matches 'pointsx.*'."),
    ],
)
def test_patterns_refused_in_plain_words(pattern, words):
    assert words in pattern_problem(pattern)


def test_a_typo_is_named():
    assert pattern_problem("poinst.*") == "No event type matches 'poinst.*'."


def _type_constants(module) -> set[str]:
    """The upper-case string constants naming a dotted type (lists of them too)."""
    found = set()
    for name, value in vars(module).items():
        if not name.isupper():
            continue
        values = value if isinstance(value, list | tuple) else [value]
        found |= {v for v in values if isinstance(v, str) and "." in v}
    return found


def _events_modules() -> list:
    """Every installed app's events module (loyalty, memberships, ledger, promotions, vouchers, imports, ...)."""
    found = []
    for config in apps.get_app_configs():
        if importlib.util.find_spec(config.name) and importlib.util.find_spec(f"{config.name}.events"):
            found.append(importlib.import_module(f"{config.name}.events"))
    return found


def test_every_type_constant_of_the_apps_is_registered():
    modules = _events_modules()
    assert {m.__name__ for m in modules} >= {
        "loyalty.events",
        "memberships.events",
        "ledger.events",
        "promotions.events",
        "vouchers.events",
        "imports.events",
    }
    constants = set().union(*(_type_constants(m) for m in modules))
    assert sorted(constants - NEVER_EMITTED - set(EVENT_TYPES)) == []
    # The list names constants that exist, and none of them is offered to subscribers.
    assert constants >= NEVER_EMITTED
    assert not NEVER_EMITTED & set(EVENT_TYPES)


def test_every_configuration_model_has_its_events():
    """save_configuration names its events after the model (`<model>.created|updated`, and
    delete_configuration `<model>.deleted` for all but the program): a model an app registers as
    configuration brings its types, whether or not a test saves one."""
    from loyalty.models import Program
    from loyalty.services import CONFIGURATION_MODELS

    expected = set()
    for model in CONFIGURATION_MODELS:
        name = model._meta.model_name
        expected |= {f"{name}.created", f"{name}.updated"} | (set() if model is Program else {f"{name}.deleted"})
    assert sorted(expected - set(EVENT_TYPES)) == []
    assert set(event_types._CONFIGURATION) == {m._meta.model_name for m in CONFIGURATION_MODELS}


# The session guard --------------------------------------------------------------------------


@pytest.fixture
def fresh_record(monkeypatch) -> guard.Record:
    """The guard recording into a record of this test's own, with every writer taken for project code."""
    record = guard.Record()
    monkeypatch.setattr(guard, "RECORD", record)
    monkeypatch.setattr(guard, "_origin", lambda: "project code")
    return record


PAYLOAD = {"endpoint": 1, "message": "hi"}


def _row() -> dict:
    return {"type": "webhook.test", "payload": PAYLOAD}


WRITERS = {
    "emit_event": lambda: emit_event("webhook.test", payload=PAYLOAD),
    "emit_events": lambda: emit_events([event_row("webhook.test", payload=PAYLOAD)]),
    "record_and_emit": lambda: record_and_emit(
        Actor.for_system("tests"), "test.action", event_type="webhook.test", payload=PAYLOAD
    ),
    "insert_with_children": lambda: bulk.insert_with_children(
        audit_entry(Actor.for_system("tests"), "test.parent"),
        *outbox_groups(
            audit_entry(Actor.for_system("tests"), "test.child"),
            event_row("webhook.test", payload=PAYLOAD),
            link="object_id",
        ),
    ),
    "insert_rows": lambda: bulk.insert_rows(Event, [_row()]),
    "insert_together": lambda: bulk.insert_together(
        (AuditEntry, bulk.model_rows([audit_entry(Actor.for_system("tests"), "test.action")]), None),
        (Event, [_row()], None),
    ),
    "stream_rows": lambda: bulk.stream_rows(Event, iter([_row()]), columns={"type", "payload"}),
    "bulk_create": lambda: Event.objects.bulk_create([Event(type="webhook.test", payload=PAYLOAD)]),
    "create": lambda: Event.objects.create(type="webhook.test", payload=PAYLOAD),
}


@pytest.mark.django_db
@pytest.mark.parametrize("copy_from", [50, 1])  # on PostgreSQL: INSERT ... VALUES, and COPY
@pytest.mark.parametrize("writer", list(WRITERS))
def test_the_guard_sees_every_way_into_the_outbox(fresh_record, monkeypatch, writer, copy_from):
    monkeypatch.setattr(bulk, "COPY_FROM", copy_from)
    before = Event.objects.count()
    WRITERS[writer]()
    assert Event.objects.count() == before + 1
    assert fresh_record.seen == {"webhook.test": 1}, connection.vendor
    assert fresh_record.problems == {}


def test_the_guard_names_what_is_wrong(fresh_record):
    guard.record("points.earnd", "", {}, "ledger/x.py:1")
    guard.record("webhook.test", "", {"endpoint": "one", "message": "hi"}, "webhooks/x.py:2")
    guard.record("webhook.test", "", {"endpoint": 1, "message": "hi", "extra": 1}, "webhooks/x.py:3")
    guard.record("webhook.test", "100000001", PAYLOAD, "webhooks/x.py:4")
    guard.record("webhook.test", "", PAYLOAD, "webhooks/x.py:5")
    lines = guard.problems()
    assert len(lines) == 4
    assert lines[0].startswith("points.earnd: not in webhooks.event_types.EVENT_TYPES")
    assert "from ledger/x.py:1" in lines[0]
    assert any("at endpoint: 'one' is not of type 'integer'" in line for line in lines)
    assert any("at (the payload): Additional properties" in line for line in lines)
    assert any("carries a membership number" in line for line in lines)
    assert fresh_record.seen == {"points.earnd": 1, "webhook.test": 4}


def test_events_a_test_writes_itself_are_the_tests():
    assert guard._origin() is None
    namespace = {"origin": guard._origin}
    code = compile("found = origin()", str(guard.ROOT / "loyalty" / "services.py"), "exec")
    exec(code, namespace)  # noqa: S102 - a frame that looks like project code
    assert namespace["found"] == "loyalty/services.py:1"
