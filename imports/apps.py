from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "imports"
    verbose_name = "Imports and exports"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.utils.module_loading import autodiscover_modules

        # Each app declares its import types and export templates in its own module.
        autodiscover_modules("import_types")
        autodiscover_modules("export_templates")

        from imports import tasks  # noqa: F401 - registered here; the services start them by name (imports.workers)
