"""Voucher codes (random, uniform, without look-alikes, collision-checked) and the demo data."""

from collections import Counter

import pytest

from loyalty import demo as loyalty_demo
from loyalty.actors import Actor
from loyalty.models import AuditEntry, Event
from tests.vouchers.factories import issue
from vouchers import codes
from vouchers.models import Voucher, VoucherType
from vouchers.services import fresh_tokens


def test_codes_use_the_alphabet_evenly_and_never_a_look_alike():
    drawn = "".join(codes.CodeGenerator().many(20_000))
    seen = Counter(drawn)
    assert set(seen) == set(codes.SAFE_ALPHABET) and not set(drawn) & codes.LOOK_ALIKES
    expected = len(drawn) / len(codes.SAFE_ALPHABET)
    assert all(abs(n - expected) < expected * 0.06 for n in seen.values()), seen


def test_many_codes_are_distinct_and_shaped_by_the_pattern():
    made = codes.CodeGenerator(prefix="A-", pattern="###-###-###", alphabet="23456789ABCDEF").many(5000)
    assert len(set(made)) == 5000
    assert all(len(c) == 13 and c[5] == "-" and c[9] == "-" and c.startswith("A-") for c in made)


@pytest.mark.parametrize(
    ("alphabet", "length", "prefix", "pattern", "field"),
    [
        ("0123456789", 12, "", "", "code_alphabet"),
        ("abcdefghjkmn", 12, "", "", "code_alphabet"),
        ("2345678", 30, "", "", "code_alphabet"),
        ("AABCDEFGHJK", 12, "", "", "code_alphabet"),
        (codes.SAFE_ALPHABET, 8, "", "", "code_length"),
        (codes.SAFE_ALPHABET, 12, "x", "", "code_prefix"),
        (codes.SAFE_ALPHABET, 12, "", "##-##", "code_pattern"),
        (codes.SAFE_ALPHABET, 12, "", "####_####", "code_pattern"),
    ],
)
def test_unusable_code_formats_are_named(alphabet, length, prefix, pattern, field):
    assert field in codes.format_problems(alphabet, length, prefix, "", pattern)


def test_a_good_format_has_no_problems():
    assert codes.format_problems(codes.SAFE_ALPHABET, 12, "NW-", "", "") == {}
    assert codes.format_problems("23456789", 14, "", "", "") == {}  # 14 digits: 42 bits


@pytest.mark.django_db
def test_codes_already_stored_are_drawn_again(make_type, monkeypatch):
    voucher_type = make_type(key="clash")
    taken = issue(voucher_type).token
    draws = iter([[taken, "NEWCODE23456"], ["NEWCODE23456", "OTHERCODE234"]])  # first draw, then the redraw
    monkeypatch.setattr(codes.CodeGenerator, "many", lambda self, n: next(draws))
    assert fresh_tokens(voucher_type, 2) == ["NEWCODE23456", "OTHERCODE234"]


@pytest.mark.django_db
def test_the_demo_adds_the_three_voucher_types_and_a_second_run_changes_nothing():
    from ledger import demo as ledger_demo
    from memberships import demo as memberships_demo
    from vouchers import demo

    actor = Actor.for_system("seed_demo")
    loyalty_demo.seed(actor)
    memberships_demo.seed(actor)
    ledger_demo.seed(actor)
    demo.seed(actor)
    assert set(VoucherType.objects.values_list("key", flat=True)) >= {"ten-percent-off", "free-coffee", "welcome"}
    coffee = VoucherType.objects.get(key="free-coffee")
    assert coffee.price_points is not None and coffee.point_type.key == "points"
    assert Voucher.objects.filter(voucher_type__key="welcome", source="promotion:welcome").count() == 3
    rows = (VoucherType.objects.count(), Voucher.objects.count(), AuditEntry.objects.count(), Event.objects.count())
    demo.seed(actor)
    assert (
        VoucherType.objects.count(),
        Voucher.objects.count(),
        AuditEntry.objects.count(),
        Event.objects.count(),
    ) == rows
