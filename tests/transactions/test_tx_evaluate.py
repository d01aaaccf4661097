"""A booking with capped rewards reads the caps' usage again under their locks: the engine runs a
second time only when that usage differs from what the first run saw."""

import pytest

from promotions.engine import CapUsage
from promotions.services import save_promotion
from tests.promotions.conftest import ACTOR, purchase
from transactions import services

DAILY = {
    "pointType": "points",
    "effects": [{"type": "fixed", "points": "5"}],
    "caps": {"perMember": [{"period": "day", "points": "8"}]},
}


@pytest.fixture
def engine_runs(monkeypatch):
    runs = []
    evaluate = services.evaluate

    def counting(*args, **kwargs):
        runs.append(args[3])  # the cap usage it was given
        return evaluate(*args, **kwargs)

    monkeypatch.setattr(services, "evaluate", counting)
    return runs


def daily(answer) -> str | None:
    return {r["promotion"]: r["amount"] for r in answer["rewards"]}.get("daily")


def test_the_engine_runs_once_when_the_locked_usage_is_what_it_saw(api, member, engine_runs):
    save_promotion(key="daily", name="Daily visit", definition=DAILY, actor=ACTOR)
    answer = api.post("/api/v1/tx", purchase(member, tx_id="T-1"), format="json").json()
    assert daily(answer) == "5.00"
    assert len(engine_runs) == 1
    again = api.post("/api/v1/tx", purchase(member, tx_id="T-2"), format="json").json()
    assert daily(again) == "3.00"  # 8 a day, 5 taken
    assert len(engine_runs) == 2


def test_the_engine_runs_again_when_the_usage_moved_before_the_lock(api, member, engine_runs, monkeypatch):
    save_promotion(key="daily", name="Daily visit", definition=DAILY, actor=ACTOR)
    read = services.read_cap_usage

    def moved(*args, **kwargs):
        usage = read(*args, **kwargs)
        if kwargs.get("lock_keys"):  # as if another booking took 6 between the two reads
            return CapUsage(budget=usage.budget, member={**usage.member, ("daily", "day"): 600})
        return usage

    monkeypatch.setattr(services, "read_cap_usage", moved)
    answer = api.post("/api/v1/tx", purchase(member, tx_id="T-3"), format="json").json()
    assert daily(answer) == "2.00"  # what the usage under the lock leaves
    assert len(engine_runs) == 2
