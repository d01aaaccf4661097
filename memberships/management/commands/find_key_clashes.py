from django.core.management.base import BaseCommand, CommandError

from memberships.selectors import KeyUse, key_clashes


def describe(use: KeyUse) -> str:
    """Who holds the value and as what, in the admin's words."""
    holder = f"legal entity {use.legal_entity}" if use.legal_entity_id else f"membership {use.membership_number}"
    if use.kind == "membership number":
        return f"{holder}: its membership number (membership {use.detail})"
    if use.kind == "card":
        return f"{holder}: a card ({use.detail})"
    return f"{holder}: an alternate id of type {use.detail}"


class Command(BaseCommand):
    help = (
        "List the values that lead to more than one member as membership number, active card number or "
        "alternate id: clashes stored before the one key space. Exit status 1 if there are any."
    )

    def handle(self, *args, **options):
        clashes = key_clashes()
        for value, uses in clashes.items():
            self.stdout.write(value)
            for use in uses:
                self.stdout.write(f"  {describe(use)}")
        if clashes:
            raise CommandError(
                f"{len(clashes)} value(s) lead to more than one member: they answer 409 ambiguous_key until "
                "all but one give them up (delete the alternate id, deactivate the card, or merge the "
                "members; docs/memberships.md, One key space)."
            )
        self.stdout.write("No key clashes: every number, active card and alternate id leads to one member.")
