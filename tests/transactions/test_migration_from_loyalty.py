"""Existing databases keep their transactions when the purchase flow moved out of `loyalty/` into the
`transactions` app (transactions 0001, loyalty 0007: Django's state only, the tables keep their names).

A database is migrated and filled (the demo program, with purchases booked through /tx) by the code
of the commit before the move, taken from git history. That code reads it and takes a return from a
copy of it; then today's code migrates it forward and must answer GET /tx, /tx/rewardsHistory,
/tx/{txId}/details, /tx/{txId}/rewardsDetails and /audits exactly as before, and take the same return
with exactly the same answer and balances. Runs on the database the suite runs on (SQLite or
PostgreSQL), in databases of its own, by subprocesses (each code tree is its own Django)."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
PRE_MOVE = "8bd317ef654037f3ea2e3c302e20ab425ff34daa"  # the last commit with loyalty/tx/

SETUP = """
import io, json, sys
sys.path.insert(0, ".")
import django
django.setup()
from django.core.management import call_command
from loyalty.tx import demo
demo.TRANSACTIONS = 30
call_command("migrate", verbosity=0)
call_command("seed_demo", stdout=io.StringIO())
out = io.StringIO()
call_command("create_api_key", "migration-test", stdout=out, stderr=io.StringIO())
print(json.dumps({"key": out.getvalue().strip().splitlines()[-1]}))
"""

# Reads through the API as an integrator would (and the content types behind the permissions); with
# `return`, first returns line 1 of the first booked transaction that has two lines or more.
READ = """
import json, sys
sys.path.insert(0, ".")
import django
django.setup()
from django.contrib.contenttypes.models import ContentType
from rest_framework.test import APIClient

key, mode = sys.argv[1], sys.argv[2]
api = APIClient()
api.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")


def call(method, path, **kw):
    response = getattr(api, method)("/api/v1" + path, **kw)
    assert response.status_code in (200, 201), (path, response.status_code, response.content)
    return response.json()


listing = call("get", "/tx", data={"limit": 500})["results"]
out = {"answer": None}
if mode == "return":
    for row in listing:
        lines = call("get", f"/tx/{row['txId']}/details")["lines"]
        if row["status"] == "booked" and len(lines) >= 2:
            body = {"receiptId": row["receiptId"], "items": [{"line": 1, "quantity": lines[0]["quantity"]}]}
            out["answer"] = call("post", "/tx/reversal", data=body, format="json")
            out["member"] = row["membershipNumber"]
            break
    listing = call("get", "/tx", data={"limit": 500})["results"]
out["tx"] = listing
out["rewardsHistory"] = call("get", "/tx/rewardsHistory", data={"limit": 500})["results"]
out["details"] = {row["txId"]: call("get", f"/tx/{row['txId']}/details") for row in listing}
out["rewardsDetails"] = {row["txId"]: call("get", f"/tx/{row['txId']}/rewardsDetails") for row in listing}
if out.get("member"):
    out["accounts"] = call("get", f"/memberships/{out['member']}/accounts")
audits = call("get", "/audits", data={"objectType": "loyalty.transaction", "limit": 500})["results"]
out["audits"] = [[a["action"], a["objectId"], a["changes"]] for a in audits]
types = ContentType.objects.filter(model__startswith="transaction")
out["contentTypes"] = sorted(types.values_list("app_label", "model", "pk"))
print(json.dumps(out))
"""


def _run(tree: Path, database_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "CELERY_BROKER_URL"}
    env.update(
        DATABASE_URL=database_url,
        DJANGO_ENV="development",
        DJANGO_SETTINGS_MODULE="config.settings",
        PYTHONPATH=str(tree),
    )
    done = subprocess.run(
        [sys.executable, *args], cwd=tree, env=env, capture_output=True, text=True, timeout=900, check=False
    )
    assert done.returncode == 0, f"{args[:2]} in {tree} failed:\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
    return done


def _json(tree: Path, database_url: str, script: str, *args: str) -> Any:
    return json.loads(_run(tree, database_url, "-c", script, *args).stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def old_tree(tmp_path_factory) -> Path:
    """The project as it was at PRE_MOVE, from git history (CI runs on a full clone)."""
    if not (ROOT / ".git").exists():
        pytest.skip("needs the project's git history (a clone, not an export)")
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", PRE_MOVE], capture_output=True, check=True, timeout=120
    ).stdout
    tree = tmp_path_factory.mktemp("pre-move")
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(tree, filter="data")
    return tree


class Databases:
    """Two empty databases of the suite's kind, as DATABASE_URLs, and a way to copy the first."""

    def __init__(self, tmp_path: Path):
        db = settings.DATABASES["default"]
        self.postgres = db["ENGINE"] == "django.db.backends.postgresql"
        if self.postgres:
            self.server = {k: db[k.upper()] for k in ("host", "port", "user", "password") if db.get(k.upper())}
            suffix = uuid.uuid4().hex[:8]
            self.names = [f"loyalty_move_{suffix}", f"loyalty_move_{suffix}_copy"]
            self._sql(f'CREATE DATABASE "{self.names[0]}"')
            auth = self.server["user"] + (f":{self.server['password']}" if self.server.get("password") else "")
            where = f"{self.server.get('host', '127.0.0.1')}:{self.server.get('port', 5432)}"
            self.urls = [f"postgres://{auth}@{where}/{name}" for name in self.names]
        else:
            self.files = [tmp_path / "moved.sqlite3", tmp_path / "copy.sqlite3"]
            self.urls = [f"sqlite:///{path}" for path in self.files]

    def _sql(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(dbname="postgres", autocommit=True, **self.server) as conn:
            conn.execute(statement)

    def copy(self) -> None:
        if self.postgres:
            self._sql(f'CREATE DATABASE "{self.names[1]}" TEMPLATE "{self.names[0]}"')
        else:
            for suffix in ("", "-wal", "-shm"):
                source = Path(f"{self.files[0]}{suffix}")
                if source.exists():
                    shutil.copyfile(source, f"{self.files[1]}{suffix}")

    def drop(self) -> None:
        if self.postgres:
            for name in self.names:
                self._sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


NETTED = ("returnedPoints", "netPoints")  # added by issue 18 to the rewards answers
NETTED_REWARD = ("returnedAmount", "netAmount")


def without_netting(answer: dict[str, Any]) -> dict[str, Any]:
    """The reads as the old code gave them: today's rewards answers less what issue 18 added to them
    (checked here first: each reward's net is its amount less what was returned)."""
    answer = json.loads(json.dumps(answer))
    rewards = [*answer["rewardsHistory"], *answer["rewardsDetails"].values()]
    for tx in rewards:
        for name in NETTED:
            tx.pop(name)
        for reward in tx["rewards"]:
            returned, net = (reward.pop(name) for name in NETTED_REWARD)
            assert Decimal(net) == Decimal(reward["amount"]) - Decimal(returned)
    return answer


@pytest.fixture
def databases(tmp_path) -> Iterator[Databases]:
    dbs = Databases(tmp_path)
    yield dbs
    dbs.drop()


def test_a_database_of_the_commit_before_the_move_keeps_its_transactions(old_tree, databases):
    moved, copy = databases.urls
    key = _json(old_tree, moved, SETUP)["key"]
    before = _json(old_tree, moved, READ, key, "read")
    assert len(before["tx"]) == 30 and before["audits"]  # the old code booked the demo's purchases
    models = ["transaction", "transactionline", "transactionreturn", "transactionreward"]
    assert [ct[:2] for ct in before["contentTypes"]] == [["loyalty", model] for model in models]
    databases.copy()
    expected = _json(old_tree, copy, READ, key, "return")  # the old code's return, on the copy
    assert expected["answer"]["returnNumber"] == 1 and expected["answer"]["points"]

    migrated = _run(ROOT, moved, "manage.py", "migrate", "--noinput").stdout
    assert "transactions.0001_initial... OK" in migrated and "loyalty.0007_transactions_moved_out... OK" in migrated

    after = without_netting(_json(ROOT, moved, READ, key, "read"))
    # The same content types (so the same permissions, groups and admin history), now of the new app.
    assert after["contentTypes"] == [["transactions", model, pk] for _, model, pk in before["contentTypes"]]
    after.pop("contentTypes"), before.pop("contentTypes")
    assert after == before  # every transaction, its lines, rewards and audit entries as they were

    returned = _json(ROOT, moved, READ, key, "return")
    returned_tx = returned["rewardsDetails"][next(t["txId"] for t in returned["tx"] if t["status"] != "booked")]
    assert returned_tx["returnedPoints"] and any(Decimal(r["returnedAmount"]) for r in returned_tx["rewards"])
    returned = without_netting(returned)
    returned.pop("contentTypes"), expected.pop("contentTypes")
    assert returned == expected  # the same return answer, statuses, rewards, balances and audit entries
    assert "ledger ok" in _run(ROOT, moved, "manage.py", "ledger_verify").stdout
