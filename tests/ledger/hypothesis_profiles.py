"""Hypothesis profiles of the ledger's property tests.

They are registered under their own names and handed to the ledger tests explicitly, so loading
them never changes the settings of other Hypothesis users (schemathesis). `HYPOTHESIS_PROFILE=ci`
selects the long run.
"""

import os

from hypothesis import HealthCheck, settings

_COMMON = {
    "deadline": None,  # database steps: wall time says nothing about correctness
    "derandomize": True,  # the same examples on every run: CI is stable
    "database": None,  # no example database: nothing a previous run found changes the next
    "print_blob": False,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}

settings.register_profile("ledger-default", max_examples=30, stateful_step_count=30, **_COMMON)
settings.register_profile("ledger-ci", max_examples=200, stateful_step_count=30, **_COMMON)


def ledger_settings() -> settings:
    """The profile for this run: `ledger-ci` when HYPOTHESIS_PROFILE=ci, else `ledger-default`."""
    name = "ledger-ci" if os.environ.get("HYPOTHESIS_PROFILE") == "ci" else "ledger-default"
    return settings.get_profile(name)
