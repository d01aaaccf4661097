"""Benchmark: a CSV membership import (queue + one real worker) and a CSV export of bookings, on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/imports.py \
        [--members 1000000] [--bookings 1000000] [--worker celery|eager] [--processes 2] \
        [--broker redis://127.0.0.1:6379/7] [--db loyalty_imports_bench] [--transactions N] [--keep]

It creates its own database (`--db`, default `loyalty_imports_bench`, on the server of DATABASE_URL,
whose own database is never touched), migrates it, sets up a program, and then:

1. Import. Writes a `;`-separated CSV of `--members` members (default 1,000,000) to a temporary
   file, streams it through the upload parser into `queue_batch` (the records stored with COPY),
   and lets one worker apply it. With `--worker celery` (the default) that worker is a real Celery
   worker started here as a subprocess (`--processes N`, default 2: `celery -A config worker --pool
   prefork --concurrency N` with IMPORT_TASKS_PER_BATCH=N, so N tasks share the batch, as the
   settings' default of 2 does; `--processes 1`: `--pool solo`, one process) on the broker
   `--broker` (Redis, default redis://127.0.0.1:6379/7); the batch is queued the way the API queues
   it (`transaction.on_commit` -> `process_import_batch.delay`) and this process polls the batch
   until it is completed. With `--worker eager` the worker runs in this process, as when
   CELERY_BROKER_URL is unset. Prints rows/s for storing (stream, parse, COPY),
   for the worker (from the commit that queued it to `completed`: claim, validate, enroll in bulk,
   audit, events, outcomes) and end to end.
2. Export. Seeds `--bookings` earn bookings (default 1,000,000) of the real shape (a booking, a
   member posting, a system posting and a lot each, member accounts with balances) with
   INSERT ... SELECT on the server, then runs the `bookings` export template as CSV in a fresh
   subprocess, through the same streaming writer as `GET /exports/bookings?format=csv` (server-side
   cursor, 2,000 rows per fetch), encoding every chunk. Prints rows/s and the subprocess's peak
   memory (RSS high-water mark, `resource.getrusage`).
3. With `--transactions N`: N transaction records through the rules engine and ledger (the type's bulk
   writer, transactions.bulk.book_many, a chunk of IMPORT_LEDGER_CHUNK_SIZE at a time), in this process.

4. With `--member-lock N` (issue 19, item 3): N alternate-id records for one member, applied by the worker
   (`--worker`, as in 1.) while this process posts `POST /api/v1/tx` for that member one after another
   through Django's test client (the web's lock and statement timeouts apply): prints the bookings' p50, p99
   and slowest answer (target: p99 under 1 s), their statuses, and the import's records/s. Each record locks
   the member; the worker commits every IMPORT_LOCK_BUDGET_MS (100 ms).

Then it drops the database (`--keep` keeps it). `--members 0` or `--bookings 0` skips a part.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
# This file is bench/imports.py: keep its folder off the import path, or `import imports` would
# find this script instead of the app.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
BENCH_DB = "loyalty_imports_bench"
BROKER = "redis://127.0.0.1:6379/7"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=1_000_000, help="membership records to import (0: skip)")
    parser.add_argument("--bookings", type=int, default=1_000_000, help="bookings to export as CSV (0: skip)")
    parser.add_argument("--worker", choices=["celery", "eager"], default="celery", help="how the import worker runs")
    parser.add_argument("--broker", default=BROKER, help="broker of the Celery worker (--worker celery)")
    parser.add_argument(
        "--processes",
        type=int,
        default=2,
        help="processes of the one Celery worker (1: --pool solo; more: prefork with as many tasks per batch)",
    )
    parser.add_argument("--db", default=BENCH_DB, help="name of the benchmark database (created and dropped)")
    parser.add_argument(
        "--transactions", type=int, default=0, help="also import N transactions through the rules engine and ledger"
    )
    parser.add_argument(
        "--member-lock", type=int, default=0, help="import N alternate ids for one member while booking for it"
    )
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database afterwards")
    parser.add_argument("--export-only", action="store_true", help=argparse.SUPPRESS)  # the export subprocess
    return parser.parse_args()


def server_url(url: str, dbname: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{dbname}", parts.query, parts.fragment))


def run_sql(url: str, statement: str) -> None:
    import psycopg

    with psycopg.connect(server_url(url, "postgres"), autocommit=True) as conn:
        conn.execute(statement)


def setup_django(url: str, dbname: str = BENCH_DB, broker: str = "") -> None:
    os.environ["DATABASE_URL"] = server_url(url, dbname)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ.setdefault("LOYALTY_PROCESS_ROLE", "command")  # seeding: no request timeouts
    os.environ["DEBUG"] = "false"
    if broker:
        os.environ["CELERY_BROKER_URL"] = broker
    else:
        os.environ.pop("CELERY_BROKER_URL", None)
    import django

    django.setup()


def program() -> None:
    from ledger.models import PointType
    from loyalty.actors import Actor
    from loyalty.models import MembershipType, Sponsor
    from loyalty.services import save_configuration

    actor = Actor.for_system("bench")
    save_configuration(MembershipType(key="consumer", name="Consumer", is_default=True), actor=actor)
    save_configuration(Sponsor(key="shop", name="Shop", is_default=True), actor=actor)
    save_configuration(PointType(key="points", name="Points", is_main=True, precision=2), actor=actor)


def catalog() -> None:
    from loyalty.actors import Actor
    from loyalty.models import Sponsor
    from promotions.catalog_services import save_channel, save_product
    from promotions.services import save_promotion

    actor = Actor.for_system("bench")
    shop = Sponsor.objects.get(key="shop")
    channel = save_channel(key="webshop", name="Web shop", kind="webshop", sponsor=shop, actor=actor)
    save_product(channel=channel, key="COF-001", name="Espresso", price="6.49", actor=actor)
    definition = {
        "pointType": "points",
        "base": True,
        "effects": [{"type": "perAmount", "points": "1", "per": "1", "lines": "all"}],
    }
    save_promotion(key="base", name="1 point per euro", definition=definition, actor=actor)


def time_transactions(count: int) -> float:
    """Queue `count` transactions (JSON records, one line item each) for the first members; run them."""
    from imports import tasks
    from imports.registry import get_type
    from imports.services import queue_batch, queueing
    from loyalty.actors import Actor
    from memberships.models import Membership

    numbers = list(Membership.objects.order_by("id").values_list("number", flat=True)[: max(count // 5, 1)])
    # Recent, within TX_MAX_AGE_DAYS (a fixed date would drift out of it).
    occurred_at = (datetime.now(UTC) - timedelta(days=30)).replace(hour=10, minute=0, second=0, microsecond=0)
    occurred_at = occurred_at.isoformat()
    records = (
        (
            i + 1,
            {
                "txId": f"B-{i}",
                "receiptId": f"R-{i}",
                "membershipKey": numbers[i % len(numbers)],
                "channel": "webshop",
                "occurredAt": occurred_at,
                "totalAmount": "6.49",
                "currency": "EUR",
                "items": [{"productKey": "COF-001", "quantity": "1", "unitPrice": "6.49", "amount": "6.49"}],
            },
        )
        for i in range(count)
    )
    enqueue, queueing.enqueue = queueing.enqueue, lambda batch: None
    batch = queue_batch(
        import_type=get_type("transactions"), records=records, actor=Actor.for_system("bench"), source="json"
    )
    queueing.enqueue = enqueue
    started = time.perf_counter()
    tasks.process_import_batch.apply((batch.pk,))  # in this process, with or without a broker
    seconds = time.perf_counter() - started
    batch.refresh_from_db()
    assert batch.ok_count == count, (batch.ok_count, batch.failed_count)
    return seconds


def time_member_lock(args: argparse.Namespace, url: str, folder: Path) -> None:
    """An import of alternate ids for one member, and POST /tx for that member meanwhile."""
    import threading

    from django.conf import settings
    from django.db import connections
    from django.test import Client
    from django.utils import timezone

    from imports import tasks
    from imports.models import ImportBatch
    from imports.registry import get_type
    from imports.services import queue_batch, queueing
    from loyalty.actors import Actor
    from loyalty.services import create_api_client, issue_api_key
    from memberships.services.enrollment import enroll_membership

    actor = Actor.for_system("bench")
    member = enroll_membership(actor=actor, first_name="Locked", last_name="Member", email="locked@example.com")
    _, raw = issue_api_key(client=create_api_client(name="till", scopes=["read", "write"], actor=actor), actor=actor)
    records = (
        (line, {"membershipKey": member.number, "type": "legacy", "value": f"L{line:08d}"})
        for line in range(1, args.member_lock + 1)
    )
    enqueue, queueing.enqueue = queueing.enqueue, lambda batch: None
    batch = queue_batch(import_type=get_type("alternateIds"), records=records, actor=actor, source="json")
    queueing.enqueue = enqueue
    celery = args.worker == "celery"
    worker = start_worker(url, args.db, args.broker, folder / "lock-worker.log", args.processes) if celery else None
    thread = None
    try:
        started = time.perf_counter()
        if worker is not None:
            queueing.enqueue(batch)  # as the API queues it: IMPORT_TASKS_PER_BATCH tasks on the broker
        else:

            def work() -> None:
                try:
                    tasks.process_import_batch.apply((batch.pk,))
                finally:
                    connections.close_all()

            thread = threading.Thread(target=work)
            thread.start()
        client = Client(HTTP_AUTHORIZATION=f"Api-Key {raw}")
        with connections["default"].cursor() as cursor:  # this process seeds without them: a web process's timeouts
            cursor.execute(
                "SELECT set_config('lock_timeout', %s, false), set_config('statement_timeout', %s, false)",
                [f"{settings.DATABASE_LOCK_TIMEOUT}s", f"{settings.DATABASE_STATEMENT_TIMEOUT}s"],
            )
        latencies, statuses, n = [], {}, 0
        while ImportBatch.objects.filter(pk=batch.pk).values_list("status", flat=True).get() in ("queued", "running"):
            n += 1
            body = {
                "txId": f"lock-{n}",
                "receiptId": f"lock-{n}",
                "membershipKey": member.number,
                "channel": "webshop",
                "occurredAt": timezone.now().isoformat(),
                "totalAmount": "6.49",
                "currency": "EUR",
                "items": [{"productKey": "COF-001", "quantity": "1", "unitPrice": "6.49", "amount": "6.49"}],
            }
            begin = time.perf_counter()
            response = client.post("/api/v1/tx", json.dumps(body), content_type="application/json")
            latencies.append(time.perf_counter() - begin)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            time.sleep(0.02)
        seconds = time.perf_counter() - started
    finally:
        if thread is not None:
            thread.join()
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=30)
    batch.refresh_from_db()
    ordered = sorted(latencies)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000 if ordered else float("nan")

    print(
        f"member lock: {args.member_lock:,} alternate ids for one member ({batch.status}, {batch.ok_count:,} ok) in "
        f"{seconds:.1f} s = {batch.ok_count / seconds:,.0f} records/s; meanwhile POST /tx for that member "
        f"{len(latencies)} times: p50 {at(0.5):.0f} ms, p99 {at(0.99):.0f} ms, slowest {at(1.0):.0f} ms, "
        f"statuses {statuses} (target: p99 under 1,000 ms)"
    )


def write_csv(path: Path, members: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(["firstName", "lastName", "email", "birthDate", "city", "country", "cardNumber"])
        for i in range(members):
            writer.writerow(
                [f"First{i}", f"Last{i}", f"member{i}@example.com", "1980-05-17", "Utrecht", "NL", f"7{i:012d}"]
            )


def start_worker(url: str, dbname: str, broker: str, log: Path, processes: int = 1) -> subprocess.Popen:
    """One real Celery worker on the benchmark database (one process with the solo pool, or a prefork
    pool of `processes`); returns once it is ready."""
    env = {**os.environ, "DATABASE_URL": server_url(url, dbname), "CELERY_BROKER_URL": broker, "DEBUG": "false"}
    celery = Path(sys.executable).with_name("celery")
    pool = ["--pool", "solo"] if processes == 1 else ["--pool", "prefork", "--concurrency", str(processes)]
    # --purge: tasks a previous run left on the broker (e.g. a re-check scheduled by a task that ended
    # while another still held chunks) would otherwise run against this run's batch ids.
    command = [str(celery), "-A", "config", "worker", *pool, "--purge", "--loglevel", "INFO"]
    handle = log.open("w")
    worker = subprocess.Popen(command, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while " ready." not in log.read_text():
        if worker.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"The Celery worker did not start:\n{log.read_text()[-2000:]}")
        time.sleep(0.2)
    return worker


def time_import(args: argparse.Namespace, url: str, folder: Path) -> None:
    from imports import tasks
    from imports.models import ImportBatch
    from imports.parsing import CsvUpload
    from imports.registry import get_type
    from imports.services import queue_batch
    from loyalty.actors import Actor
    from memberships.models import Membership

    n = args.members
    path = folder / "members.csv"
    write_csv(path, n)
    size = path.stat().st_size
    celery = args.worker == "celery"
    worker = start_worker(url, args.db, args.broker, folder / "worker.log", args.processes) if celery else None
    try:
        import_type = get_type("memberships")
        started = time.perf_counter()
        with path.open("rb") as raw:
            upload = CsvUpload(raw, import_type)
            # queue_batch commits, then (on_commit) queues the worker: on the broker, or, eager, it
            # runs the whole batch before returning. The store time is taken apart in that case.
            if worker is None:
                from imports.services import queueing

                enqueue, queueing.enqueue = queueing.enqueue, lambda batch: None
            batch = queue_batch(
                import_type=import_type,
                records=upload.records(),
                actor=Actor.for_system("bench"),
                source="csv",
                columns=upload.header,
            )
        stored = time.perf_counter()
        if worker is None:
            queueing.enqueue = enqueue
            tasks.process_import_batch.delay(batch.pk)
        while True:
            status = ImportBatch.objects.filter(pk=batch.pk).values_list("status", flat=True).get()
            if status not in ("queued", "running"):
                break
            if worker is not None and worker.poll() is not None:
                raise RuntimeError("The Celery worker died.")
            time.sleep(0.2)
        done = time.perf_counter()
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(30)
    shares = (
        [  # each worker task's part of the batch, from the worker's log
            line.split("succeeded in")[1].strip()
            for line in (folder / "worker.log").read_text().splitlines()
            if "process_import_batch" in line and "succeeded in" in line
        ]
        if worker is not None
        else []
    )
    batch.refresh_from_db()
    assert batch.status == "completed" and batch.ok_count == n, (batch.status, batch.ok_count, batch.failed_count)
    assert Membership.objects.count() == n
    store_seconds, work_seconds, total = stored - started, done - stored, done - started
    how = f"celery, {args.processes} process(es)" if worker is not None else "eager, in this process"
    print(f"members: {n:,} ({size / 1e6:.1f} MB CSV, `;`-separated); worker: {how}")
    print(f"store (stream, parse, COPY the records): {store_seconds:.2f} s = {n / store_seconds:,.0f} rows/s")
    print(
        f"worker (validate, enroll in bulk, audit, events, outcomes): {work_seconds:.2f} s = "
        f"{n / work_seconds:,.0f} rows/s"
    )
    print(f"import end to end: {total:.2f} s = {n / total:,.0f} rows/s")
    if shares:
        print("worker tasks:", "; ".join(shares))


SEED_BOOKINGS = [
    # One member account (points) per membership, up to the number of bookings; the shop's issued account.
    """INSERT INTO ledger_account (kind, point_type_id, membership_id, sponsor_id, balance, created_at)
       SELECT 'member', %(point_type)s, id, NULL, 0, now() FROM memberships_membership
       ORDER BY id LIMIT %(accounts)s""",
    """INSERT INTO ledger_account (kind, point_type_id, membership_id, sponsor_id, balance, created_at)
       VALUES ('issued', %(point_type)s, NULL, %(sponsor)s, 0, now()) ON CONFLICT DO NOTHING""",
    """CREATE TEMP TABLE bench_accounts AS
       SELECT id, membership_id, row_number() OVER (ORDER BY id) AS rn FROM ledger_account WHERE kind = 'member'""",
    "CREATE UNIQUE INDEX ON bench_accounts (rn)",
    "CREATE UNIQUE INDEX ON bench_accounts (membership_id)",
    "ANALYZE bench_accounts",
    # Earn bookings spread over a year, one receipt each, round-robin over the accounts.
    """INSERT INTO ledger_booking (kind, sponsor_id, membership_id, idempotency_key, request_hash, receipt_id, tx_id,
           reverses_id, line_ref, reason, reference, actor_label, metadata, created_at, effective_at)
       SELECT 'earn', %(sponsor)s, a.membership_id, '', '', 'SEED-R-' || g, 'SEED-T-' || g, NULL, '', '', 'bench',
              'bench', '{}'::jsonb, t, t
       FROM generate_series(1, %(bookings)s) AS g
       JOIN bench_accounts AS a ON a.rn = (g - 1) %% %(accounts)s + 1
       CROSS JOIN LATERAL (SELECT timestamptz '2025-01-01' + g * interval '30 seconds' AS t) AS at""",
    """INSERT INTO ledger_posting (booking_id, account_id, amount)
       SELECT b.id, a.id, 100 + b.id %% 900 FROM ledger_booking AS b JOIN bench_accounts AS a USING (membership_id)
       WHERE b.actor_label = 'bench'""",
    """INSERT INTO ledger_posting (booking_id, account_id, amount)
       SELECT b.id, s.id, -(100 + b.id %% 900) FROM ledger_booking AS b
       JOIN ledger_account AS s ON s.kind = 'issued' AND s.sponsor_id = %(sponsor)s AND s.point_type_id = %(point_type)s
       WHERE b.actor_label = 'bench'""",
    """INSERT INTO ledger_lot (account_id, booking_id, sponsor_id, line_ref, original, remaining, matures_at,
           expires_at, state, maturity_notified, expiry_notified, created_at)
       SELECT a.id, b.id, b.sponsor_id, '', 100 + b.id %% 900, 100 + b.id %% 900, b.created_at, NULL, 'active',
              false, false, b.created_at
       FROM ledger_booking AS b JOIN bench_accounts AS a USING (membership_id) WHERE b.actor_label = 'bench'""",
    """UPDATE ledger_account AS a SET balance = s.total
       FROM (SELECT account_id, sum(amount) AS total FROM ledger_posting GROUP BY account_id) AS s
       WHERE a.id = s.account_id AND a.kind = 'member'""",
    "DROP TABLE bench_accounts",
    "ANALYZE",
]


def seed_bookings(count: int) -> float:
    from django.db import connection, transaction

    from ledger.models import PointType
    from loyalty.actors import Actor
    from loyalty.models import Sponsor
    from memberships.models import Membership
    from memberships.services import enroll_many

    missing = 1 - Membership.objects.count()
    if missing > 0:  # --members 0: a member to book on
        enroll_many(actor=Actor.for_system("bench"), members=[{"first_name": "B", "last_name": "B", "email": "b@b.bb"}])
    accounts = min(Membership.objects.count(), count)
    params = {
        "point_type": PointType.objects.get(key="points").pk,
        "sponsor": Sponsor.objects.get(key="shop").pk,
        "accounts": accounts,
        "bookings": count,
    }
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        for statement in SEED_BOOKINGS[:-1]:
            cursor.execute(statement, params)
    with connection.cursor() as cursor:
        cursor.execute(SEED_BOOKINGS[-1])
    return time.perf_counter() - started


def export_bookings() -> None:
    """The export subprocess: stream the bookings template as CSV; print rows, seconds, peak RSS."""
    from imports.exports import csv_stream, filters_of, get_template, ordering

    template = get_template("bookings")
    started = time.perf_counter()
    rows = bytes_out = 0
    for text in csv_stream(template.columns, template.rows(filters_of({}), ordering(template, {}))):
        rows += 1
        bytes_out += len(text.encode("utf-8"))
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kilobytes on Linux
    print(json.dumps({"rows": rows - 1, "seconds": seconds, "bytes": bytes_out, "peak": peak}))


def time_export(args: argparse.Namespace) -> None:
    seconds = seed_bookings(args.bookings)
    print(f"seeded {args.bookings:,} bookings (booking, 2 postings, lot each) in {seconds:.1f} s")
    command = [sys.executable, __file__, "--export-only", "--db", args.db]
    done = subprocess.run(command, cwd=ROOT, env=os.environ, capture_output=True, text=True, check=True)
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    rows, seconds = figures["rows"], figures["seconds"]
    assert rows == args.bookings, (rows, args.bookings)
    print(
        f"export {rows:,} bookings as CSV ({figures['bytes'] / 1e6:.0f} MB): {seconds:.2f} s = {rows / seconds:,.0f} "
        f"rows/s, peak memory (RSS) {figures['peak'] / 1e6:.0f} MB"
    )


def main() -> int:
    args = parse_args()
    if args.worker == "celery":
        os.environ["IMPORT_TASKS_PER_BATCH"] = str(args.processes)  # queued here, read by the worker too
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        print("Set DATABASE_URL=postgres://... (the benchmark runs on PostgreSQL).")
        return 2
    if args.export_only:
        setup_django(url, args.db)
        export_bookings()
        return 0
    run_sql(url, f"DROP DATABASE IF EXISTS {args.db} WITH (FORCE)")
    run_sql(url, f"CREATE DATABASE {args.db}")
    try:
        celery = args.worker == "celery" and (args.members or args.member_lock)
        setup_django(url, args.db, args.broker if celery else "")
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        program()
        with tempfile.TemporaryDirectory() as folder:
            if args.members:
                time_import(args, url, Path(folder))
            if args.member_lock:
                catalog()
                time_member_lock(args, url, Path(folder))
        if args.bookings:
            time_export(args)
        if args.transactions:
            if not args.member_lock:
                catalog()
            seconds = time_transactions(args.transactions)
            print(
                f"transactions (rules engine + ledger, in bulk per chunk): {args.transactions:,} in {seconds:.2f} s = "
                f"{args.transactions / seconds:,.0f} rows/s"
            )
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            run_sql(url, f"DROP DATABASE IF EXISTS {args.db} WITH (FORCE)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
