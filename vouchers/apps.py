from django.apps import AppConfig


class VouchersConfig(AppConfig):
    name = "vouchers"
    verbose_name = "Vouchers"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from vouchers import hooks

        hooks.register()
