"""Dashboard benchmark on PostgreSQL: the admin's first page over 1,000,000 members and 5,000,000 bookings.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/loyalty_bench_dashboard .venv/bin/python bench/dashboard.py

Fills its database once with bench/dashboard_data.py (the name must contain "bench"; a second run reuses
the data), then prints:

  (a) how long the hourly job takes to sum the whole history and take its snapshots (its first run on an
      installation that already has its bookings; afterwards the hourly job sums one day);
  (b) GET /admin/ (the dashboard) through Django's test client, logged in as a staff user, for each period
      and for one sponsor: p50, p90 and the slowest of N requests, and the number of SQL queries;
  (c) the same page for 30 days once, with the summaries and snapshots switched off (every figure read
      live from the journal, the purchases and the lots), to show what they save.

Target (issue 16): p50 under 1 s. Options: --members, --bookings (scale), --requests N per case (default 20),
--resum to sum the history again for (a), --reset to rebuild the data.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
# Keep bench/ off the import path (bench/ledger.py would shadow the ledger app).
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != HERE]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("LOYALTY_PROCESS_ROLE", "command")  # seeding: no request timeouts
os.environ.setdefault("DEBUG", "false")

CASES = [
    ("last 7 days", "?period=7d"),
    ("last 30 days (the default)", "?period=30d"),
    ("last 90 days", "?period=90d"),
    ("last 12 months", "?period=12m"),
    ("last 30 days, one sponsor", "?period=30d&sponsor={sponsor}"),
]


def load_data_module() -> Any:
    spec = importlib.util.spec_from_file_location("dashboard_data", HERE / "dashboard_data.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(client: Any, url: str, requests: int, warm: int = 2) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(warm):  # the first request compiles templates and fills caches
        assert client.get(url).status_code == 200
    timings = []
    queries = 0
    for _ in range(requests):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(url)
            timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
        queries = len(captured)
    return {
        "p50": statistics.median(timings),
        "p90": percentile(timings, 0.9),
        "max": max(timings),
        "queries": queries,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--bookings", type=int, default=5_000_000)
    parser.add_argument("--requests", type=int, default=20, help="requests per case (default 20)")
    parser.add_argument("--resum", action="store_true", help="sum the whole history again for figure (a)")
    parser.add_argument("--reset", action="store_true", help="drop and rebuild the benchmark data first")
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL", "")
    started = time.perf_counter()
    counts = load_data_module().ensure_data(url, members=args.members, bookings=args.bookings, reset=args.reset)
    prepared = time.perf_counter() - started

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.test import Client

    from ledger.models import Booking, DailyPoints
    from loyalty.models import RollupState, Snapshot, Sponsor
    from loyalty.tasks import roll_up_days
    from memberships.models import Membership
    from transactions.models import DailyRewards, DailySales

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server = cursor.fetchone()[0]
        cursor.execute("SHOW shared_buffers")
        buffers = cursor.fetchone()[0]
    members, bookings = Membership.objects.count(), Booking.objects.count()
    print(
        f"\nDashboard benchmark: PostgreSQL {server} (shared_buffers {buffers}), {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(f"data: {members:,} members, {bookings:,} bookings (prepared in {prepared:.0f} s: {counts})")

    if args.resum or not RollupState.objects.exists():
        RollupState.objects.all().delete()
        for model in (DailyPoints, DailySales, DailyRewards):
            model.objects.all().delete()
        started = time.perf_counter()
        summed = roll_up_days()
        took = time.perf_counter() - started
        rows = DailyPoints.objects.count() + DailySales.objects.count() + DailyRewards.objects.count()
        print(f"(a) summing the whole history: {took:.1f} s ({summed}; {rows:,} summary rows)")
    else:
        started = time.perf_counter()
        summed = roll_up_days()  # the hourly job: the days since its last run, and the snapshots
        took = time.perf_counter() - started
        print(f"(a) history already summed (--resum sums it again); the hourly job now: {took:.1f} s ({summed})")

    user = get_user_model().objects.filter(username="bench-dashboard").first()
    if user is None:
        user = get_user_model().objects.create_superuser("bench-dashboard", "bench@example.com", None)
    client = Client()
    client.force_login(user)
    sponsor = Sponsor.objects.order_by("pk").first()

    line = "-" * 78
    print(f"(b) GET /admin/ (the dashboard), logged in, {args.requests} requests per case")
    print(f"{line}\n{'':40}{'p50 ms':>9}{'p90 ms':>9}{'max ms':>9}{'queries':>9}\n{line}")
    results = {}
    for label, query in CASES:
        result = measure(client, "/admin/" + query.format(sponsor=sponsor.key if sponsor else ""), args.requests)
        results[label] = result
        print(f"    {label:36}{result['p50']:>9.0f}{result['p90']:>9.0f}{result['max']:>9.0f}{result['queries']:>9}")
    print(line)

    with transaction.atomic():  # every day read live: what the page would cost without the summaries
        RollupState.objects.all().delete()
        Snapshot.objects.all().delete()
        live = measure(client, "/admin/?period=30d", 1, warm=0)
        transaction.set_rollback(True)
    print(f"(c) last 30 days with every day read live (no summaries, no snapshots): {live['p50']:.0f} ms")
    worst = max(r["p50"] for r in results.values())
    verdict = "met" if worst < 1000 else "NOT met"
    print(f"target p50 < 1,000 ms in every case: {verdict} (slowest case p50 {worst:.0f} ms)")


if __name__ == "__main__":
    main()
