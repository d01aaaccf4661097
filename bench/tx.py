"""Benchmark: POST /api/v1/tx with booking under gunicorn on PostgreSQL, against a minimal view.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/tx.py

It creates its own database (`loyalty_bench_tx`, or the name in BENCH_DB, on the server DATABASE_URL
names; the database in the URL is only used to reach the server and is never touched), migrates it
and seeds, through the services: a web shop with 200 products in 10 departments, 20 active promotions (base earning,
status points, category multipliers and bonuses, a weekend multiplier, happy hours, a gold-tier
bonus, a big-basket bonus, a brand bonus, per-transaction, per-member and budget caps), silver and
gold tiers on the status points, 1,000 members and an API key.

Then it starts gunicorn (config.wsgi with config/gunicorn.conf.py, sync workers,
DJANGO_ENV=production with DEBUG off; the clients say X-Forwarded-Proto: https as a
TLS-terminating proxy would) with bench/tx_settings.py,
whose BENCH_ROOT_URLCONF selects bench/tx_urls.py: the project's URLs plus a minimal Django view
that locks an account row, updates it and inserts one history row. 16 client threads (http.client,
a new connection per request: sync workers do not keep connections alive) then post:

  (a) the minimal view, each client on its own account row;
  (b) POST /api/v1/tx with a unique txId, a 20-line basket (--lines) of random products and a random member
      of the 1,000 (10% of the baskets carry the property the budget-capped promotion asks for);
  (c) the same baskets without a txId: a dry run, which reads and evaluates as a booking does and
      writes nothing, so (c)/(a) shows how far any faster write path could take (b)/(a);
  (d) a plain view (bench/tx_urls.py) that writes again, as the parameters of one prepared
      statement, every row one of (b)'s booked transactions wrote: the transaction, lines, rewards,
      ledger booking, postings, lots, movements, member balances, audit entries and events. No
      platform code runs, so (d)/(a) shows what storing those rows alone allows on this machine;
and it prints requests/s, p50 and p99 of each, and the ratio (b)/(a) (target: at least 50%); the
CPU the gunicorn workers and the PostgreSQL backends spent per request, and what the backends were
doing (pg_stat_activity sampled every 50 ms: on CPU, waiting for a lock, or idle in transaction,
i.e. waiting for Python). Last, it checks what was booked (every 201 is one Transaction;
ledger.verify() finds nothing), times both views in this process one request at a time (CPU,
queries) and, with --profile N, runs N bookings through the full Django stack (test client, one
process) under cProfile and prints the top costs. The database is dropped at the end (--keep).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import http.client
import io
import json
import os
import pstats
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
# This file is bench/tx.py, beside bench/ledger.py and bench/memberships.py: keep bench/ off the
# import path, or `import ledger` / `import memberships` would find those scripts instead of the apps.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != HERE]
# BENCH_DB names another database, so that two people on one server can each run the benchmark.
BENCH_DB = os.environ.get("BENCH_DB", "loyalty_bench_tx")
if not BENCH_DB.isidentifier() or not BENCH_DB.isascii():
    raise SystemExit(f"BENCH_DB={BENCH_DB!r}: give a plain database name (letters, digits, _).")
DEPARTMENTS = ["coffee", "tea", "bakery", "dairy", "fruit", "household", "snacks", "drinks", "frozen", "deli"]
BRANDS = ["Northwind", "Green Leaf", "Bakehouse", "Fjord", "Orchard", "Sparkle", "Crunch", "Polar"]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=15.0, help="measuring time per figure (default 15)")
    parser.add_argument("--warmup", type=float, default=3.0, help="unmeasured seconds before each figure")
    parser.add_argument("--clients", type=int, default=16, help="client threads (default 16)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers (default 4)")
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--products", type=int, default=200)
    parser.add_argument("--lines", type=int, default=20, help="items per basket (default 20)")
    parser.add_argument("--profile", type=int, default=0, help="profile N bookings in one process afterwards")
    parser.add_argument("--keep", action="store_true", help=f"keep the {BENCH_DB} database afterwards")
    parser.add_argument(
        "--webhooks",
        type=int,
        default=0,
        help="register N webhook endpoints subscribed to every event first (the booking must not slow down)",
    )
    parser.add_argument(
        "--in-process", action="store_true", help="skip gunicorn: only the in-process cost (and --profile)"
    )
    return parser.parse_args()


# Database ------------------------------------------------------------------------------------


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
    os.environ["DEBUG"] = "false"  # no per-query logging in connection.queries
    os.environ.pop("CELERY_BROKER_URL", None)
    import django

    django.setup()


# Seeding -------------------------------------------------------------------------------------


def promotions() -> list[tuple[str, str, dict[str, Any]]]:
    """(key, name, definition): 20 promotions of the kinds a retailer runs at once."""

    def department(key: str) -> dict[str, Any]:
        return {"fact": "line.category.department", "op": "eq", "value": key}

    rows: list[tuple[str, str, dict[str, Any]]] = [
        (
            "base",
            "1 point per euro",
            {"pointType": "points", "base": True, "effects": [{"type": "perAmount", "points": "1", "per": "1"}]},
        ),
        (
            "status",
            "1 status point per euro",
            {"pointType": "status", "effects": [{"type": "perAmount", "points": "1", "per": "1", "lines": "all"}]},
        ),
    ]
    for key in DEPARTMENTS[:6]:  # multipliers on the base of one department's lines
        rows.append(
            (
                f"double-{key}",
                f"Double points on {key}",
                {
                    "pointType": "points",
                    "condition": {"lines": "any", "where": department(key)},
                    "effects": [{"type": "multiplier", "factor": "2", "lines": "qualifying"}],
                    "priority": 50,
                },
            )
        )
    for key in DEPARTMENTS[6:9]:  # per-item bonuses
        rows.append(
            (
                f"items-{key}",
                f"5 points per {key} item",
                {
                    "pointType": "points",
                    "condition": {"lines": "any", "where": department(key)},
                    "effects": [{"type": "perItem", "points": "5", "lines": "qualifying"}],
                },
            )
        )
    rows += [
        (
            "deli-capped",
            "2 points per euro at the deli, at most 10 per purchase",
            {
                "pointType": "points",
                "condition": {"lines": "any", "where": department("deli")},
                "effects": [{"type": "perAmount", "points": "2", "per": "1", "lines": "qualifying"}],
                "caps": {"perTransaction": "10"},
            },
        ),
        (
            "weekend",
            "50% more at the weekend",
            {
                "pointType": "points",
                "validity": {"weekdays": [6, 7]},
                "effects": [{"type": "multiplier", "factor": "1.5", "lines": "all"}],
            },
        ),
        (
            "happy-hours",
            "10 points before ten",
            {
                "pointType": "points",
                "validity": {"hours": ["07:00", "10:00"]},
                "effects": [{"type": "fixed", "points": "10"}],
            },
        ),
        (
            "gold-bonus",
            "Gold members: 25% more",
            {
                "pointType": "points",
                "scope": {"tiers": ["gold"]},
                "effects": [{"type": "multiplier", "factor": "1.25", "lines": "all"}],
            },
        ),
        (
            "big-basket",
            "50 points from 100 euro",
            {
                "pointType": "points",
                "condition": {"fact": "tx.totalAmount", "op": "gte", "value": "100"},
                "effects": [{"type": "fixed", "points": "50"}],
            },
        ),
        (
            "brand-polar",
            "3 points per euro of Polar",
            {
                "pointType": "points",
                "condition": {"lines": "any", "where": {"fact": "line.brand", "op": "eq", "value": "Polar"}},
                "effects": [{"type": "perAmount", "points": "3", "per": "1", "lines": "qualifying"}],
            },
        ),
        (
            "daily-visit",
            "25 points a visit, 50 a day at most",
            {
                "pointType": "points",
                "effects": [{"type": "fixed", "points": "25"}],
                "caps": {"perMember": [{"period": "day", "points": "50"}]},
            },
        ),
        (
            "spring-campaign",
            "Spring campaign: 100 points while the budget lasts",
            {
                "pointType": "points",
                "condition": {"fact": "tx.properties.campaign", "op": "eq", "value": "spring"},
                "effects": [{"type": "fixed", "points": "100"}],
                "caps": {"budget": "100000000"},
            },
        ),
        (
            "no-cash-bonus",
            "20 points when not paying cash",
            {
                "pointType": "points",
                "condition": {"not": {"fact": "tx.paymentMethod", "op": "eq", "value": "cash"}},
                "effects": [{"type": "fixed", "points": "20"}],
            },
        ),
    ]
    return rows


def seed(args: argparse.Namespace) -> dict[str, Any]:
    from django.db import connection

    from ledger.models import PointType
    from loyalty.actors import Actor
    from loyalty.models import MembershipType, Program, Sponsor, Tier
    from loyalty.services import create_api_client, issue_api_key, save_configuration
    from memberships.services.enrollment import enroll_membership
    from promotions.catalog_services import save_category_value, save_channel, save_master_category, save_product
    from promotions.services import save_promotion

    actor = Actor.for_system("bench")
    rng = random.Random(7)
    program = Program.current()
    if args.webhooks:
        from webhooks.services import create_endpoint

        for n in range(args.webhooks):  # no worker runs here: the outbox rows the bookings write are their source
            create_endpoint(url=f"https://hooks.example.com/{n}", event_types=["*"], actor=actor)
    program.time_zone = "Europe/Amsterdam"
    save_configuration(program, actor=actor)
    save_configuration(MembershipType(key="consumer", name="Consumer", is_default=True), actor=actor)
    sponsor = save_configuration(Sponsor(key="shop", name="Shop", is_default=True), actor=actor)
    save_configuration(PointType(key="points", name="Points", is_main=True, precision=2), actor=actor)
    save_configuration(
        PointType(key="status", name="Status", redeemable=False, transferable=False, counts_for_tiers=True),
        actor=actor,
    )
    save_configuration(Tier(key="silver", name="Silver", rank=1, qualification_threshold=500), actor=actor)
    save_configuration(Tier(key="gold", name="Gold", rank=2, qualification_threshold=2000), actor=actor)

    started = time.perf_counter()
    channel = save_channel(key="webshop", name="Web shop", kind="webshop", sponsor=sponsor, actor=actor)
    master = save_master_category(key="department", name="Department", actor=actor)
    for key in DEPARTMENTS:
        save_category_value(master=master, channel=channel, key=key, name=key.title(), actor=actor)
    products = []
    for i in range(args.products):
        price = Decimal(rng.randrange(49, 1999)) / 100
        key = f"P-{i:04d}"
        save_product(
            channel=channel,
            key=key,
            name=f"Product {i}",
            brand=BRANDS[i % len(BRANDS)],
            price=price,
            categories={"department": DEPARTMENTS[i % len(DEPARTMENTS)]},
            actor=actor,
        )
        products.append((key, price))
    for key, name, definition in promotions():
        save_promotion(key=key, name=name, definition=definition, actor=actor)
    catalog_took = time.perf_counter() - started

    started = time.perf_counter()
    run = uuid.uuid4().hex[:6]
    members = [
        enroll_membership(actor=actor, first_name="Bench", last_name=f"Tx{i}", email=f"tx-{run}-{i}@example.com").number
        for i in range(args.members)
    ]
    members_took = time.perf_counter() - started

    client = create_api_client(name=f"bench-{run}", scopes=["read", "write"], actor=actor)
    _, raw_key = issue_api_key(client=client, actor=actor)
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_account (id integer PRIMARY KEY, balance bigint NOT NULL DEFAULT 0)")
        cursor.execute(
            "CREATE TABLE bench_history (id bigserial PRIMARY KEY, account_id integer NOT NULL "
            "REFERENCES bench_account (id), amount bigint NOT NULL, created_at timestamptz NOT NULL)"
        )
        cursor.execute("CREATE INDEX bench_history_account ON bench_history (account_id)")
        cursor.execute(
            "INSERT INTO bench_account (id, balance) SELECT g, 0 FROM generate_series(1, %s) g", [args.clients]
        )
        cursor.execute("ANALYZE")
    print(
        f"seeded {args.products} products and {len(promotions())} promotions in {catalog_took:.1f} s, "
        f"{args.members} members in {members_took:.1f} s"
    )
    return {"key": raw_key, "members": members, "products": products, "lines": args.lines}


# Requests ------------------------------------------------------------------------------------


def basket(rng: random.Random, products: list[tuple[str, Decimal]], lines: int) -> tuple[list[dict[str, str]], Decimal]:
    items, total = [], Decimal(0)
    for key, price in rng.sample(products, lines):
        quantity = rng.choice((1, 1, 1, 2, 3))
        amount = price * quantity
        total += amount
        items.append({"productKey": key, "quantity": str(quantity), "unitPrice": str(price), "amount": str(amount)})
    return items, total


class TxBodies:
    """POST /api/v1/tx bodies: unique txIds, random members and baskets (one generator per client)."""

    def __init__(self, data: dict[str, Any], client: int, run: str, *, dry_run: bool = False):
        self.rng = random.Random(client)
        self.data, self.client, self.run, self.n = data, client, run, 0
        self.dry_run = dry_run

    def __call__(self) -> tuple[str, bytes]:
        self.n += 1
        tx_id = f"B-{self.run}-{self.client}-{self.n}"
        items, total = basket(self.rng, self.data["products"], self.data["lines"])
        body = {
            "txId": tx_id,
            "receiptId": tx_id,
            "membershipKey": self.rng.choice(self.data["members"]),
            "channel": "webshop",
            "occurredAt": (_now() - timedelta(seconds=30)).isoformat(),
            "totalAmount": str(total),
            "currency": "EUR",
            "paymentMethod": self.rng.choice(("card", "card", "cash")),
            "items": items,
        }
        if self.rng.random() < 0.1:
            body["properties"] = {"campaign": "spring"}
        if self.dry_run:
            del body["txId"]
        return "/api/v1/tx", json.dumps(body).encode()


def _now():
    from django.utils import timezone

    return timezone.now()


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run_clients(
    port: int, clients: int, warmup: float, seconds: float, make: Callable[[int], Callable[[], tuple[str, bytes]]]
) -> dict[str, Any]:
    """`clients` threads post make(client)() in a loop; the answers that arrive within the measuring
    window count (throughput), with their whole latency."""
    headers_base = {"Content-Type": "application/json", "X-Forwarded-Proto": "https", "Host": "127.0.0.1"}
    extra = getattr(make, "headers", {})
    expected = getattr(make, "status", 201)
    window: dict[str, float] = {}
    stop = threading.Event()
    latencies: list[list[float]] = [[] for _ in range(clients)]
    failures: list[str] = []
    answered = [0] * clients  # every answer with the expected status, warm-up and overrun included
    barrier = threading.Barrier(clients + 1)

    def client(c: int) -> None:
        next_body = make(c)
        barrier.wait()
        while not stop.is_set():
            path, body = next_body()
            begin = time.perf_counter()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            try:
                conn.request("POST", path, body=body, headers={**headers_base, **extra})
                response = conn.getresponse()
                payload = response.read()
            finally:
                conn.close()
            end = time.perf_counter()
            if response.status != expected:
                failures.append(f"{response.status} {payload[:300]!r}")
                continue
            answered[c] += 1
            if window.get("start", float("inf")) <= end <= window.get("end", float("-inf")):
                latencies[c].append(end - begin)

    threads = [threading.Thread(target=client, args=(c,), daemon=True) for c in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    time.sleep(warmup)
    window["start"] = time.perf_counter()
    window["end"] = window["start"] + seconds
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join(timeout=120)
    done = [x for per in latencies for x in per]
    return {
        "requests": len(done),
        "rate": len(done) / seconds,
        "p50": percentile(done, 0.50) * 1000,
        "p99": percentile(done, 0.99) * 1000,
        "failures": failures,
        "answered": sum(answered),
    }


# What the server does meanwhile ----------------------------------------------------------------


def templates(run: str, count: int) -> list[int]:
    """Booked transactions of `count` different members, for the write-set view to copy: one member
    per client, so the clients do not queue for each other's account rows (as in the minimal view)."""
    from transactions.models import Transaction

    ids = (
        Transaction.objects.filter(tx_id__startswith=f"B-{run}-")
        .order_by("membership_id", "id")
        .distinct("membership_id")
        .values_list("id", flat=True)[:count]
    )
    return list(ids)


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of these processes so far (Linux /proc), in seconds."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def worker_pids(master: int) -> list[int]:
    with contextlib.suppress(OSError):
        return [int(p) for p in Path(f"/proc/{master}/task/{master}/children").read_text().split()]
    return []


class Watcher:
    """Samples what this database's backends wait for (pg_stat_activity) and counts CPU of the
    gunicorn workers and the backends, between start() and stop()."""

    def __init__(self, url: str, master: int):
        self.url, self.master = server_url(url, BENCH_DB), master
        self.waits: dict[str, int] = {}
        self.samples = 0
        self._stop = threading.Event()

    def _backends(self, conn) -> list[int]:
        query = "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        return [row[0] for row in conn.execute(query)]

    def _sample(self) -> None:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self._stop.wait(0.05):
                rows = conn.execute(
                    "SELECT state, wait_event_type, wait_event FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
                ).fetchall()
                self.samples += 1
                for state, kind, event in rows:
                    label = f"{state}: {kind}/{event}" if kind else f"{state}: on CPU"
                    self.waits[label] = self.waits.get(label, 0) + 1

    def start(self) -> None:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            self.backends = self._backends(conn)
        self.workers = worker_pids(self.master)
        self.cpu = (cpu_seconds(self.workers), cpu_seconds(self.backends), time.perf_counter())
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def stop(self) -> dict[str, Any]:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            backends = sorted(set(self.backends) | set(self._backends(conn)))
        self._stop.set()
        self._thread.join()
        workers, postgres, started = self.cpu
        return {
            "workers_cpu": cpu_seconds(self.workers) - workers,
            "postgres_cpu": cpu_seconds(backends) - postgres,
            "elapsed": time.perf_counter() - started,
            "waits": {k: v / max(1, self.samples) for k, v in sorted(self.waits.items(), key=lambda kv: -kv[1])},
        }


# gunicorn ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(url: str, workers: int, port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": server_url(url, BENCH_DB),
        "DJANGO_SETTINGS_MODULE": "bench.tx_settings",
        "BENCH_ROOT_URLCONF": "bench.tx_urls",
        "DJANGO_ENV": "production",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOYALTY_PROCESS_ROLE": "web",  # the request timeouts, as in production (this process seeds without)
        "STATIC_ROOT": tempfile.mkdtemp(prefix="bench-tx-static-"),  # whitenoise wants the folder to exist
        # Every request takes a token as in production (in Redis with BENCH_REDIS, else in each worker's
        # cache), from a bucket the 16 clients never empty: the check's cost is measured, never a refusal.
        "API_RATE_LIMIT": "1000000/s",
        "API_RATE_LIMIT_REDIS_URL": os.environ.get("BENCH_REDIS", ""),
    }
    env.pop("CELERY_BROKER_URL", None)
    command = [
        str(Path(sys.executable).parent / "gunicorn"),  # beside this Python: the same virtualenv
        "config.wsgi:application",
        "--config",
        str(ROOT / "config" / "gunicorn.conf.py"),  # the production settings: see that file
        "--chdir",
        str(ROOT),
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        "sync",
        "--backlog",
        "512",
        "--log-level",
        "warning",
    ]
    process = subprocess.Popen(command, env=env, cwd=ROOT, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}")
        with contextlib.suppress(OSError):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("POST", "/bench/minimal/1", headers={"X-Forwarded-Proto": "https", "Host": "127.0.0.1"})
            if conn.getresponse().status == 201:
                conn.close()
                return process
        time.sleep(0.2)
    stop_gunicorn(process)
    raise RuntimeError("gunicorn did not answer within 30 s")


def stop_gunicorn(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)  # its own session: the master and its workers
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


# In-process cost ---------------------------------------------------------------------------


def in_process_cost(data: dict[str, Any], count: int = 30) -> dict[str, tuple[float, float, int]]:
    """CPU ms and wall ms per request of this process, and queries per request, through the test client."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    clients = {
        "minimal": (Client(), lambda: ("/bench/minimal/1", b'{"amount": 1}')),
        "tx": (
            Client(HTTP_AUTHORIZATION=f"Api-Key {data['key']}"),
            TxBodies(data, 998, "cost-" + uuid.uuid4().hex[:6]),
        ),
        "dry run": (
            Client(HTTP_AUTHORIZATION=f"Api-Key {data['key']}"),
            TxBodies(data, 997, "cost-" + uuid.uuid4().hex[:6], dry_run=True),
        ),
    }
    costs = {}
    for label, (client, next_body) in clients.items():
        status = 200 if label == "dry run" else 201
        for _ in range(5):  # warm-up
            path, body = next_body()
            client.post(path, body, content_type="application/json", headers={"X-Forwarded-Proto": "https"})
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(count):
            path, body = next_body()
            response = client.post(path, body, content_type="application/json", headers={"X-Forwarded-Proto": "https"})
            if response.status_code != status:
                raise RuntimeError(f"{path}: {response.status_code} {response.content[:300]!r}")
        wall, cpu = (time.perf_counter() - wall) / count * 1000, (time.process_time() - cpu) / count * 1000
        path, body = next_body()
        with CaptureQueriesContext(connection) as queries:
            client.post(path, body, content_type="application/json", headers={"X-Forwarded-Proto": "https"})
        costs[label] = (cpu, wall, len(queries))
    return costs


# Profile -------------------------------------------------------------------------------------


def profile(data: dict[str, Any], count: int) -> str:
    """`count` bookings through the whole Django stack in this process, under cProfile."""
    from django.test import Client

    http_client = Client(HTTP_AUTHORIZATION=f"Api-Key {data['key']}")
    bodies = TxBodies(data, 999, "prof-" + uuid.uuid4().hex[:6])
    for _ in range(20):  # warm caches (compiled promotions, imports)
        path, body = bodies()
        http_client.post(path, body, content_type="application/json")
    profiler = cProfile.Profile()
    started = time.perf_counter()
    for _ in range(count):
        path, body = bodies()
        profiler.enable()
        response = http_client.post(path, body, content_type="application/json")
        profiler.disable()
        if response.status_code != 201:
            raise RuntimeError(f"profiled request failed: {response.status_code} {response.content[:300]!r}")
    took = time.perf_counter() - started
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).sort_stats("cumulative")
    out.write("--- the project's functions, by cumulative time ---\n")
    stats.print_stats(r"^(?!.*site-packages).*/(loyalty|ledger|promotions|memberships|vouchers)/", 30)
    out.write("--- everything, by own time ---\n")
    stats.sort_stats("tottime").print_stats(20)
    return f"{count} bookings in one process: {took / count * 1000:.1f} ms each (wall, under the profiler)\n" + (
        out.getvalue()
    )


# Main ----------------------------------------------------------------------------------------


def main() -> int:
    args = parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        print("Set DATABASE_URL=postgres://... (the benchmark makes its own database on that server).")
        return 2
    total = time.perf_counter()
    recreate_database(url)
    process = None
    try:
        setup_django(url)
        from django.core.management import call_command
        from django.db import connection, connections

        from ledger.models import Booking
        from ledger.verify import verify
        from transactions.models import Transaction

        started = time.perf_counter()
        call_command("migrate", verbosity=0)
        print(f"migrated {BENCH_DB} in {time.perf_counter() - started:.1f} s", flush=True)
        data = seed(args)
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            server = cursor.fetchone()[0]
        connections.close_all()
        if args.in_process:
            from django.conf import settings
            from django.urls import clear_url_caches

            settings.ROOT_URLCONF = "bench.tx_urls"
            clear_url_caches()
            for label, (cpu, wall, queries) in in_process_cost(data).items():
                print(f"    {label:8} {cpu:6.1f} ms CPU, {wall:6.1f} ms wall, {queries:4} queries per request")
            if args.profile:
                print(profile(data, args.profile))
            return 0

        port = free_port()
        process = start_gunicorn(url, args.workers, port)
        run = uuid.uuid4().hex[:6]
        print(
            f"\nPostgreSQL {server}; gunicorn with {args.workers} sync workers; {args.clients} client threads; "
            f"{args.lines}-line baskets; "
            f"{args.warmup:g} s warm-up + {args.seconds:g} s per figure; {os.cpu_count()} CPUs, "
            f"load average {os.getloadavg()[0]:.1f}",
            flush=True,
        )

        def minimal(c: int) -> Callable[[], tuple[str, bytes]]:
            return lambda: (f"/bench/minimal/{c + 1}", b'{"amount": 1}')

        def tx(c: int) -> Callable[[], tuple[str, bytes]]:
            return TxBodies(data, c, run)

        def dry_run(c: int) -> Callable[[], tuple[str, bytes]]:
            return TxBodies(data, 100 + c, run, dry_run=True)

        def write_set(c: int) -> Callable[[], tuple[str, bytes]]:
            bodies = TxBodies(data, 200 + c, run)
            return lambda: (f"/bench/write-set/{write_set.templates[c]}", bodies()[1])  # type: ignore[attr-defined]

        tx.headers = {"Authorization": f"Api-Key {data['key']}"}  # type: ignore[attr-defined]
        dry_run.headers = tx.headers  # type: ignore[attr-defined]
        dry_run.status = 200  # type: ignore[attr-defined]
        from django.conf import settings
        from django.urls import clear_url_caches

        settings.ROOT_URLCONF = "bench.tx_urls"  # the in-process figures call the minimal view too
        clear_url_caches()
        results = {}
        figures = (
            ("minimal view (lock, update, insert)", minimal),
            ("POST /api/v1/tx, booking", tx),
            ("POST /api/v1/tx, dry run (no txId)", dry_run),
            ("a booking's rows, one statement", write_set),
        )
        for label, make in figures:
            if make is write_set:
                write_set.templates = templates(run, args.clients)  # type: ignore[attr-defined]
            watcher = Watcher(url, process.pid)
            watcher.start()
            results[label] = run_clients(port, args.clients, args.warmup, args.seconds, make)
            results[label]["server"] = watcher.stop()
        stop_gunicorn(process)
        process = None

        print(f"\n{'':40}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'requests':>10}{'failed':>8}")
        for label, r in results.items():
            print(
                f"{label:40}{r['rate']:>8.0f}{r['p50']:>9.1f}{r['p99']:>9.1f}{r['requests']:>10}{len(r['failures']):>8}"
            )
        minimal_rate, tx_rate, dry_rate, rows_rate = (r["rate"] for r in results.values())
        ratio = tx_rate / minimal_rate if minimal_rate else 0
        print(f"ratio tx / minimal: {ratio:.0%} (target >= 50%): {'ok' if ratio >= 0.5 else 'BELOW TARGET'}")
        print(
            f"ratio dry run / minimal: {dry_rate / minimal_rate if minimal_rate else 0:.0%} (the same requests "
            "without the writes: about as far as a faster write path could take the booking)"
        )
        print(
            f"ratio booking's rows / minimal: {rows_rate / minimal_rate if minimal_rate else 0:.0%} (the rows a "
            "booking writes, in one statement from a plain view: what storing them alone allows)"
        )
        for label, r in results.items():
            for failure in r["failures"][:3]:
                print(f"  {label} failed: {failure}")
        print("\nserver side, per request answered (warm-up included), and what the backends were doing:")
        for label, r in results.items():
            server, answered = r["server"], max(1, r["answered"])
            print(
                f"  {label}: gunicorn workers {server['workers_cpu'] / answered * 1000:.1f} ms CPU, "
                f"PostgreSQL backends {server['postgres_cpu'] / answered * 1000:.1f} ms CPU; "
                f"machine load average {os.getloadavg()[0]:.1f}"
            )
            waits = ", ".join(f"{k} {v:.1f}" for k, v in list(server["waits"].items())[:6])
            print(f"    backends by state (average count): {waits}")

        booked = Transaction.objects.filter(tx_id__startswith=f"B-{run}-").count()
        answered = results["POST /api/v1/tx, booking"]["answered"]
        started = time.perf_counter()
        violations = verify()
        print(
            f"\n{answered} answers 201, {booked} transactions booked "
            f"({Booking.objects.filter(kind='earn').count()} earn bookings); "
            f"verify(): {len(violations)} violations ({time.perf_counter() - started:.1f} s)"
        )
        print("\nin this process, one request at a time (test client; no HTTP, no gunicorn):")
        for label, (cpu, wall, queries) in in_process_cost(data).items():
            print(f"    {label:8} {cpu:6.1f} ms CPU, {wall:6.1f} ms wall, {queries:4} queries per request")
        if args.profile:
            print()
            print(profile(data, args.profile))
        print(f"total run {time.perf_counter() - total:.0f} s, load average {os.getloadavg()[0]:.1f} at the end")
        failed = any(r["failures"] for r in results.values()) or violations or booked != answered
        return 1 if failed else 0
    finally:
        if process is not None:
            stop_gunicorn(process)
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        if not args.keep:
            drop_database(url)


if __name__ == "__main__":
    sys.exit(main())
