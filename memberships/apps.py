from django.apps import AppConfig


class MembershipsConfig(AppConfig):
    name = "memberships"
    verbose_name = "Members"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from loyalty.rollups import register_snapshot
        from memberships.selectors import MEMBER_COUNTS

        register_snapshot(MEMBER_COUNTS)
