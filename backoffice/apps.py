from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class BackofficeConfig(AppConfig):
    """The admin as a whole: the dashboard that reads every app (each app keeps its own ModelAdmins)."""

    default = True
    name = "backoffice"
    verbose_name = "Back office"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from backoffice.member_history import history_panel
        from memberships.hooks import MemberPanel, register_member_panel

        post_migrate.connect(give_roles_new_permissions, sender=self)
        register_member_panel(
            MemberPanel(
                key="history",
                title="History",
                order=90,
                template="admin/backoffice/member_history.html",
                context=history_panel,
            )
        )


def give_roles_new_permissions(sender, apps=None, **kwargs) -> None:
    """After every migrate (and test flush): the roles get the permissions of models added since. The
    back office is the last app, so every other app's permissions exist by now."""
    from django.apps import apps as installed

    from backoffice.roles import sync_roles

    sync_roles(apps or installed)  # a flush (tests) sends no `apps`: the installed ones then


class BackOfficeAdminConfig(admin_apps.AdminConfig):
    """Django's admin with the back office's site (dashboard first, sidebar by task) as admin.site."""

    default = False  # backoffice's own config (BackofficeConfig) is the app's default
    default_site = "backoffice.site.BackOfficeSite"
