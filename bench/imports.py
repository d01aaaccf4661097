"""Benchmark: a CSV membership import (queue + worker) and a CSV export, on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/loyalty_dev .venv/bin/python bench/imports.py

It creates its own database (`loyalty_imports_bench` on the same server; the one in DATABASE_URL is
only used to reach the server and is never touched), migrates it, sets up a program, writes a CSV
of N members (default 20,000) to a temporary file, then times, with eager tasks (the worker runs
in this process, as `CELERY_BROKER_URL` unset does):

- queueing: the file streamed, parsed and stored as an ImportBatch with its ImportRecords;
- processing: the worker claiming chunks and enrolling each member through the enrollment service
  (validation, membership, card, audit entry, event);
- the export of those memberships as CSV through the streaming writer.

It prints rows/s for each and drops the database (`--keep` keeps it; `--members N` to change N).
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
# This file is bench/imports.py: keep its folder off the import path, or `import imports` would
# find this script instead of the app.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
BENCH_DB = "loyalty_imports_bench"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument(
        "--transactions", type=int, default=0, help="also import N transactions through the rules engine and ledger"
    )
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database afterwards")
    return parser.parse_args()


def server_url(url: str, dbname: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{dbname}", parts.query, parts.fragment))


def run_sql(url: str, statement: str) -> None:
    import psycopg

    with psycopg.connect(server_url(url, "postgres"), autocommit=True) as conn:
        conn.execute(statement)


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = server_url(url, BENCH_DB)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ["DEBUG"] = "false"
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
    records = (
        (
            i + 1,
            {
                "txId": f"B-{i}",
                "receiptId": f"R-{i}",
                "membershipKey": numbers[i % len(numbers)],
                "channel": "webshop",
                "occurredAt": "2025-01-01T10:00:00+00:00",
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
    tasks.process_import_batch.delay(batch.pk)
    seconds = time.perf_counter() - started
    batch.refresh_from_db()
    assert batch.ok_count == count, (batch.ok_count, batch.failed_count)
    return seconds


def write_csv(path: Path, members: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(["firstName", "lastName", "email", "birthDate", "city", "country", "cardNumber"])
        for i in range(members):
            writer.writerow(
                [f"First{i}", f"Last{i}", f"member{i}@example.com", "1980-05-17", "Utrecht", "NL", f"7{i:012d}"]
            )


def main() -> int:
    args = parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        print("Set DATABASE_URL=postgres://... (the benchmark runs on PostgreSQL).")
        return 2
    run_sql(url, f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
    run_sql(url, f"CREATE DATABASE {BENCH_DB}")
    try:
        setup_django(url)
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        program()

        from imports import tasks
        from imports.exports import csv_stream, filters_of, get_template, ordering
        from imports.parsing import CsvUpload
        from imports.registry import get_type
        from imports.services import queue_batch, queueing
        from loyalty.actors import Actor
        from memberships.models import Membership

        n = args.members
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "members.csv"
            write_csv(path, n)
            size = path.stat().st_size
            import_type = get_type("memberships")
            enqueue, queueing.enqueue = queueing.enqueue, lambda batch: None  # time the worker apart
            started = time.perf_counter()
            with path.open("rb") as raw:
                upload = CsvUpload(raw, import_type)
                batch = queue_batch(
                    import_type=import_type,
                    records=upload.records(),
                    actor=Actor.for_system("bench"),
                    source="csv",
                    columns=upload.header,
                )
            queue_seconds = time.perf_counter() - started
            queueing.enqueue = enqueue
        started = time.perf_counter()
        tasks.process_import_batch.delay(batch.pk)  # eager: runs here, as without a broker
        work_seconds = time.perf_counter() - started
        batch.refresh_from_db()
        assert batch.status == "completed" and batch.ok_count == n, (batch.status, batch.ok_count, batch.failed_count)
        assert Membership.objects.count() == n

        template = get_template("memberships")
        started = time.perf_counter()
        rows = 0
        bytes_out = 0
        for text in csv_stream(template.columns, template.rows(filters_of({}), ordering(template, {}))):
            rows += 1
            bytes_out += len(text)
        export_seconds = time.perf_counter() - started

        total = queue_seconds + work_seconds
        print(f"members: {n:,} ({size / 1e6:.1f} MB CSV, `;`-separated)")
        print(f"queue (stream, parse, store records): {queue_seconds:.2f} s = {n / queue_seconds:,.0f} rows/s")
        rate = n / work_seconds
        print(f"worker (validate, write in bulk; refusals via the service): {work_seconds:.2f} s = {rate:,.0f} rows/s")
        print(f"import end to end: {total:.2f} s = {n / total:,.0f} rows/s")
        print(f"export memberships as CSV: {export_seconds:.2f} s = {(rows - 1) / export_seconds:,.0f} rows/s")
        if args.transactions:
            catalog()
            seconds = time_transactions(args.transactions)
            print(
                f"transactions (rules engine + ledger, one by one): {args.transactions:,} in {seconds:.2f} s = "
                f"{args.transactions / seconds:,.0f} rows/s"
            )
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            run_sql(url, f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
