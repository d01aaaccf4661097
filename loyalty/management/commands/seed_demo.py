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
from loyalty.models import ApiClient
from loyalty.models.clients import Scope
from loyalty.selectors import program_is_empty
from loyalty.services import create_api_client, issue_api_key


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
    help = (
        "Load the demo program into an empty program (each app's demo.seed, in the order their AFTER asks); "
        "a program with anything in it is left as it is."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--admin",
            action="store_true",
            help="Also create the superuser 'admin' with a new password and print it (an existing 'admin' is kept).",
        )
        parser.add_argument(
            "--api-key",
            metavar="NAME",
            default="",
            help="Also create an API client NAME with every scope and print its key (an existing client is kept).",
        )

    def handle(self, *args, admin: bool, api_key: str, **options):
        actor = Actor.for_system("seed_demo")
        if program_is_empty():
            for label, module in demo_modules():
                started = time.perf_counter()
                with transaction.atomic():
                    module.seed(actor)
                self.stdout.write(f"demo data: {label} ({time.perf_counter() - started:.1f} s)")
        else:
            self.stdout.write(
                "demo data: not loaded, the program already has data (the demo loads only into an empty program; "
                "for a fresh demo, start from an empty database)."
            )
        if api_key:
            self._api_key(api_key)
        if admin:
            self._admin()

    def _api_key(self, name: str) -> None:
        """A key for a new client `name`; an existing client keeps its keys (they are stored hashed, so
        none can be shown again): a second run changes no row."""
        actor = Actor.for_system("seed_demo")
        if ApiClient.objects.filter(name=name).exists():
            self.stdout.write(
                f"API key: the client {name!r} exists; its keys are kept and cannot be shown again "
                f"(a new one: python manage.py create_api_key {name})"
            )
            return
        client = create_api_client(name=name, scopes=list(Scope.values), actor=actor)
        _, raw_key = issue_api_key(client=client, actor=actor)
        self.stdout.write(f"API key (send it as 'Authorization: Api-Key <key>'): {raw_key}")

    def _admin(self) -> None:
        """The superuser 'admin' with a new password, printed; an existing 'admin' keeps the password."""
        users = get_user_model()
        if users.objects.filter(username="admin").exists():
            self.stdout.write(
                "admin login: admin, password unchanged (to set a new one: python manage.py changepassword admin)"
            )
            return
        password = secrets.token_urlsafe(12)
        users.objects.create_superuser(username="admin", email="admin@example.com", password=password)
        self.stdout.write(f"admin login: admin / {password}")
