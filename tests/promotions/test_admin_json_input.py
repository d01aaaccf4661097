"""JSON typed into the promotion admin (a condition, a try-it sample's properties) is read with the API's
limits: nested past 64 levels or holding a NUL, it is a form error, not a RecursionError or, on PostgreSQL, a
DataError when saved."""

import pytest
from django import forms

from promotions.admin_forms import SampleForm

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("text", "words"),
    [('{"store": "a\\u0000"}', "NUL"), ('{"a": ' + "[" * 500 + "]" * 500 + "}", "deeper than 64")],
)
@pytest.mark.parametrize("name", ["properties", "member_properties"])
def test_sample_json_past_the_limits_is_a_form_error(name, text, words):
    form = SampleForm()
    form.cleaned_data = {name: text}
    with pytest.raises(forms.ValidationError) as caught:
        getattr(form, f"clean_{name}")()
    assert words in str(caught.value)


def test_sample_json_within_the_limits_is_read():
    form = SampleForm()
    form.cleaned_data = {"properties": '{"store": "north"}'}
    assert form.clean_properties() == {"store": "north"}
