"""The /tx program (points, status points, base earning, double on coffee) on the small classified
catalog, shared with the promotions tests (the promotion admin's try-it and backtest book through
/tx too): the fixtures live in tests/promotions/conftest.py."""

from tests.promotions.conftest import catalog, member, program, sponsor, tx_program  # noqa: F401
