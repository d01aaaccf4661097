"""The dashboard reads every app: the /tx program (catalog, points and status points, base earning,
double on coffee) of tests/promotions/conftest.py, on a program that runs on Europe/Amsterdam."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from imports.models import ImportBatch
from ledger.models import PointType
from ledger.services import redeem_points
from loyalty.models import Program, Sponsor
from memberships.services.enrollment import enroll_membership
from memberships.services.lifecycle import cancel_membership
from tests.ledger.conftest import earn, ledger_program, make_member  # noqa: F401
from tests.promotions.conftest import ACTOR, buy, catalog, program, sponsor, tx_program  # noqa: F401
from tests.vouchers.factories import VoucherTypeFactory
from vouchers.services.issue import issue_voucher
from vouchers.services.use import convert_voucher

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


@pytest.fixture
def amsterdam(db):
    """The program runs on Europe/Amsterdam: its days start an hour (two in summer) before UTC's."""
    current = Program.current()
    current.time_zone = "Europe/Amsterdam"
    current.save()
    return AMSTERDAM


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=AMSTERDAM)


NOW = local(2026, 12, 7, 12, 0)
COFFEE = [("COF-001", "2", "6.49")]
TEA = [("TEA-001", "1", "2.89")]


@pytest.fixture
def shop(amsterdam, request):
    """Three members, purchases on three days, a redemption, vouchers and a failed import."""
    request.getfixturevalue("tx_program")
    with time_machine.travel(local(2026, 11, 1, 9, 0), tick=False):
        anna = enroll_membership(actor=ACTOR, first_name="Anna", last_name="Old", email="anna@example.com")
    with time_machine.travel(local(2026, 12, 5, 9, 0), tick=False):
        bert = enroll_membership(actor=ACTOR, first_name="Bert", last_name="New", email="bert@example.com")
        cora = enroll_membership(actor=ACTOR, first_name="Cora", last_name="Gone", email="cora@example.com")
    with time_machine.travel(local(2026, 11, 20, 12, 0), tick=False):
        buy(anna, TEA, days_ago=0.01)  # before the 7 days
    with time_machine.travel(local(2026, 12, 4, 12, 0), tick=False):
        buy(anna, COFFEE, days_ago=0.01)
    with time_machine.travel(local(2026, 12, 6, 12, 0), tick=False):
        buy(bert, COFFEE + TEA, days_ago=0.01)
        redeem_points(
            membership=anna,
            points=300,
            point_type=PointType.objects.get(key="points"),
            sponsor=Sponsor.objects.get(key="northwind"),
            actor=ACTOR,
        )
        cancel_membership(membership=cora, reason="moved away", actor=ACTOR)
        kind = VoucherTypeFactory(key="coffee", name="Free coffee")
        issued = issue_voucher(voucher_type=kind, actor=ACTOR, recipient=bert, count=2)
        convert_voucher(token=issued.tokens[0], actor=ACTOR, membership=bert)
        ImportBatch.objects.create(
            import_type="memberships",
            source="json",
            status="completed",
            total=3,
            ok_count=1,
            failed_count=2,
            actor_label="tests",
        )
    return {"anna": anna, "bert": bert, "cora": cora}


@pytest.fixture
def eager_worker():
    """Queued work (imports, export jobs) runs in the test's own thread, with or without a broker
    configured (tests/imports does the same)."""
    from config.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before
