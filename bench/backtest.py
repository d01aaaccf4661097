"""Backtest benchmark on PostgreSQL: a promotion's draft run over 100,000 stored purchases.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/loyalty_bench_dashboard .venv/bin/python bench/backtest.py

Uses the data set of bench/dashboard.py (1,000,000 members, 4,000,000 purchases with their lines, the demo
program's promotions; built by bench/dashboard_data.py on first use, about 11 minutes; the name must contain
"bench"). It takes the newest days that hold at least --transactions purchases (default 100,000) and runs
promotions.backtest.backtest for a draft of the demo's "Double points on coffee" that triples instead, the way
the admin's Backtest button does: every purchase evaluated twice (the live promotions, and the draft in place
of its live version), caps counted per run, the purchases read in chunks of 500 with their lines. Prints the
purchases scanned, the seconds, purchases per second, the SQL queries, and what the draft changes.

Target (issue 17): 100,000 transactions backtested in under 60 s.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
# Keep bench/ off the import path (bench/ledger.py would shadow the ledger app).
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != HERE]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("LOYALTY_PROCESS_ROLE", "command")  # seeding: no request timeouts
os.environ.setdefault("DEBUG", "false")
TARGET_SECONDS = 60


def load_data_module() -> Any:
    spec = importlib.util.spec_from_file_location("dashboard_data", HERE / "dashboard_data.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--transactions", type=int, default=100_000, help="purchases to backtest (default 100,000)")
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--bookings", type=int, default=5_000_000)
    args = parser.parse_args()

    load_data_module().ensure_data(os.environ.get("DATABASE_URL", ""), members=args.members, bookings=args.bookings)

    import django

    django.setup()
    from django.db import connection
    from django.db.models import Count, Max
    from django.db.models.functions import TruncDate
    from django.test.utils import CaptureQueriesContext

    from loyalty.actors import Actor
    from promotions.backtest import backtest
    from promotions.models import Promotion
    from promotions.services import save_promotion
    from transactions.models import Transaction

    newest = Transaction.objects.aggregate(newest=Max("occurred_at"))["newest"]
    if newest is None:
        sys.exit("No purchases in this database: run bench/dashboard.py first.")
    per_day = (
        Transaction.objects.annotate(day=TruncDate("occurred_at"))
        .values("day")
        .annotate(n=Count("id"))
        .order_by("-day")
    )
    days, covered = 0, 0
    for row in per_day:
        days += 1
        covered += row["n"]
        if covered >= args.transactions:
            break
    now = newest + timedelta(seconds=1)

    coffee = Promotion.objects.get(key="coffee-double")
    tripled = {**coffee.definition, "effects": [{"type": "multiplier", "factor": "3"}]}
    draft = save_promotion(
        key="bench-coffee-triple",
        name="Triple points on coffee (benchmark draft)",
        definition=tripled,
        active=False,
        actor=Actor.for_system("bench"),
    )
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server = cursor.fetchone()[0]
    print(f"Backtest benchmark: PostgreSQL {server}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    print(f"window: the newest {days} days of purchases ({covered:,} purchases), draft {draft.key}")

    backtest(draft, days=1, now=now)  # warm: compile the promotions, fill the caches
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        result = backtest(draft, days=days, now=now)
        seconds = time.perf_counter() - started
    print("-" * 78)
    print(f"purchases scanned          {result.scanned:>12,}")
    print(f"seconds                    {seconds:>12.1f}")
    print(f"purchases per second       {result.scanned / seconds:>12,.0f}  (each evaluated twice: live and draft)")
    print(f"SQL queries                {len(queries):>12,}")
    print(f"would have earned by it    {result.earned:>12,}")
    print(f"purchases whose points change {result.affected:>9,}   extra points {result.extra} {result.point_type}")
    print("-" * 78)
    per_100k = seconds * 100_000 / max(result.scanned, 1)
    verdict = "met" if per_100k < TARGET_SECONDS else "NOT met"
    print(f"target 100,000 purchases in under {TARGET_SECONDS} s: {verdict} ({per_100k:.1f} s per 100,000)")


if __name__ == "__main__":
    main()
