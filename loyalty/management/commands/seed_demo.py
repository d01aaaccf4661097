import importlib
import secrets
import time
from types import ModuleType

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.module_loading import module_has_submodule

from loyalty.actors import Actor


def demo_modules() -> list[tuple[str, ModuleType]]:
    """Each installed app's `demo` module, found by discovery, as (app label, module) in the order they
    must run: a module's `AFTER` names the app labels whose demo data it needs (the purchases need the
    members, point types and catalog); otherwise the order of INSTALLED_APPS."""
    found: dict[str, ModuleType] = {}
    for config in apps.get_app_configs():
        if module_has_submodule(config.module, "demo"):
            found[config.label] = importlib.import_module(f"{config.name}.demo")
    waits = {label: {dep for dep in getattr(module, "AFTER", ()) if dep in found} for label, module in found.items()}
    ordered: list[str] = []
    while len(ordered) < len(found):
        # The first app, in the order of INSTALLED_APPS, whose demos it waits for have all run.
        ready = next((label for label in found if label not in ordered and waits[label] <= set(ordered)), None)
        if ready is None:
            left = sorted(set(found) - set(ordered))
            raise CommandError(f"The demo modules of {', '.join(left)} cannot run: their AFTER lists wait in a circle.")
        ordered.append(ready)
    return [(label, found[label]) for label in ordered]


class Command(BaseCommand):
    help = "Load the demo program (idempotent): each app's demo.seed, in the order their AFTER asks."

    def add_arguments(self, parser):
        parser.add_argument(
            "--admin",
            action="store_true",
            help="Also create the superuser 'admin' with a new password and print it.",
        )

    def handle(self, *args, admin: bool, **options):
        actor = Actor.for_system("seed_demo")
        for label, module in demo_modules():
            started = time.perf_counter()
            with transaction.atomic():
                module.seed(actor)
            self.stdout.write(f"demo data: {label} ({time.perf_counter() - started:.1f} s)")
        if admin:
            password = secrets.token_urlsafe(12)
            user, _ = get_user_model().objects.get_or_create(username="admin", defaults={"email": "admin@example.com"})
            user.is_staff = user.is_superuser = True
            user.set_password(password)
            user.save()
            self.stdout.write(f"admin login: admin / {password}")
