from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class BackofficeConfig(AppConfig):
    """The admin as a whole: the dashboard that reads every app (each app keeps its own ModelAdmins)."""

    default = True
    name = "backoffice"
    verbose_name = "Back office"


class BackOfficeAdminConfig(admin_apps.AdminConfig):
    """Django's admin with the back office's site (dashboard first, sidebar by task) as admin.site."""

    default = False  # backoffice's own config (BackofficeConfig) is the app's default
    default_site = "backoffice.site.BackOfficeSite"
