from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "ledger"
    verbose_name = "Points ledger"

    def ready(self) -> None:
        from ledger import hooks

        hooks.register()
