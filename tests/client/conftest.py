"""The platform as an integrator meets it: gunicorn on PostgreSQL with a real Celery worker, the demo program,
an API key, and the Python client generated from the schema by openapi-python-client (clients/generate.py)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = ["config.wsgi:application", "--workers", "2", "--timeout", "60", "--bind"]
CELERY = ["-A", "config", "worker", "-P", "solo", "-l", "warning", "--without-heartbeat", "--without-gossip"]
ON_POSTGRES = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


@dataclass
class Platform:
    url: str
    key: str


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def _database_url(name: str) -> str:
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path=f"/{name}"))


def _psql(sql: str) -> None:
    import psycopg

    with psycopg.connect(_database_url("postgres"), autocommit=True) as conn:
        conn.execute(sql)


@pytest.fixture(scope="package")
def platform(tmp_path_factory) -> Iterator[Platform]:
    """A server of its own: a scratch database with the demo program, gunicorn and a Celery worker.

    CLIENT_FLOW_URL and CLIENT_FLOW_KEY point the flow at a server already running instead."""
    if os.environ.get("CLIENT_FLOW_URL"):
        yield Platform(os.environ["CLIENT_FLOW_URL"], os.environ["CLIENT_FLOW_KEY"])
        return
    if not ON_POSTGRES or not settings.CELERY_BROKER_URL:
        pytest.skip("needs PostgreSQL and a broker (DATABASE_URL, CELERY_BROKER_URL), as .ci/run sets")
    name = f"{settings.DATABASES['default']['NAME']}_client_{os.getpid()}"
    _psql(f'DROP DATABASE IF EXISTS "{name}"')
    _psql(f'CREATE DATABASE "{name}"')
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(name),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        # One client calls as fast as it can here; the limits have tests of their own (test_rate_limit.py).
        "API_RATE_LIMIT": "off",
        "API_IMPORTS_RATE_LIMIT": "off",
        "API_ANON_RATE_LIMIT": "off",
        # Webhooks go to the flow's receiver on this machine only, whatever URLs the fuzzing registers.
        "WEBHOOKS_ALLOWED_HOSTS": "127.0.0.1",
    }
    processes: list[subprocess.Popen] = []
    try:
        _manage(env, "migrate", "--noinput", "-v0")
        _manage(env, "seed_demo")
        key = _manage(env, "create_api_key", "integrator").strip().splitlines()[-1]
        port = _free_port()
        bin_dir = Path(sys.executable).parent
        logs = tmp_path_factory.mktemp("platform")
        processes.append(
            subprocess.Popen(
                [str(bin_dir / "gunicorn"), "-c", "config/gunicorn.conf.py", *GUNICORN, f"127.0.0.1:{port}"],
                cwd=ROOT,
                env=env,
                stdout=open(logs / f"client-flow-gunicorn-{port}.log", "w"),  # noqa: SIM115
                stderr=subprocess.STDOUT,
            )
        )
        beat = ["-B", "-s", str(logs / "beat-schedule")]  # the periodic jobs too: webhooks read the outbox every 2 s
        processes.append(
            subprocess.Popen(
                [str(bin_dir / "celery"), *CELERY, *beat],
                cwd=ROOT,
                env=env,
                stdout=open(logs / f"client-flow-celery-{port}.log", "w"),  # noqa: SIM115
                stderr=subprocess.STDOUT,
            )
        )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.TransportError):  # not listening yet
                if httpx.get(f"{url}/api/v1/about", timeout=2).status_code == 200:
                    break
            assert time.monotonic() < deadline, "gunicorn did not answer within 60 s"
            time.sleep(0.3)
        yield Platform(url, key)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        _psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="package")
def loyalty_client(platform, tmp_path_factory):
    """The package generated from the schema the running server serves (a warning of the generator fails)."""
    sys.path.insert(0, str(ROOT))
    from clients.generate import generate

    folder = tmp_path_factory.mktemp("client")
    schema = folder / "schema.json"
    answer = httpx.get(f"{platform.url}/api/schema/?format=json", headers={"Authorization": f"Api-Key {platform.key}"})
    assert answer.status_code == 200, answer.text[:300]
    schema.write_bytes(answer.content)
    sys.path.insert(0, str(generate(folder / "loyalty-client", schema)))
    import loyalty_client

    return loyalty_client
