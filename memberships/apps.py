from django.apps import AppConfig


class MembershipsConfig(AppConfig):
    name = "memberships"
    verbose_name = "Members"
    default_auto_field = "django.db.models.BigAutoField"
