from django.core.management.base import BaseCommand, CommandError

from ledger.verify import verify


class Command(BaseCommand):
    help = "Check the ledger invariants I1-I10 (LEDGER.md); print each violation; exit 1 if any."

    def add_arguments(self, parser):
        parser.add_argument("--membership", help="Check one membership (a key: number, card or alternate id).")

    def handle(self, *args, membership=None, **options):
        ids = None
        if membership:
            from memberships.selectors import resolve_membership

            ids = [resolve_membership(membership).pk]
        violations = verify(ids)
        for violation in violations:
            self.stdout.write(str(violation))
        if violations:
            raise CommandError(f"{len(violations)} ledger violation(s).")
        self.stdout.write("ledger ok: I1-I10 hold")
