import os
import subprocess
import sys
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import RequestFactory
from rest_framework.test import APIClient

from loyalty.models import ApiClient, AuditEntry, IdempotencyRecord, MembershipType, Program, Sponsor, Tier


@pytest.mark.django_db
def test_create_api_key_prints_a_working_key_alone_on_its_last_line():
    out = StringIO()
    call_command("create_api_key", "pos", stdout=out, stderr=StringIO())
    key = out.getvalue().strip().splitlines()[-1]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert client.get("/api/v1/audits").status_code == 200
    assert ApiClient.objects.get(name="pos").scopes == ["read", "write", "imports"]


@pytest.mark.django_db
def test_create_api_key_takes_scopes_and_reuses_the_client():
    call_command("create_api_key", "crm", "--scopes", "read", stdout=StringIO(), stderr=StringIO())
    call_command("create_api_key", "crm", "--scopes", "read,write", stdout=StringIO(), stderr=StringIO())
    client = ApiClient.objects.get(name="crm")
    assert client.scopes == ["read", "write"] and client.keys.count() == 2
    with pytest.raises(CommandError):
        call_command("create_api_key", "crm", "--scopes", "read,root", stdout=StringIO(), stderr=StringIO())


@pytest.mark.django_db
def test_seed_demo_builds_the_program_and_a_second_run_changes_nothing():
    call_command("seed_demo", stdout=StringIO())
    assert Program.current().name == "Northwind Rewards"
    assert set(Sponsor.objects.values_list("key", flat=True)) >= {"northwind", "brightfuel"}
    assert Sponsor.objects.get(is_default=True).key == "northwind"
    assert list(Tier.objects.values_list("key", flat=True)) == ["bronze", "silver", "gold"]
    assert MembershipType.objects.filter(is_company=True).exists()
    audited = AuditEntry.objects.count()
    call_command("seed_demo", stdout=StringIO())
    assert AuditEntry.objects.count() == audited


@pytest.mark.django_db
def test_seed_demo_can_create_the_admin_login(client):
    out = StringIO()
    call_command("seed_demo", "--admin", stdout=out)
    password = out.getvalue().strip().splitlines()[-1].split(" / ")[1]
    # django-axes' backend needs the request a sign-in comes with
    assert client.login(request=RequestFactory().post("/admin/login/"), username="admin", password=password)


@pytest.mark.django_db
def test_run_job_lists_and_runs_the_periodic_jobs():
    out = StringIO()
    call_command("run_job", stdout=out)
    assert "purge_idempotency_records" in out.getvalue()
    IdempotencyRecord.objects.create(principal="client:1", key="k", request_hash="h")
    IdempotencyRecord.objects.update(created_at="2000-01-01T00:00:00Z")
    call_command("run_job", "purge_idempotency_records", stdout=StringIO())
    assert not IdempotencyRecord.objects.exists()
    with pytest.raises(CommandError):
        call_command("run_job", "nope")


def _check(env: dict[str, str]) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "ALLOWED_HOSTS", "DEBUG", "DJANGO_ENV"}}
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_mode_requires_a_secret_key_and_hosts():
    missing = _check({"DJANGO_ENV": "production"})
    assert missing.returncode != 0 and "SECRET_KEY must be set" in missing.stderr
    no_hosts = _check({"DJANGO_ENV": "production", "SECRET_KEY": "s" * 60 + "Q1!x"})
    assert no_hosts.returncode != 0 and "ALLOWED_HOSTS must be set" in no_hosts.stderr


def test_production_settings_pass_the_deploy_check():
    result = _check({"DJANGO_ENV": "production", "SECRET_KEY": "k7#Qp2" * 10, "ALLOWED_HOSTS": "loyalty.example.com"})
    assert result.returncode == 0, result.stderr


def test_seed_demo_finds_each_apps_demo_and_runs_it_after_the_demos_it_needs(monkeypatch):
    from loyalty.management.commands import seed_demo

    order = [label for label, _ in seed_demo.demo_modules()]
    assert order[0] == "loyalty" and set(order) >= {"memberships", "ledger", "vouchers", "promotions", "transactions"}
    for label, module in seed_demo.demo_modules():
        for needed in getattr(module, "AFTER", ()):
            assert order.index(needed) < order.index(label), (label, needed)
    # A demo that asks to come after one that comes later is moved behind it.
    from memberships import demo as memberships_demo

    monkeypatch.setattr(memberships_demo, "AFTER", ("loyalty", "promotions"))
    order = [label for label, _ in seed_demo.demo_modules()]
    assert order.index("memberships") > order.index("promotions")
    # Two demos that wait for each other cannot run.
    from promotions import demo as promotions_demo

    monkeypatch.setattr(promotions_demo, "AFTER", ("memberships",))
    with pytest.raises(CommandError, match="memberships, promotions"):
        seed_demo.demo_modules()
