"""Benchmark: one API key flooding the server does not slow another key down (issue 19, item 4).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/ratelimit.py \
        [--redis redis://127.0.0.1:6379/10] [--seconds 5] [--rounds 3] [--flood 12] [--workers N] [--shared-cpus]

It makes its own database (`loyalty_bench_ratelimit`, or BENCH_DB) on the server DATABASE_URL names, migrates it,
creates two API clients, A and B, and starts gunicorn (config/gunicorn.conf.py and config/wsgi.py, sync workers,
production settings) with the rate limits' buckets in the Redis given (`API_RATE_LIMIT_REDIS_URL`) and the
default limit, `API_RATE_LIMIT=100/s` (burst 200; --limit another). Key B (its own limit off) calls
`GET /api/v1/promos/channel/data` one request after another, as a till does, and its latency is measured:

  (1) idle: B alone;
  (2) flood: A hammers the same endpoint from --flood threads in another process (a new connection per
      request, as fast as the server answers), while B goes on;
  (3) the same flood with the limit off (gunicorn restarted with API_RATE_LIMIT=off): what B saw before.

An attacker floods from a machine of its own, so by default A's client runs on a CPU of its own (the last one
this process may use) and gunicorn, B's client and this process on the others; --shared-cpus lets A's client
compete with the server for every CPU. PostgreSQL and Redis run wherever the system puts them. gunicorn gets two
sync workers per CPU it may use unless --workers says otherwise (more workers than that on one CPU share it with
the flood's refusals and slow B's every request; README, "Running in production").

Each phase runs --rounds times (idle and limited flood alternating on one server, then the unlimited floods).
It prints B's p50 and p99 per phase, the ratio of B's p50 under the flood to its idle p50 of the same round,
A's answers (200s and 429s per second) and the median ratio of the limited rounds (target: at most 3x).
The database is dropped at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import multiprocessing
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != HERE]
BENCH_DB = os.environ.get("BENCH_DB", "loyalty_bench_ratelimit")
if not BENCH_DB.isidentifier() or not BENCH_DB.isascii():
    raise SystemExit(f"BENCH_DB={BENCH_DB!r}: give a plain database name (letters, digits, _).")
PATH = "/api/v1/promos/channel/data"
HEADERS = {"X-Forwarded-Proto": "https", "Host": "127.0.0.1"}


def server_url(url: str, dbname: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{dbname}", parts.query, parts.fragment))


def recreate_database(url: str, drop_only: bool = False) -> None:
    import psycopg

    with psycopg.connect(server_url(url, "postgres"), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        if not drop_only:
            conn.execute(f"CREATE DATABASE {BENCH_DB}")


def setup(url: str) -> tuple[str, str]:
    """Migrate and make the two keys."""
    os.environ["DATABASE_URL"] = server_url(url, BENCH_DB)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ.setdefault("LOYALTY_PROCESS_ROLE", "command")  # seeding: no request timeouts
    os.environ.pop("CELERY_BROKER_URL", None)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    from loyalty.actors import Actor
    from loyalty.services import create_api_client, issue_api_key, set_api_key_rate_limits

    call_command("migrate", verbosity=0)
    actor = Actor.for_system("bench")
    keys = []
    for name in ("flooder", "till"):
        client = create_api_client(name=name, scopes=["read"], actor=actor)
        api_key, raw = issue_api_key(client=client, actor=actor)
        if name == "till":  # B's own calls, one after another, come near the limit when the server is idle
            set_api_key_rate_limits(api_key=api_key, rate_limit="off", imports_rate_limit="", actor=actor)
        keys.append(raw)
    connections.close_all()
    return keys[0], keys[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(port: int, key: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", PATH, headers={**HEADERS, "Authorization": f"Api-Key {key}"})
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def start_gunicorn(url: str, port: int, workers: int, redis: str, limit: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": server_url(url, BENCH_DB),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_ENV": "production",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOYALTY_PROCESS_ROLE": "web",  # the request timeouts, as in production (this process seeds without)
        "STATIC_ROOT": tempfile.mkdtemp(prefix="bench-ratelimit-static-"),
        "API_RATE_LIMIT": limit,
        "API_RATE_LIMIT_REDIS_URL": redis,
    }
    env.pop("CELERY_BROKER_URL", None)
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        "config.wsgi:application",
        "--config",
        str(ROOT / "config" / "gunicorn.conf.py"),
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
            conn.request("GET", "/api/v1/about", headers=HEADERS)
            if conn.getresponse().status == 200:
                conn.close()
                return process
        time.sleep(0.2)
    stop_gunicorn(process)
    raise RuntimeError("gunicorn did not answer within 30 s")


def stop_gunicorn(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def flood(port: int, key: str, threads: int, seconds: float, counts, cpus: set[int]) -> None:
    """In its own process (so its threads do not take B's client the GIL): as fast as the server answers."""
    if cpus:
        os.sched_setaffinity(0, cpus)
    stop = time.monotonic() + seconds
    lock = threading.Lock()

    def loop() -> None:
        while time.monotonic() < stop:
            try:
                status = get(port, key)
            except OSError:
                status = 0
            with lock:
                if status == 200:
                    counts[0] += 1
                elif status == 429:
                    counts[1] += 1
                else:
                    counts[2] += 1

    workers = [threading.Thread(target=loop) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")


def measure_b(port: int, key: str, seconds: float) -> dict[str, float]:
    latencies, other = [], 0
    stop = time.monotonic() + seconds
    while time.monotonic() < stop:
        begin = time.perf_counter()
        status = get(port, key)
        if status == 200:
            latencies.append(time.perf_counter() - begin)
        else:
            other += 1
    return {
        "n": len(latencies),
        "p50": percentile(latencies, 0.5) * 1000,
        "p99": percentile(latencies, 0.99) * 1000,
        "other": other,
    }


def phase(port: int, key_a: str, key_b: str, args: argparse.Namespace, flooding: bool) -> tuple[dict, list[int]]:
    counts = multiprocessing.Array("l", 3)
    process = None
    if flooding:
        process = multiprocessing.Process(
            target=flood, args=(port, key_a, args.flood, args.seconds + 1.5, counts, args.flood_cpus)
        )
        process.start()
        time.sleep(1.0)  # the flood is under way before B is measured
    figures = measure_b(port, key_b, args.seconds)
    if process is not None:
        process.join()
    return figures, list(counts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/10", help="Redis for the buckets")
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds B is measured per phase (default 5)")
    parser.add_argument("--rounds", type=int, default=3, help="idle and flood phases per server (default 3)")
    parser.add_argument("--flood", type=int, default=12, help="A's client threads (default 12)")
    parser.add_argument("--workers", type=int, help="gunicorn sync workers (default: 2 per CPU of the server)")
    parser.add_argument("--limit", default="100/s", help="API_RATE_LIMIT of the limited run (default 100/s)")
    parser.add_argument(
        "--shared-cpus",
        action="store_true",
        help="let A's client run on the server's CPUs (by default it gets a CPU of its own, as an attacker's "
        "machine would be, and gunicorn and B share the rest)",
    )
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        print("Set DATABASE_URL=postgres://... (the benchmark makes its own database on that server).")
        return 2
    cpus = sorted(os.sched_getaffinity(0))
    args.flood_cpus = set()
    if not args.shared_cpus and len(cpus) >= 2:
        args.flood_cpus = {cpus[-1]}
        os.sched_setaffinity(0, set(cpus[:-1]))  # inherited by gunicorn; B's client runs here too
    server_cpus = len(os.sched_getaffinity(0))
    args.workers = args.workers or 2 * server_cpus
    recreate_database(url)
    process = None
    try:
        key_a, key_b = setup(url)
        where = f"CPU {sorted(args.flood_cpus)[0]} of its own" if args.flood_cpus else "the server's CPUs"
        print(
            f"gunicorn with {args.workers} sync workers on {server_cpus} of {len(cpus)} CPUs; A floods from "
            f"{args.flood} threads in another process, on {where}; {args.rounds} rounds of {args.seconds:g} s per "
            f"phase; load average {os.getloadavg()[0]:.1f}",
            flush=True,
        )
        idle, limited, unlimited = [], [], []
        for limit in (args.limit, "off"):
            port = free_port()
            process = start_gunicorn(url, port, args.workers, args.redis, limit)
            for _ in range(20):  # warm every worker
                get(port, key_b)
            for _ in range(args.rounds):
                if limit != "off":
                    idle.append(phase(port, key_a, key_b, args, flooding=False))
                time.sleep(1.0)  # A's bucket of the phase before is full again
                (limited if limit != "off" else unlimited).append(phase(port, key_a, key_b, args, flooding=True))
            stop_gunicorn(process)
            process = None
        print(f"\nB: GET {PATH}, one request after another")
        ratios, rate = [], args.seconds + 1.5
        for n in range(args.rounds):
            b_idle = idle[n][0]
            print(f"  round {n + 1}  idle                 B p50 {b_idle['p50']:6.1f} ms  p99 {b_idle['p99']:7.1f} ms")
            for label, (b, (ok, refused, failed)) in (
                (f"flood, limit {args.limit}", limited[n]),
                ("flood, limit off", unlimited[n]),
            ):
                ratio = b["p50"] / b_idle["p50"]
                if label != "flood, limit off":
                    ratios.append(ratio)
                line = f"           {label:20} B p50 {b['p50']:6.1f} ms  p99 {b['p99']:7.1f} ms  x{ratio:4.1f} idle;"
                line += f"  A: {ok / rate:5.0f} 200/s, {refused / rate:5.0f} 429/s"
                print(
                    line
                    + (f", {failed} other" if failed else "")
                    + (f"; B: {b['other']} not 200" if b["other"] else "")
                )
        median = statistics.median(ratios)
        print(
            f"\nB's p50 under A's flood with the limit, median of {args.rounds} rounds: {median:.2f}x its idle p50 "
            f"(target: at most 3x): {'met' if median <= 3 else 'NOT met'}"
        )
        return 0
    finally:
        if process is not None:
            stop_gunicorn(process)
        recreate_database(url, drop_only=True)


if __name__ == "__main__":
    sys.exit(main())
