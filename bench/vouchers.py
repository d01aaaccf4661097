"""Benchmark: bulk issue of voucher codes and conversions through the API, on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/loyalty_bench_vouchers .venv/bin/python bench/vouchers.py

The database named in DATABASE_URL is the benchmark's own: it is created if missing (by connecting to
the server's `postgres` database), migrated, and written to; no other database is touched. Its name
must contain "bench", so a slip of the URL never fills a real database with test codes.

It times, through the services and the HTTP API as integrators and managers use them:

- bulk issue: `vouchers.services.issue_voucher(count=N)` of 100,000 codes in one call (random codes,
  collision check against the stored ones, bulk_create in chunks, stock, audit and event), printed as
  codes per second (target: 20,000/s or more);
- conversions: POST /voucher/{token}/convert with an API key through Django's test client, from a
  few threads at once, each converting its own single-use vouchers; printed as conversions per second
  with the latency percentiles.

`--codes`, `--conversions` and `--threads` change the sizes. Runs add to the codes already stored (as a
live program would have them); `--fresh` starts from an empty database, `--drop` drops it afterwards.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
# This file is bench/vouchers.py: keep its folder off the import path, or `import vouchers` would
# find this script instead of the app.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--codes", type=int, default=100_000, help="codes in the bulk issue")
    parser.add_argument("--conversions", type=int, default=3_000, help="vouchers converted through the API")
    parser.add_argument("--threads", type=int, default=4, help="API callers at once")
    parser.add_argument("--fresh", action="store_true", help="drop and recreate the benchmark database first")
    parser.add_argument("--drop", action="store_true", help="drop the benchmark database afterwards")
    return parser.parse_args()


def with_database(url: str, dbname: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{dbname}", parts.query, parts.fragment))


def database_name(url: str) -> str:
    parts = urlsplit(url)
    if not parts.scheme.startswith("postgres"):
        sys.exit("DATABASE_URL must be a postgres:// URL (the benchmark measures PostgreSQL).")
    name = parts.path.lstrip("/")
    if "bench" not in name:
        sys.exit(f"Refusing to fill {name!r}: the benchmark database's name must contain 'bench'.")
    return name


def ensure_database(url: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(with_database(url, "postgres"), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"created database {name}")


def drop_database(url: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(with_database(url, "postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def setup_django() -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ.setdefault("LOYALTY_PROCESS_ROLE", "command")  # seeding: no request timeouts
    os.environ["DEBUG"] = "false"
    os.environ.pop("CELERY_BROKER_URL", None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def program(run: str):
    """A sponsor, a point type and two voucher types of this run (earlier runs' rows stay)."""
    from ledger.models import PointType
    from loyalty.actors import Actor
    from loyalty.demo import upsert
    from loyalty.models import MembershipType, Sponsor
    from vouchers.models import VoucherType

    actor = Actor.for_system("bench")
    upsert(MembershipType, {"key": "consumer"}, {"name": "Consumer", "is_default": True}, actor)
    sponsor = upsert(Sponsor, {"key": "bench"}, {"name": "Bench", "is_default": True}, actor)
    upsert(PointType, {"key": "points"}, {"name": "Points", "is_main": True}, actor)
    common = {"kind": VoucherType.Kind.PERCENT_OFF, "value": 10, "valid_days": 30, "sponsor": sponsor}
    bulk = upsert(VoucherType, {"key": f"bulk-{run}"}, {"name": "Bulk codes", **common}, actor)
    till = upsert(VoucherType, {"key": f"till-{run}"}, {"name": "Till vouchers", **common}, actor)
    return actor, bulk, till


def bench_bulk_issue(actor, voucher_type, count: int) -> float:
    from vouchers.models import Voucher
    from vouchers.services import issue_voucher

    started = time.perf_counter()
    result = issue_voucher(voucher_type=voucher_type, actor=actor, count=count, source="bench")
    elapsed = time.perf_counter() - started
    stored = Voucher.objects.filter(batch=result.batch).count()
    assert stored == count == len(set(result.tokens)), (stored, count)
    return elapsed


def bench_conversions(actor, voucher_type, count: int, threads: int) -> tuple[float, float, list[float]]:
    from django.db import connections
    from rest_framework.test import APIClient

    from loyalty.models import ApiClient
    from loyalty.services import issue_api_key
    from vouchers.models import Voucher
    from vouchers.services import issue_voucher

    tokens = issue_voucher(voucher_type=voucher_type, actor=actor, count=count, source="bench").tokens
    client, _ = ApiClient.objects.get_or_create(name="bench", defaults={"scopes": ["read", "write"]})
    _, raw_key = issue_api_key(client=client, actor=actor)
    shares = [tokens[i::threads] for i in range(threads)]
    latencies: list[list[float]] = [[] for _ in range(threads)]
    failures: list[str] = []
    barrier = threading.Barrier(threads + 1)

    def caller(index: int) -> None:
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw_key}")
        api.get(f"/api/v1/voucher/{tokens[0]}/info")  # warm up: key lookup, URL resolver, serializers
        barrier.wait()
        for token in shares[index]:
            start = time.perf_counter()
            response = api.post(
                f"/api/v1/voucher/{token}/convert", {"channel": "store", "reference": f"bench-{index}"}, format="json"
            )
            latencies[index].append(time.perf_counter() - start)
            if response.status_code != 200:
                failures.append(f"{response.status_code} {response.content[:200]!r}")
        connections.close_all()

    workers = [threading.Thread(target=caller, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    barrier.wait()
    started, cpu = time.perf_counter(), time.process_time()
    for worker in workers:
        worker.join()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    if failures:
        sys.exit(f"{len(failures)} conversions failed, e.g. {failures[0]}")
    assert Voucher.objects.filter(token__in=tokens, status="converted").count() == count
    return elapsed, cpu, sorted(x for share in latencies for x in share)


def percentile(values: list[float], fraction: float) -> float:
    return values[min(len(values) - 1, int(len(values) * fraction))]


def main() -> None:
    args = parse_args()
    print(f"load average before: {', '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    url = os.environ.get("DATABASE_URL", "")
    name = database_name(url)
    if args.fresh:
        drop_database(url, name)
    ensure_database(url, name)
    setup_django()
    from django.db import connection

    run = time.strftime("%Y%m%d%H%M%S")
    actor, bulk, till = program(run)
    from vouchers.models import Voucher

    print(
        f"PostgreSQL {connection.cursor().connection.info.server_version}, database {name}, run {run}, "
        f"{Voucher.objects.count():,} vouchers stored before"
    )

    elapsed = bench_bulk_issue(actor, bulk, args.codes)
    rate = args.codes / elapsed
    verdict = "meets" if rate >= 20_000 else "MISSES"
    print(f"bulk issue: {args.codes:,} codes in {elapsed:.2f} s = {rate:,.0f} codes/s ({verdict} the 20,000/s target)")

    elapsed, cpu, latencies = bench_conversions(actor, till, args.conversions, args.threads)
    print(
        f"conversions through the API: {args.conversions:,} by {args.threads} threads in {elapsed:.2f} s = "
        f"{args.conversions / elapsed:,.0f} conversions/s; latency p50 {statistics.median(latencies) * 1000:.1f} ms, "
        f"p95 {percentile(latencies, 0.95) * 1000:.1f} ms, p99 {percentile(latencies, 0.99) * 1000:.1f} ms; "
        f"{cpu / args.conversions * 1000:.1f} ms of this process's CPU per conversion (one process: the GIL caps it)"
    )
    connection.close()
    if args.drop:
        drop_database(url, name)
        print(f"dropped database {name}")


if __name__ == "__main__":
    main()
