"""Fixtures of the loyalty app's tests."""

import pytest


@pytest.fixture(autouse=True)
def few_demo_purchases(monkeypatch):
    """seed_demo books the /tx demo's purchases one at a time through the real service (about a
    minute for the 1,200 of the demo on SQLite): a few dozen show the same in the command tests."""
    monkeypatch.setattr("loyalty.tx.demo.TRANSACTIONS", 40)
