"""Settings for bench/tx.py's gunicorn: the project's settings, with the URLconf named by an env var.

BENCH_ROOT_URLCONF=bench.tx_urls adds the minimal comparison view beside the real API; without it
the project's own URLconf is served, so nothing bench-only is reachable by accident.
"""

from config.settings import *  # noqa: F403
from config.settings.env import env

ROOT_URLCONF = env.str("BENCH_ROOT_URLCONF", default=ROOT_URLCONF)  # noqa: F405
