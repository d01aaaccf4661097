from django.core.management.base import BaseCommand, CommandError

from loyalty.actors import Actor
from loyalty.errors import DomainError
from loyalty.models import ApiClient
from loyalty.models.clients import Scope
from loyalty.services import create_api_client, issue_api_key, save_configuration


class Command(BaseCommand):
    help = "Create an API client (or reuse the one with this name) and print a new key on the last line."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument(
            "--scopes",
            default=",".join(Scope.values),
            help=f"Comma-separated scopes (default: all of {', '.join(Scope.values)}).",
        )

    def handle(self, *args, name, scopes, **options):
        actor = Actor.for_system("create_api_key")
        wanted = [s.strip() for s in scopes.split(",") if s.strip()]
        try:
            client = ApiClient.objects.filter(name=name).first()
            if client is None:
                client = create_api_client(name=name, scopes=wanted, actor=actor)
            elif sorted(client.scopes) != sorted(wanted):
                client.scopes = [s for s in Scope.values if s in wanted]
                if len(client.scopes) != len(set(wanted)):
                    raise CommandError(f"Unknown scopes in {scopes!r}; known: {', '.join(Scope.values)}.")
                save_configuration(client, actor=actor)
            _, raw_key = issue_api_key(client=client, actor=actor)
        except DomainError as exc:
            raise CommandError(exc.detail) from exc
        self.stderr.write(f"API client {client.name!r} with scopes {', '.join(client.scopes)}; the key:")
        self.stdout.write(raw_key)
