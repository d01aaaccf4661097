from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "ledger"
    verbose_name = "Points ledger"

    def ready(self) -> None:
        from ledger import hooks
        from ledger.models import PointType
        from loyalty.configuration import watch

        hooks.register()
        watch(PointType)  # cached per process, and compiled into promotions (loyalty.configuration)
