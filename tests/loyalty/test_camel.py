"""loyalty.api.camel: the renderer's and parser's key conversion matches djangorestframework-camel-case."""

import json
from decimal import Decimal

from djangorestframework_camel_case import util
from djangorestframework_camel_case.settings import api_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.utils.serializer_helpers import ReturnDict

from loyalty.api import camel

KEYS = st.from_regex(r"[a-z][a-z0-9]{0,6}(_[a-z0-9]{1,5}){0,3}|[a-z]+([A-Z][a-z0-9]+){0,3}|_?[a-z]+_", fullmatch=True)
SCALARS = st.none() | st.booleans() | st.integers() | st.text(max_size=8) | st.decimals(allow_nan=False, places=2)
TREES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=4),
    max_leaves=30,
)


# Generating the trees is slow on a loaded machine; that says nothing about the conversion.
MACHINE_SPEED = settings(suppress_health_check=[HealthCheck.too_slow])


@MACHINE_SPEED
@given(TREES)
def test_camelize_gives_what_the_library_gives(data):
    assert camel.camelize(data) == util.camelize(data, **api_settings.JSON_UNDERSCOREIZE)


@MACHINE_SPEED
@given(TREES)
def test_underscoreize_gives_what_the_library_gives(data):
    wire = json.loads(json.dumps(util.camelize(data), default=str))
    assert camel.underscoreize(wire) == util.underscoreize(wire, **api_settings.JSON_UNDERSCOREIZE)


def test_tuples_and_serializer_dicts_keep_their_shape():
    data = ReturnDict({"point_type": "points", "lines": (1, 2), "amount": Decimal("1.50")}, serializer=None)
    out = camel.camelize(data)
    assert isinstance(out, ReturnDict)
    assert out == {"pointType": "points", "lines": [1, 2], "amount": Decimal("1.50")}
