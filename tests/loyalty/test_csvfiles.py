"""loyalty.csvfiles: the one CSV writer escapes every formula prefix and leaves plain numbers alone, and the
import's unescape is its exact inverse."""

import csv
import io
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loyalty.csvfiles import FORMULA_START, csv_line_writer, escape_formula, unescape_formula

ATTACKS = {
    "=": "=cmd|' /C calc'!A0",
    "+": '+HYPERLINK("http://evil")',
    "-": "-2+3+cmd|' /C calc'!A0",
    "@": "@SUM(1+1)",
    "\t": "\t=1+1",
    "\r": "\r=1+1",
}


def test_every_prefix_of_the_list_has_an_attack_here():
    assert set(ATTACKS) == set(FORMULA_START)


@pytest.mark.parametrize("text", ATTACKS.values(), ids=repr)
def test_a_cell_a_spreadsheet_would_run_gets_an_apostrophe(text):
    assert escape_formula(text) == "'" + text
    assert unescape_formula(escape_formula(text)) == text


@pytest.mark.parametrize("text", ["-5.00", "-5", "-.5", "+31611112222", "12", "0.50", "-0"])
def test_a_plain_number_keeps_its_sign(text):
    """Amounts stay numbers in a spreadsheet: ASCII digits, one optional sign and point, nothing else."""
    assert escape_formula(text) == text


@pytest.mark.parametrize("text", ["-1E5", "-NaN", "-Infinity", "+ 1", "-5.00 ", "-1+1", "--5", "-5.0.0", "+\uff11"])
def test_a_signed_cell_that_is_not_a_plain_number_is_escaped(text):
    assert escape_formula(text) == "'" + text


@pytest.mark.parametrize("text", ["Ada", "", "'=already text", "a=b", " =1+1", "5-3"])
def test_other_text_is_written_as_it_is(text):
    assert escape_formula(text) == text


@given(st.text(alphabet="=+-@\t\r'0123456789.aE ", max_size=8))
def test_unescape_undoes_escape(text):
    assert unescape_formula(escape_formula(text)) == text or (
        text.startswith("'") and text[1:].startswith(FORMULA_START)
    )


def test_the_writer_escapes_every_text_cell_and_writes_none_as_empty():
    line = csv_line_writer()
    text = line(["=1+1", None, -5, Decimal("-2.50"), "@x", 7])
    assert next(csv.reader(io.StringIO(text))) == ["'=1+1", "", "-5", "-2.50", "'@x", "7"]
