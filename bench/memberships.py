"""Benchmark: key resolution and e-mail search over 1,000,000 memberships on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/loyalty_dev .venv/bin/python bench/memberships.py

It creates its own database (`loyalty_bench` on the same server; the one in DATABASE_URL is only
used to reach the server and is never touched), migrates it, loads the memberships with a card
and alternate ids each by COPY, then times, over random members:

- key resolution (memberships.selectors.resolve_membership) by membership number, by card number
  and by alternate id value;
- the search by e-mail as GET /memberships runs it (filter, count, first page);
- the same two through HTTP (API key, DRF, JSON), for context.

Targets: p50 under 5 ms for resolution and search. It prints the figures and drops the database
(`--keep` keeps it for poking around; `--members N` for a quicker run).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
# This file is bench/memberships.py: keep its folder off the import path, or `import memberships`
# would find this script instead of the app.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
BENCH_DB = "loyalty_bench"
CHUNK = 100_000
FIRST = ["anna", "bram", "chloe", "daan", "emma", "finn", "greta", "hugo", "iris", "jens", "katja", "lars"]
LAST = ["devries", "jansen", "bakker", "visser", "smit", "meijer", "muller", "schmidt", "dubois", "rossi"]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=2_000, help="timed lookups per figure")
    parser.add_argument("--keep", action="store_true", help="keep the loyalty_bench database afterwards")
    parser.add_argument(
        "--reuse", action="store_true", help="measure again on a loyalty_bench kept by --keep (no reload)"
    )
    return parser.parse_args()


def server_url(url: str, dbname: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{dbname}", parts.query, parts.fragment))


def recreate_database(url: str) -> None:
    import psycopg

    with psycopg.connect(server_url(url, "postgres"), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {BENCH_DB}")


def drop_database(url: str) -> None:
    import psycopg

    with psycopg.connect(server_url(url, "postgres"), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = server_url(url, BENCH_DB)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ.setdefault("LOYALTY_PROCESS_ROLE", "command")  # seeding: no request timeouts
    os.environ["DEBUG"] = "false"
    os.environ.pop("CELERY_BROKER_URL", None)
    import django

    django.setup()


def luhn(body: str) -> str:
    total = 0
    for index, char in enumerate(reversed(body)):
        digit = int(char)
        if index % 2 == 0:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return body + str((10 - total % 10) % 10)


def card_of(i: int) -> str:
    return f"7{i:011d}"


def alternate_id_of(i: int) -> str:
    return f"CRM{i:08d}"


def email_of(i: int) -> str:
    return f"{FIRST[i % len(FIRST)]}.{LAST[i % len(LAST)]}.{i}@example.com"


def copy_rows(sql: str, rows: Iterator[str]) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg 3's own cursor, for COPY
        with raw.copy(sql) as copy:
            batch: list[str] = []
            for row in rows:
                batch.append(row)
                if len(batch) >= CHUNK:
                    copy.write("".join(batch))
                    batch.clear()
            if batch:
                copy.write("".join(batch))


def seed(members: int) -> dict[str, float]:
    from django.db import connection

    from loyalty.models import MembershipType

    timings: dict[str, float] = {}
    type_id = MembershipType.objects.create(key="consumer", name="Consumer", is_default=True).pk
    rng = random.Random(7)
    started = time.perf_counter()
    numbers = [luhn(str(n)) for n in rng.sample(range(10**8, 10**9), members)]
    timings["numbers"] = time.perf_counter() - started
    now = "2026-01-01 00:00:00+00"

    def membership_rows() -> Iterator[str]:
        statuses = ("active",) * 18 + ("cancelled", "anonymous")
        for i in range(1, members + 1):
            first, last = FIRST[i % len(FIRST)], LAST[i % len(LAST)]
            status = statuses[i % len(statuses)]
            email = "" if status == "anonymous" else email_of(i)
            enrolled = f"20{10 + i % 16}-{1 + i % 12:02d}-{1 + i % 28:02d} 10:00:00+00"
            yield (
                f"{i}\t{numbers[i - 1]}\t{type_id}\t{status}\t{enrolled}\tweb\t{first.title()}\t{last.title()}\t"
                f"{email}\t+3161{i:07d}\t\t\t\t\tnl\tf\t\t{{}}\t\t{now}\t{now}\n"
            )

    def card_rows() -> Iterator[str]:
        for i in range(1, members + 1):
            status = "inactive" if i % 20 == 0 else "active"
            reason = "deleted" if status == "inactive" else ""
            yield f"{i}\t{card_of(i)}\t{i}\tphysical\t{status}\t{now}\t{reason}\n"

    def alternate_id_rows() -> Iterator[str]:
        row_id = 0
        for i in range(1, members + 1):
            row_id += 1
            yield f"{row_id}\t{i}\tcrm\t{alternate_id_of(i)}\t{now}\n"
            if i % 2:
                row_id += 1
                yield f"{row_id}\t{i}\tshop\tW{i:09d}\t{now}\n"

    steps: list[tuple[str, str, Callable[[], Iterator[str]]]] = [
        (
            "memberships",
            "COPY memberships_membership (id, number, membership_type_id, status, enrolled_at, channel, first_name, "
            "last_name, email, phone, street, postal_code, city, country, language, marketing_consent, "
            "marketing_consent_source, properties, cancel_reason, created_at, updated_at) FROM STDIN",
            membership_rows,
        ),
        (
            "cards",
            "COPY memberships_card (id, number, membership_id, type, status, issued_at, deactivation_reason) "
            "FROM STDIN",
            card_rows,
        ),
        (
            "alternate_ids",
            "COPY memberships_alternateid (id, membership_id, type, value, created_at) FROM STDIN",
            alternate_id_rows,
        ),
    ]
    for name, sql, rows in steps:
        started = time.perf_counter()
        copy_rows(sql, rows())
        timings[name] = time.perf_counter() - started
        print(f"  loaded {name} in {timings[name]:.1f} s", flush=True)
    with connection.cursor() as cursor:
        for table in ("memberships_membership", "memberships_card", "memberships_alternateid"):
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        started = time.perf_counter()
        cursor.execute("VACUUM ANALYZE memberships_membership")
        cursor.execute("VACUUM ANALYZE memberships_card")
        cursor.execute("VACUUM ANALYZE memberships_alternateid")
        timings["analyze"] = time.perf_counter() - started
    return timings


def measure(fn: Callable[[int], object], keys: list[int], warmup: int = 200) -> tuple[float, float, float, float]:
    """p50, p95 and max wall time, and the median CPU time this process spent, in ms.

    The CPU figure is what the call costs here whatever else the machine runs (the database
    server's share is not in it); on a busy machine the wall time adds the wait for a core.
    """
    for i in keys[:warmup]:
        fn(i)
    samples, cpu = [], []
    for i in keys:
        started, started_cpu = time.perf_counter(), time.thread_time()
        fn(i)
        samples.append((time.perf_counter() - started) * 1000)
        cpu.append((time.thread_time() - started_cpu) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1], samples[-1], statistics.median(cpu)


def explain(sql_of: Callable[[], tuple[str, tuple]]) -> str:
    """The plan's node lines (costs dropped), to show which indexes answer."""
    import re

    from django.db import connection

    sql, params = sql_of()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        lines = [row[0] for row in cursor.fetchall()]
    nodes = [re.sub(r"\s+\(cost=.*\)$", "", line) for line in lines if "cost=" in line]
    return "\n".join(f"    {line}" for line in nodes)


def main() -> int:
    args = parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        print("Set DATABASE_URL=postgres://... (the benchmark makes its own database on that server).")
        return 2
    total = time.perf_counter()
    if not args.reuse:
        recreate_database(url)
    try:
        setup_django(url)
        from django.core.management import call_command
        from django.db import connection
        from django.test import Client

        from loyalty.actors import Actor
        from loyalty.models import ApiClient
        from loyalty.services import create_api_client, issue_api_key
        from memberships.filters import MembershipFilter
        from memberships.models import Membership
        from memberships.selectors import resolve_membership, search_memberships

        timings: dict[str, float] = {}
        if args.reuse:
            args.members = Membership.objects.order_by("-id").values_list("id", flat=True).first() or 0
            print(f"reusing {BENCH_DB} with {args.members:,} memberships")
        else:
            started = time.perf_counter()
            call_command("migrate", verbosity=0)
            print(f"migrated in {time.perf_counter() - started:.1f} s", flush=True)
            print(
                f"seeding {args.members:,} memberships, {args.members:,} cards, {args.members * 3 // 2:,} alternate ids"
            )
            started = time.perf_counter()
            timings = seed(args.members)
            seeded = time.perf_counter() - started
            rows = args.members * 3 + args.members // 2
            print(f"seeded in {seeded:.1f} s ({rows / seeded:,.0f} rows/s incl. indexes and VACUUM ANALYZE)")

        rng = random.Random(11)
        # Members with an active card and an e-mail address (ids divisible by 20 have an inactive card,
        # every 20th is anonymous).
        keys = [i for i in rng.sample(range(1, args.members + 1), args.samples * 2) if i % 20 not in (0, 19)]
        keys = keys[: args.samples]
        numbers = dict(Membership.objects.filter(id__in=keys).values_list("id", "number"))

        def search(i: int) -> int:
            # As GET /memberships runs it: the filter set, then the first page (a page that is not full
            # needs no COUNT query; see memberships.views.SearchPagination).
            queryset = MembershipFilter({"email": email_of(i)}, queryset=search_memberships()).qs
            page = list(queryset[:50])
            count = len(page) if len(page) < 50 else queryset.count()
            assert count == 1 and len(page) == 1
            return count

        def check(i: int, key: str) -> None:
            assert resolve_membership(key).number == numbers[i]

        figures = [
            ("resolve by membership number", lambda i: check(i, numbers[i])),
            ("resolve by card number", lambda i: check(i, card_of(i))),
            ("resolve by alternate id", lambda i: check(i, alternate_id_of(i))),
            ("search by e-mail (filter + page)", search),
        ]
        ApiClient.objects.filter(name="bench").delete()
        client_ = create_api_client(name="bench", scopes=["read", "write"], actor=Actor.for_system("bench"))
        _, raw_key = issue_api_key(client=client_, actor=Actor.for_system("bench"))
        http = Client(HTTP_AUTHORIZATION=f"Api-Key {raw_key}")

        def http_details(i: int) -> None:
            response = http.get(f"/api/v1/memberships/{card_of(i)}/details")
            assert response.status_code == 200, response.content

        def http_search(i: int) -> None:
            response = http.get("/api/v1/memberships", {"email": email_of(i)})
            assert response.status_code == 200 and response.json()["count"] == 1

        http_figures = [
            ("HTTP GET /memberships/{card}/details", http_details),
            ("HTTP GET /memberships?email=", http_search),
        ]

        def select_one(i: int) -> None:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")

        print()
        print(f"machine load average (1, 5, 15 min): {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
        header = f"{'operation':<40} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'cpu ms':>8}"
        print(f"{header}   (n={len(keys)}, target p50 < 5 ms)")
        p50, p95, worst, cpu = measure(select_one, keys)
        print(f"{'baseline: SELECT 1 round trip':<40} {p50:>8.2f} {p95:>8.2f} {worst:>8.2f} {cpu:>8.2f}")
        results = {}
        for name, fn in figures + http_figures:
            p50, p95, worst, cpu = measure(fn, keys)
            results[name] = p50
            target = "" if name.startswith("HTTP") else ("  ok" if p50 < 5 else "  SLOW")
            print(f"{name:<40} {p50:>8.2f} {p95:>8.2f} {worst:>8.2f} {cpu:>8.2f}{target}", flush=True)

        sample = keys[0]
        from datetime import date

        from memberships.selectors import _resolution_sql

        today = date.today()
        print()
        print("plans (EXPLAIN):")
        key = card_of(sample)
        print("  resolve (one statement for number, card and alternate id):")
        print(explain(lambda: (_resolution_sql(), (key, key, "active", today, today, key))))
        search_qs = MembershipFilter({"email": email_of(sample)}, queryset=search_memberships()).qs[:50]
        print("  search by e-mail, first page:")
        print(explain(lambda: search_qs.query.sql_with_params()))
        print()
        print(
            "load: " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in timings.items()),
            f"| total run {time.perf_counter() - total:.0f} s",
        )
        slow = [name for name, p50 in results.items() if not name.startswith("HTTP") and p50 >= 5]
        return 1 if slow else 0
    finally:
        from django.db import connections

        connections.close_all()
        if not (args.keep or args.reuse):
            drop_database(url)


if __name__ == "__main__":
    sys.exit(main())
