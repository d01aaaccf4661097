import hashlib
import os
import subprocess
import sys
from io import StringIO

import pytest
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import RequestFactory
from rest_framework.test import APIClient

from loyalty.actors import Actor
from loyalty.models import ApiClient, IdempotencyRecord, MembershipType, Program, Sponsor, Tier


@pytest.mark.django_db
def test_create_api_key_prints_a_working_key_alone_on_its_last_line():
    out = StringIO()
    call_command("create_api_key", "pos", stdout=out, stderr=StringIO())
    key = out.getvalue().strip().splitlines()[-1]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert client.get("/api/v1/audits").status_code == 200
    assert ApiClient.objects.get(name="pos").scopes == ["read", "write", "imports", "webhooks"]


@pytest.mark.django_db
def test_create_api_key_takes_scopes_and_reuses_the_client():
    call_command("create_api_key", "crm", "--scopes", "read", stdout=StringIO(), stderr=StringIO())
    call_command("create_api_key", "crm", "--scopes", "read,write", stdout=StringIO(), stderr=StringIO())
    client = ApiClient.objects.get(name="crm")
    assert client.scopes == ["read", "write"] and client.keys.count() == 2
    with pytest.raises(CommandError):
        call_command("create_api_key", "crm", "--scopes", "read,root", stdout=StringIO(), stderr=StringIO())


def fingerprint() -> dict[str, str]:
    """Every row of every table, hashed per model: equal fingerprints, no row added, changed or deleted."""
    prints = {}
    for model in apps.get_models():
        rows = model.objects.order_by("pk").values_list(*(f.attname for f in model._meta.concrete_fields))
        prints[model._meta.label] = hashlib.sha256(repr(list(rows)).encode()).hexdigest()
    return prints


@pytest.mark.django_db
def test_seed_demo_builds_the_program_and_a_second_run_changes_no_row():
    out = StringIO()
    call_command("seed_demo", "--admin", "--api-key", "demo", stdout=out)
    assert Program.current().name == "Northwind Rewards"
    assert set(Sponsor.objects.values_list("key", flat=True)) >= {"northwind", "brightfuel"}
    assert Sponsor.objects.get(is_default=True).key == "northwind"
    assert list(Tier.objects.values_list("key", flat=True)) == ["bronze", "silver", "gold"]
    assert MembershipType.objects.filter(is_company=True).exists()
    assert "API key (send it as 'Authorization: Api-Key <key>'): " in out.getvalue()
    before = fingerprint()
    again = StringIO()
    call_command("seed_demo", "--admin", "--api-key", "demo", stdout=again)
    assert fingerprint() == before
    assert "demo data: not loaded" in again.getvalue()
    assert "create_api_key demo" in again.getvalue() and "changepassword admin" in again.getvalue()


@pytest.mark.django_db
def test_a_second_seed_demo_keeps_what_a_manager_changed_and_the_admin_password(client):
    """It re-seeded the demo over the program: the name, tier thresholds and expiry policy a manager had
    edited came back as the demo has them, and the admin password was reset."""
    from loyalty.services import save_configuration

    out = StringIO()
    call_command("seed_demo", "--admin", stdout=out)
    password = out.getvalue().strip().splitlines()[-1].split(" / ")[1]
    actor = Actor.for_system("manager")
    program = Program.current()
    program.name = "Our own rewards"
    save_configuration(program, actor=actor)
    silver = Tier.objects.get(key="silver")
    silver.qualification_threshold = 1234
    save_configuration(silver, actor=actor)
    point_type = apps.get_model("ledger", "PointType").objects.get(key="points")
    point_type.expiry_policy, point_type.expiry_months = "months", 6
    save_configuration(point_type, actor=actor)
    before = fingerprint()

    call_command("seed_demo", "--admin", stdout=StringIO())

    assert fingerprint() == before
    assert Program.objects.get().name == "Our own rewards"
    assert Tier.objects.get(key="silver").qualification_threshold == 1234
    assert apps.get_model("ledger", "PointType").objects.get(key="points").expiry_policy == "months"
    # django-axes' backend needs the request a sign-in comes with
    assert client.login(request=RequestFactory().post("/admin/login/"), username="admin", password=password)


@pytest.mark.django_db
def test_seed_demo_loads_into_a_program_that_has_only_api_keys():
    call_command("create_api_key", "pos", stdout=StringIO(), stderr=StringIO())
    call_command("seed_demo", stdout=StringIO())
    assert Program.current().name == "Northwind Rewards"


@pytest.mark.django_db
def test_seed_demo_leaves_a_program_set_up_by_hand_alone():
    from loyalty.services import save_configuration

    save_configuration(Sponsor(key="own", name="Our shop", is_default=True), actor=Actor.for_system("manager"))
    call_command("seed_demo", stdout=StringIO())
    assert list(Sponsor.objects.values_list("key", flat=True)) == ["own"]
    assert not Tier.objects.exists()


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
