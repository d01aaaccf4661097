from django.apps import AppConfig


class TransactionsConfig(AppConfig):
    name = "transactions"
    verbose_name = "Transactions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from promotions.hooks import register_history_source
        from transactions.selectors import booked_between

        register_history_source(booked_between)  # the promotions' backtest replays these
