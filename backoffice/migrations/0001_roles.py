"""The roles "Program manager" and "Support agent" (backoffice.roles) as groups with their permissions.

Permissions are created after migrations (post_migrate): on a new database they do not exist yet at
this point, so this migration creates those of every app first, the way Django would afterwards.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations


def create_roles(apps, schema_editor):
    from backoffice.roles import sync_roles

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    sync_roles(apps)


def remove_roles(apps, schema_editor):
    from backoffice.roles import PROGRAM_MANAGER, SUPPORT_AGENT

    apps.get_model("auth", "Group").objects.filter(name__in=[PROGRAM_MANAGER, SUPPORT_AGENT]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("loyalty", "0009_roles_adjustment_limit"),
        ("memberships", "0003_leaner_indexes"),
        ("ledger", "0006_roles_permissions"),
        ("promotions", "0003_configuration_generation"),
        ("vouchers", "0002_voucher_type_channels_help"),
        ("transactions", "0002_daily_summaries"),
        ("imports", "0002_leaner_record_indexes"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
