"""`field__any`: the rows `__in` finds, with the list sent as one array on PostgreSQL."""

import pytest

from loyalty.lookups import array_literal
from loyalty.models import Event


def test_array_literals_quote_what_needs_quoting():
    assert array_literal([3, 1]) == ("{3,1}", "bigint")
    assert array_literal(['a"b', "c\\d", "e,f", "{g}", ""]) == ('{"a\\"b","c\\\\d","e,f","{g}",""}', "text")
    assert array_literal([True]) is None  # neither int nor str: __in instead


@pytest.mark.django_db
def test_any_finds_what_in_finds():
    numbers = ['tricky"one', "back\\slash", "comma,one", "{brace}", "plain", "NULL"]
    for number in numbers:
        Event.objects.create(type="t", membership_number=number)
    Event.objects.create(type="t", membership_number="other")
    wanted = [*numbers, "absent", None]
    found = set(Event.objects.filter(membership_number__any=wanted).values_list("membership_number", flat=True))
    assert found == set(numbers)
    ids = list(Event.objects.filter(membership_number__in=numbers).values_list("pk", flat=True))
    assert sorted(Event.objects.filter(pk__any=ids).values_list("pk", flat=True)) == sorted(ids)
    assert not Event.objects.filter(pk__any=[]).exists()
    assert not Event.objects.filter(membership_number__any=[None]).exists()
