import importlib
import secrets
import time

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from loyalty.actors import Actor

# Demo modules outside an app's own demo.py, run after all of those in this order: the /tx demo
# books purchases, so it needs the members, point types, tiers, catalog and vouchers first.
AFTER_APPS = ["loyalty.tx.demo"]


class Command(BaseCommand):
    help = "Load the demo program (idempotent): each app's demo.seed runs in app order."

    def add_arguments(self, parser):
        parser.add_argument(
            "--admin",
            action="store_true",
            help="Also create the superuser 'admin' with a new password and print it.",
        )

    def handle(self, *args, admin: bool, **options):
        actor = Actor.for_system("seed_demo")
        for config in apps.get_app_configs():
            try:
                module = importlib.import_module(f"{config.name}.demo")
            except ModuleNotFoundError as exc:
                if exc.name != f"{config.name}.demo":
                    raise
                continue
            with transaction.atomic():
                module.seed(actor)
            self.stdout.write(f"demo data: {config.label}")
        for name in AFTER_APPS:  # demos that need every app's demo data first
            started = time.perf_counter()
            with transaction.atomic():
                importlib.import_module(name).seed(actor)
            self.stdout.write(f"demo data: {name} ({time.perf_counter() - started:.0f} s)")
        if admin:
            password = secrets.token_urlsafe(12)
            user, _ = get_user_model().objects.get_or_create(username="admin", defaults={"email": "admin@example.com"})
            user.is_staff = user.is_superuser = True
            user.set_password(password)
            user.save()
            self.stdout.write(f"admin login: admin / {password}")
