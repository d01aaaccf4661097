from django.apps import AppConfig


class BackofficeConfig(AppConfig):
    """The admin as a whole: the dashboard that reads every app (each app keeps its own ModelAdmins)."""

    name = "backoffice"
    verbose_name = "Back office"
