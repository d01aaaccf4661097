"""Ledger benchmark on PostgreSQL: redemptions, earns of one sponsor, a long statement.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/loyalty_bench_ledger .venv/bin/python bench/ledger.py

Creates its database if missing (the name must contain "bench": nothing else is ever touched),
migrates it, seeds members and bookings through the services, then prints:

  (a) redeem_points per second with 1, 4 and 16 workers on distinct members, 16 on one member;
  (b) earn_points per second for distinct members of ONE sponsor with 1, 2, 4 and 8 workers,
      beside a control that locks the sponsor's `issued` account in every booking: the ledger's
      system accounts are never locked, so its figure should not flatten the way the control does;
  (c) p50/p99 of GET /api/v1/deposits/{key}/statement for a member with 10,000 bookings: the
      first page of 100 entries and a page deep in the history (cursor), through the test client;
  then ledger.verify.verify() over the whole database: the number of violations (must be 0).

Workers are threads of this process (as asked), then forked processes: the services spend about
10 ms of Python per booking, so threads share one GIL and only processes can use both cores.
Every worker uses its own database connection and closes it at its end.

Options: --seconds N per figure (default 5); --repeat N, the best of N runs per figure (a busy
machine only ever slows a run); --reset to drop and recreate the benchmark database first.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
# This file is bench/ledger.py, beside bench/memberships.py: keep bench/ off the import path, or
# `import ledger` / `import memberships` would find these scripts instead of the apps.
HERE = Path(__file__).resolve().parent
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != HERE]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("LOYALTY_PROCESS_ROLE", "command")  # seeding: no request timeouts
os.environ.setdefault("DEBUG", "false")  # no per-query logging in connection.queries

STATEMENT_BOOKINGS = 10_000
STATEMENT_EMAIL = "bench-statement@example.com"
REQUESTS_PER_PAGE = 200


# Database ------------------------------------------------------------------------------------


def ensure_database(url: str, *, reset: bool) -> str:
    """Create the benchmark database if missing; connects to `postgres` for that, nothing else."""
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql", "pgsql"}:
        sys.exit("bench/ledger.py measures PostgreSQL: set DATABASE_URL=postgres://...")
    name = unquote(parts.path.lstrip("/"))
    if "bench" not in name:
        sys.exit(f"Refusing to use database {name!r}: its name must contain 'bench' (the benchmark writes to it).")
    conninfo = {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 5432,
        "user": unquote(parts.username or "postgres"),
        "dbname": "postgres",
        "autocommit": True,
    }
    if parts.password:
        conninfo["password"] = unquote(parts.password)
    with psycopg.connect(**conninfo) as conn:
        if reset:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"created database {name}")
    return name


# Seeding -------------------------------------------------------------------------------------


def configure() -> dict[str, Any]:
    from ledger.models import PointType
    from loyalty.actors import Actor
    from loyalty.models import MembershipType, Sponsor
    from loyalty.services import save_configuration

    actor = Actor.for_system("bench")
    if not MembershipType.objects.filter(key="consumer").exists():
        save_configuration(MembershipType(key="consumer", name="Consumer", is_default=True), actor=actor)
    sponsor = Sponsor.objects.filter(key="shop").first() or save_configuration(
        Sponsor(key="shop", name="Shop", is_default=True), actor=actor
    )
    points = PointType.objects.filter(key="points").first() or save_configuration(
        PointType(key="points", name="Points", is_main=True, precision=2), actor=actor
    )
    return {"actor": actor, "sponsor": sponsor, "points": points}


def new_members(count: int, label: str, cfg: dict[str, Any], *, points: int = 0) -> list[Any]:
    """Members enrolled for this run, each credited `points` (minor units) in one earn."""
    from ledger.services import EarnLine, earn_points
    from memberships.services.enrollment import enroll_membership

    run = uuid.uuid4().hex[:8]
    members = []
    for i in range(count):
        member = enroll_membership(
            actor=cfg["actor"], first_name="Bench", last_name=f"{label}{i}", email=f"{label}-{run}-{i}@example.com"
        )
        if points:
            earn_points(
                membership=member, sponsor=cfg["sponsor"], lines=[EarnLine(cfg["points"], points)], actor=cfg["actor"]
            )
        members.append(member)
    return members


def statement_member(cfg: dict[str, Any]) -> Any:
    """The member with 10,000 bookings: one earn then 99 redemptions, a hundred times; kept across runs."""
    from ledger.models import Posting
    from ledger.services import EarnLine, earn_points, redeem_points
    from memberships.models import Membership
    from memberships.services.enrollment import enroll_membership

    member = Membership.objects.filter(email=STATEMENT_EMAIL).first()
    if member is None:
        member = enroll_membership(actor=cfg["actor"], first_name="Long", last_name="History", email=STATEMENT_EMAIL)
    have = Posting.objects.filter(account__membership=member).count()
    if have >= STATEMENT_BOOKINGS:
        print(f"statement member {member.number}: {have} bookings already seeded")
        return member
    started = time.perf_counter()
    for i in range(have, STATEMENT_BOOKINGS):
        if i % 100 == 0:
            earn_points(
                membership=member,
                sponsor=cfg["sponsor"],
                lines=[EarnLine(cfg["points"], 100_000)],
                receipt_id=f"STMT-{i}",
                actor=cfg["actor"],
            )
        else:
            redeem_points(
                membership=member,
                points=1_000,
                point_type=cfg["points"],
                sponsor=cfg["sponsor"],
                reference=f"order {i}",
                actor=cfg["actor"],
            )
    took = time.perf_counter() - started
    print(
        f"seeded statement member {member.number}: {STATEMENT_BOOKINGS - have} bookings in {took:.0f} s "
        f"({(STATEMENT_BOOKINGS - have) / took:.0f}/s, one thread)"
    )
    return member


# Measuring -----------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _loop(op: Callable[[int, int], None], worker: int, stop: Any, latencies: list[float]) -> None:
    i = 0
    while not stop.is_set():
        begin = time.perf_counter()
        op(worker, i)
        latencies.append(time.perf_counter() - begin)
        i += 1


def _summary(latencies: list[float], elapsed: float) -> dict[str, Any]:
    return {
        "ops": len(latencies),
        "rate": len(latencies) / elapsed,
        "p50": percentile(latencies, 0.50) * 1000,
        "p99": percentile(latencies, 0.99) * 1000,
    }


def run_threads(threads: int, seconds: float, op: Callable[[int, int], None]) -> dict[str, Any]:
    """op(worker, i) in `threads` threads of this process for `seconds`, each with its own connection."""
    from django.db import connections

    barrier = threading.Barrier(threads + 1)
    latencies: list[list[float]] = [[] for _ in range(threads)]
    errors: list[BaseException] = []
    stop = threading.Event()

    def worker(t: int) -> None:
        try:
            barrier.wait()
            _loop(op, t, stop, latencies[t])
        except BaseException as exc:  # reported after the run
            errors.append(exc)
            stop.set()
        finally:
            connections.close_all()

    pool = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
    for thread in pool:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for thread in pool:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{len(errors)} thread(s) failed") from errors[0]
    return _summary([x for per in latencies for x in per], elapsed)


def run_processes(processes: int, seconds: float, op: Callable[[int, int], None]) -> dict[str, Any]:
    """The same in forked processes: no shared GIL, so the figure can use every core."""
    import multiprocessing

    from django.db import connections

    connections.close_all()  # a child must never inherit (and later close) the parent's connection
    ctx = multiprocessing.get_context("fork")
    barrier, stop, results = ctx.Barrier(processes + 1), ctx.Event(), ctx.Queue()

    def child(p: int) -> None:
        latencies: list[float] = []
        try:
            barrier.wait()
            _loop(op, p, stop, latencies)
            results.put((latencies, None))
        except BaseException as exc:
            stop.set()
            results.put((latencies, repr(exc)))
        finally:
            connections.close_all()

    pool = [ctx.Process(target=child, args=(p,)) for p in range(processes)]
    for process in pool:
        process.start()
    barrier.wait()
    started = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    gathered = [results.get(timeout=120) for _ in pool]
    elapsed = time.perf_counter() - started
    for process in pool:
        process.join()
    failures = [error for _, error in gathered if error]
    if failures:
        raise RuntimeError(f"{len(failures)} process(es) failed: {failures[0]}")
    return _summary([x for latencies, _ in gathered for x in latencies], elapsed)


RUNNERS = {"threads": run_threads, "processes": run_processes}
REPEAT = 1  # --repeat: each figure is the best of this many runs (a busy machine only ever slows a run)


def measure(mode: str, workers: int, seconds: float, op: Callable[[int, int], None]) -> dict[str, Any]:
    runs = [RUNNERS[mode](workers, seconds, op) for _ in range(REPEAT)]
    return max(runs, key=lambda r: r["rate"])


def bench_redeem(cfg: dict[str, Any], seconds: float) -> list[tuple[str, str, int, dict[str, Any]]]:
    from ledger.services import redeem_points

    distinct = new_members(16, "redeem", cfg, points=10_000_000)
    hot = new_members(1, "hot", cfg, points=100_000_000)[0]

    def redeem(member: Any) -> None:
        redeem_points(membership=member, points=1, point_type=cfg["points"], sponsor=cfg["sponsor"], actor=cfg["actor"])

    rows = []
    for mode in RUNNERS:
        for n in (1, 4, 16):
            rows.append(("distinct members", mode, n, measure(mode, n, seconds, lambda w, i: redeem(distinct[w]))))
        rows.append(("one hot member", mode, 16, measure(mode, 16, seconds, lambda w, i: redeem(hot))))
    return rows


def bench_earn(cfg: dict[str, Any], seconds: float) -> list[tuple[str, str, int, dict[str, Any]]]:
    from django.db import transaction

    from ledger.models import Account
    from ledger.services import EarnLine, earn_points
    from ledger.services.core import system_account

    members = new_members(8, "earn", cfg)
    run_id = uuid.uuid4().hex[:8]
    receipts = itertools.count()  # next() is atomic under the GIL; the pid keeps processes apart
    issued = system_account(cfg["sponsor"], cfg["points"], Account.Kind.ISSUED)
    line = [EarnLine(cfg["points"], 1_000)]

    def earn(w: int, i: int) -> None:
        earn_points(
            membership=members[w],
            sponsor=cfg["sponsor"],
            lines=line,
            receipt_id=f"E-{run_id}-{os.getpid()}-{next(receipts)}",
            actor=cfg["actor"],
        )

    def earn_with_sponsor_lock(w: int, i: int) -> None:
        """The design the ledger avoids: every booking locks the sponsor's issued account row."""
        with transaction.atomic():
            Account.objects.select_for_update().filter(pk=issued.pk).first()
            earn(w, i)

    rows = []
    for mode in RUNNERS:
        for n in (1, 2, 4, 8):
            rows.append(("distinct members", mode, n, measure(mode, n, seconds, earn)))
        for n in (1, 2, 4, 8):
            rows.append(("control: issued account locked", mode, n, measure(mode, n, seconds, earn_with_sponsor_lock)))
    return rows


def bench_statement(cfg: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    import base64

    from django.db import connection
    from django.test import Client

    from ledger.models import Posting
    from loyalty.models.clients import Scope
    from loyalty.services import create_api_client, issue_api_key

    member = statement_member(cfg)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # fresh planner statistics after seeding, as autovacuum would give
    api_client = create_api_client(
        name=f"bench-{uuid.uuid4().hex[:8]}", scopes=[Scope.READ], actor=cfg["actor"], description="bench/ledger.py"
    )
    _, raw_key = issue_api_key(client=api_client, actor=cfg["actor"])
    client = Client(HTTP_AUTHORIZATION=f"Api-Key {raw_key}")
    url = f"/api/v1/deposits/{member.number}/statement"
    ids = list(Posting.objects.filter(account__membership=member).order_by("pk").values_list("pk", flat=True))
    deep_after = ids[len(ids) - 1_000]  # the page after entry 9,000 of 10,000
    cursor = base64.urlsafe_b64encode(str(deep_after).encode()).decode()

    def measure(params: dict[str, str]) -> dict[str, Any]:
        latencies = []
        for n in range(REQUESTS_PER_PAGE + 10):
            start = time.perf_counter()
            response = client.get(url, params)
            took = time.perf_counter() - start
            if response.status_code != 200:
                raise RuntimeError(f"GET {url} {params}: {response.status_code} {response.content[:300]!r}")
            if len(response.json()["entries"]) != 100:
                raise RuntimeError(f"GET {url} {params}: expected 100 entries")
            if n >= 10:  # warm-up requests are not counted
                latencies.append(took)
        return {
            "ops": len(latencies),
            "p50": percentile(latencies, 0.50) * 1000,
            "p99": percentile(latencies, 0.99) * 1000,
            "mean": statistics.fmean(latencies) * 1000,
        }

    return [
        (f"first page, 100 of {len(ids):,} entries", measure({})),
        ("deep page, 100 entries after entry 9,000 (cursor)", measure({"cursor": cursor})),
    ]


# Main ----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="measuring time per figure (default 5)")
    parser.add_argument("--reset", action="store_true", help="drop and recreate the benchmark database first")
    parser.add_argument("--repeat", type=int, default=1, help="report the best of N runs of each figure (default 1)")
    args = parser.parse_args()
    global REPEAT
    REPEAT = max(1, args.repeat)

    url = os.environ.get("DATABASE_URL", "")
    name = ensure_database(url, reset=args.reset)
    started = time.perf_counter()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from ledger.models import Booking
    from ledger.verify import verify

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server = cursor.fetchone()[0]
    cfg = configure()

    cpus, load = os.cpu_count(), os.getloadavg()[0]
    print(f"\nLedger benchmark: PostgreSQL {server}, database {name}, {args.seconds:g} s per figure, best of {REPEAT}")
    print(f"{cpus} CPUs, load average {load:.1f} at the start (other work on the machine skews every figure)")
    statement_rows = bench_statement(cfg)
    redeem_rows = bench_redeem(cfg, args.seconds)
    earn_rows = bench_earn(cfg, args.seconds)

    line = "-" * 92
    header = f"{'':38}{'workers':>14}{'ops/s':>8}{'x1':>7}{'p50 ms':>9}{'p99 ms':>9}{'ops':>7}"
    print(f"\n{line}\n{header}\n{line}")

    def rows(title: str, results: list[tuple[str, str, int, dict[str, Any]]]) -> None:
        print(title)
        base: dict[tuple[str, str], float] = {}
        for label, mode, n, r in results:
            base.setdefault((label, mode), r["rate"])
            scale = r["rate"] / base[(label, mode)]
            workers = f"{n} {mode}"
            figures = f"{r['rate']:>8.0f}{scale:>7.2f}{r['p50']:>9.1f}{r['p99']:>9.1f}{r['ops']:>7}"
            print(f"    {label:34}{workers:>14}{figures}")

    rows("(a) redeem_points, 1 minor unit each", redeem_rows)
    rows("(b) earn_points, distinct members of ONE sponsor (x1: against 1 worker of the same kind)", earn_rows)
    print(f"(c) GET /api/v1/deposits/{{key}}/statement (test client, API key), {REQUESTS_PER_PAGE} requests each")
    for label, r in statement_rows:
        print(f"    {label:48}{'':>21}{r['p50']:>9.1f}{r['p99']:>9.1f}{r['ops']:>7}")
    print(line)

    verify_started = time.perf_counter()
    violations = verify()
    print(
        f"verify(): {len(violations)} violations over {Booking.objects.count():,} bookings "
        f"({time.perf_counter() - verify_started:.1f} s)"
    )
    for violation in violations[:20]:
        print(f"    {violation}")
    print(f"total {time.perf_counter() - started:.0f} s, load average {os.getloadavg()[0]:.1f} at the end")
    connection.close()
    if violations:
        sys.exit(1)


if __name__ == "__main__":
    main()
