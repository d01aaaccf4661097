"""Benchmark: outbox events fanned out to webhook endpoints and sent, by one worker process (issue 20).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/webhooks.py \
        [--events 10000] [--endpoints 3] [--concurrency 32] [--batch 200]

It makes its own database (`loyalty_bench_webhooks`, or BENCH_DB) on the server DATABASE_URL names, migrates
it, starts a receiver on 127.0.0.1 in a process of its own (Python's ThreadingHTTPServer, HTTP/1.1 keep-alive,
answering 200 with a small JSON body at once), registers --endpoints endpoints subscribed to `*` that post to
it, and writes --events `points.earned` events into the outbox (one transaction per 1,000, as bookings and
imports write them). Then this process does what one Celery worker process does, timed:

  (1) fan-out: webhooks.services.dispatch until the outbox is read (the deliveries written);
  (2) sending: webhooks.services.send_due until nothing is due (--concurrency requests in flight, --batch
      deliveries claimed per round, each attempt and result recorded);

and prints deliveries per second for each and for both together (target: 500 deliveries/s or more for the
whole), the receiver's count (every delivery arrived exactly once), the p50/p99 of the receiver-side latency
recorded per attempt, and the CPU this process spent per delivery. The database is dropped at the end.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import multiprocessing
import os
import pstats
import resource
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != HERE]
BENCH_DB = os.environ.get("BENCH_DB", "loyalty_bench_webhooks")
if not BENCH_DB.isidentifier() or not BENCH_DB.isascii():
    raise SystemExit(f"BENCH_DB={BENCH_DB!r}: give a plain database name (letters, digits, _).")


def server_url(url: str, dbname: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{dbname}", parts.query, parts.fragment))


def recreate_database(url: str, drop_only: bool = False) -> None:
    import psycopg

    with psycopg.connect(server_url(url, "postgres"), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        if not drop_only:
            conn.execute(f"CREATE DATABASE {BENCH_DB}")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with self.server.count.get_lock():
            self.server.count.value += 1
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "11")
        self.end_headers()
        self.wfile.write(b'{"ok":true}')

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: what the receiver saw is counted, not logged."""


def receive(port, count, ready) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.request_queue_size = 256
    server.count = count
    port.value = server.server_address[1]
    ready.set()
    server.serve_forever()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--endpoints", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=32, help="WEBHOOKS_CONCURRENCY (default 32)")
    parser.add_argument("--batch", type=int, default=200, help="WEBHOOKS_BATCH (default 200)")
    parser.add_argument("--profile", action="store_true", help="print the sending's top costs (cProfile)")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        print("Set DATABASE_URL=postgres://... (the benchmark makes its own database on that server).")
        return 2
    recreate_database(url)
    port, count, ready = multiprocessing.Value("i", 0), multiprocessing.Value("l", 0), multiprocessing.Event()
    receiver = multiprocessing.Process(target=receive, args=(port, count, ready), daemon=True)
    receiver.start()
    ready.wait(10)
    try:
        os.environ.update(
            DATABASE_URL=server_url(url, BENCH_DB),
            DJANGO_SETTINGS_MODULE="config.settings",
            LOYALTY_PROCESS_ROLE="command",
            WEBHOOKS_ALLOW_PRIVATE="true",
            WEBHOOKS_CONCURRENCY=str(args.concurrency),
            WEBHOOKS_BATCH=str(args.batch),
        )
        os.environ.pop("CELERY_BROKER_URL", None)
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection, transaction

        from loyalty.actors import Actor
        from loyalty.outbox import emit_events, event_row
        from webhooks import services
        from webhooks.models import Delivery, DeliveryAttempt

        services._send_soon = lambda: None  # this process sends by itself, timed (no eager task on commit)
        call_command("migrate", verbosity=0)
        actor = Actor.for_system("bench")
        for n in range(args.endpoints):
            services.create_endpoint(
                url=f"http://127.0.0.1:{port.value}/hook/{n}", event_types=["*"], actor=actor, description=f"R{n}"
            )
        started = time.perf_counter()
        for start in range(0, args.events, 1000):
            with transaction.atomic():
                emit_events(
                    [
                        event_row("points.earned", membership_number=f"{100000 + i}", payload={"points": "12.50"})
                        for i in range(start, min(start + 1000, args.events))
                    ]
                )
        wrote = time.perf_counter() - started
        print(
            f"{args.events:,} events in the outbox ({wrote:.1f} s); {args.endpoints} endpoints subscribed to *; "
            f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}",
            flush=True,
        )

        def cpu() -> float:
            usage = resource.getrusage(resource.RUSAGE_SELF)
            return usage.ru_utime + usage.ru_stime

        cpu0, began = cpu(), time.perf_counter()
        while True:
            result = services.dispatch(limit=2000)
            if not result.more and not result.events:
                break
        fanned, cpu1 = time.perf_counter() - began, cpu()
        deliveries = Delivery.objects.count()
        sent = {"delivered": 0, "retrying": 0, "failed": 0}
        profiler = cProfile.Profile() if args.profile else None
        while True:
            if profiler:
                profiler.enable()
            totals = services.send_due(budget_seconds=60)
            if profiler:
                profiler.disable()
            for key in sent:
                sent[key] += totals[key]
            if not totals["more"] and not Delivery.objects.filter(status="pending").exists():
                break
        sending, cpu2 = time.perf_counter() - began - fanned, cpu()
        whole = fanned + sending
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT percentile_cont(ARRAY[0.5, 0.99]) WITHIN GROUP (ORDER BY duration_ms) "
                "FROM webhooks_deliveryattempt"
            )
            p50, p99 = cursor.fetchone()[0]
        print(f"\nfan-out:  {deliveries:,} deliveries in {fanned:5.1f} s = {deliveries / fanned:8,.0f} deliveries/s")
        print(f"sending:  {sent['delivered']:,} delivered in {sending:5.1f} s = {sent['delivered'] / sending:8,.0f}/s")
        failures = f"{sent['retrying']} retrying, {sent['failed']} failed"
        print(f"          ({failures}; attempts p50 {p50:.0f} ms, p99 {p99:.0f} ms)")
        print(f"receiver: {count.value:,} requests; {DeliveryAttempt.objects.count():,} attempts recorded")
        print(
            f"CPU of this process: {(cpu1 - cpu0) / deliveries * 1000:.3f} ms per delivery fanning out, "
            f"{(cpu2 - cpu1) / max(1, sent['delivered']) * 1000:.3f} ms per delivery sending"
        )
        rate = sent["delivered"] / whole
        exact = count.value == deliveries == sent["delivered"]
        print(
            f"\nwhole: {rate:,.0f} deliveries/s with one worker process (target: 500 or more): "
            f"{'met' if rate >= 500 else 'NOT met'}; each delivery arrived once: {'yes' if exact else 'NO'}"
        )
        if profiler:
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
            print(out.getvalue())
        connection.close()
        return 0 if exact else 1
    finally:
        receiver.terminate()
        recreate_database(url, drop_only=True)


if __name__ == "__main__":
    sys.exit(main())
