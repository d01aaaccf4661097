"""Ledger fixtures: a program with two sponsors, a main point type and status points; members."""

import itertools
from datetime import timedelta

import pytest

from ledger.models import PointType
from ledger.services import EarnLine, earn_points
from loyalty.actors import Actor
from loyalty.models import MembershipType, Sponsor
from loyalty.services import save_configuration
from memberships.services.enrollment import enroll_membership

ACTOR = Actor.for_system("tests")
_names = itertools.count(1)


@pytest.fixture
def ledger_program(db):
    save_configuration(MembershipType(key="consumer", name="Consumer", is_default=True), actor=ACTOR)
    shop = save_configuration(Sponsor(key="shop", name="Shop", is_default=True), actor=ACTOR)
    fuel = save_configuration(Sponsor(key="fuel", name="Fuel"), actor=ACTOR)
    points = save_configuration(
        PointType(key="points", name="Points", is_main=True, precision=2, expiry_policy="never"), actor=ACTOR
    )
    status = save_configuration(
        PointType(key="status", name="Status", redeemable=False, transferable=False, precision=0), actor=ACTOR
    )
    return type("LedgerProgram", (), {"shop": shop, "fuel": fuel, "points": points, "status": status})


@pytest.fixture
def make_member(ledger_program):
    def make(**kwargs):
        n = next(_names)
        return enroll_membership(
            actor=ACTOR, first_name="Mem", last_name=f"Ber{n}", email=f"m{n}@example.com", **kwargs
        )

    return make


@pytest.fixture
def member(make_member):
    return make_member()


@pytest.fixture
def earn(ledger_program):
    """earn(member, amount_minor, point_type=points, sponsor=shop, expires_at=..., matures_in_days=0)"""

    def do(member, amount, *, point_type=None, sponsor=None, receipt="", expires_at=None, matures_in_days=0, at=None):
        from django.utils import timezone

        pt = point_type or ledger_program.points
        now = at or timezone.now()
        line = EarnLine(
            pt,
            amount,
            matures_at=now + timedelta(days=matures_in_days),
            expires_at=expires_at,
        )
        return earn_points(
            membership=member, sponsor=sponsor or ledger_program.shop, lines=[line], receipt_id=receipt, actor=ACTOR
        )

    return do
