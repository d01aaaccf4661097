"""The bulk writers' JSON text is what the column's encoder would have written."""

import gc
import json
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.core.serializers.json import DjangoJSONEncoder
from django.utils.translation import gettext_lazy

from loyalty.collector import BULK_THRESHOLDS, bulk_work
from loyalty.jsontext import StrEncoder, dumper

VALUES = [
    {"at": datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC), "day": date(2026, 1, 2)},
    {"amount": Decimal("12.50"), "id": uuid.UUID(int=7), "label": gettext_lazy("Points")},
    {"nested": [{"a": [None, 1.5, True]}], "text": 'tab\there "quoted" é'},
    {1: "an int key"},  # orjson refuses it: the standard library writes it
    {"big": 2**70},
    [],
    "plain",
]


@pytest.mark.parametrize("value", VALUES)
def test_the_text_is_the_encoders(value):
    assert json.loads(dumper(DjangoJSONEncoder)(value)) == json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def test_without_an_encoder_it_is_json_dumps():
    value = {"a": [1, "b", None]}
    assert dumper()(value) == json.dumps(value, separators=(",", ":"))
    with pytest.raises(TypeError):
        dumper()({"at": date(2026, 1, 1)})


def test_the_str_encoder_writes_anything_as_its_str():
    assert json.loads(dumper(StrEncoder)({"day": date(2026, 1, 2), "n": Decimal("1.0")})) == {
        "day": "2026-01-02",
        "n": "1.0",
    }


def test_bulk_work_collects_rarely_inside_and_restores_the_collector_after():
    before = gc.get_threshold()
    with bulk_work():
        with bulk_work():
            assert gc.get_threshold() == BULK_THRESHOLDS
        assert gc.get_threshold() == BULK_THRESHOLDS and gc.get_freeze_count() > 0
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
