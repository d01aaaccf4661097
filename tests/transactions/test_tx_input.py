"""POST /tx line items: the quick check of a plain line gives exactly what DRF's validation gives."""

from decimal import Decimal

from hypothesis import example, given, settings
from hypothesis import strategies as st
from rest_framework import serializers

from loyalty.api.serializers import StrictInputSerializer
from transactions.serializers import TxItemInputSerializer, _plain_item

DECIMAL_TEXT = st.from_regex(r"[-+ ]?[0-9٣]{0,14}(\.[0-9]{0,5})?([eE][-+]?[0-9])? ?", fullmatch=True)
VALUES = DECIMAL_TEXT | st.integers(-5, 10**13) | st.floats(allow_nan=True) | st.none() | st.booleans()
KEYS = st.text(min_size=0, max_size=102) | st.sampled_from(["P-1", " P-1", "P\x00", "\ud800x", "x" * 100, "x" * 101])
FIELDS = ["product_key", "quantity", "unit_price", "amount"]


@st.composite
def items(draw):
    item = {"product_key": draw(KEYS), **{name: draw(VALUES) for name in FIELDS[1:]}}
    for name in draw(st.sets(st.sampled_from(FIELDS), max_size=1)):
        del item[name]
    if draw(st.booleans()) and draw(st.booleans()):
        item["extra"] = "x"
    return item


def _drf(data):
    """What DRF's own validation gives: the value, or the error details."""
    try:
        return StrictInputSerializer.run_validation(TxItemInputSerializer(), data)
    except serializers.ValidationError as exc:
        return exc.detail


def _ours(data):
    try:
        return TxItemInputSerializer().run_validation(data)
    except serializers.ValidationError as exc:
        return exc.detail


@settings(max_examples=400)
@given(items())
@example({"product_key": "P-1", "quantity": "2", "unit_price": "1.5", "amount": "3.00"})
@example({"product_key": "P-1", "quantity": "000000001", "unit_price": "0", "amount": "9999999999.99"})
@example({"product_key": "P-1", "quantity": "1.0000", "unit_price": "1.5", "amount": "3"})
def test_a_line_validates_as_drf_validates_it(data):
    assert _ours(data) == _drf(data)


def test_plain_lines_take_the_quick_check_and_odd_ones_do_not():
    plain = {"product_key": "P-1", "quantity": "2", "unit_price": "1.5", "amount": "3.00"}
    assert _plain_item(plain) == {
        "product_key": "P-1",
        "quantity": Decimal("2.000"),
        "unit_price": Decimal("1.50"),
        "amount": Decimal("3.00"),
    }
    for odd in ({**plain, "quantity": 2}, {**plain, "amount": " 3"}, {**plain, "product_key": "P-1 "}, {"x": 1}):
        assert _plain_item(odd) is None
