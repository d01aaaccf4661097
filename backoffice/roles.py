"""The roles a program gives people: Django groups with the permissions of each role.

"Program manager" runs the program: every page and action of the program's apps, but not users,
groups, API clients and keys, the event feed or webhooks (developer settings). "Support agent" helps members:
sees members, their cards, points, purchases and vouchers, adds remarks and adjusts points up to the
program's limit (Program settings → Roles), and changes no settings.

Created by backoffice/migrations/0001_roles.py; after every `migrate` the permissions of models added
since are given to the roles too (permissions are only ever added: what an administrator granted by
hand stays).
"""

from __future__ import annotations

from typing import Any

PROGRAM_MANAGER = "Program manager"
SUPPORT_AGENT = "Support agent"

PROGRAM_APPS = ("loyalty", "memberships", "ledger", "promotions", "vouchers", "transactions", "imports")
# Developer settings: integrations and their feed. Users and groups (auth) are not in PROGRAM_APPS.
DEVELOPER_MODELS = {("loyalty", "apiclient"), ("loyalty", "apikey"), ("loyalty", "event"), ("loyalty", "eventcursor")}

SUPPORT_AGENT_PERMISSIONS = {
    ("memberships", "view_membership"),
    ("memberships", "view_personal_data"),
    ("memberships", "view_legalentity"),
    ("memberships", "view_card"),
    ("memberships", "view_alternateid"),
    ("memberships", "view_remark"),
    ("memberships", "add_remark"),
    ("ledger", "view_booking"),
    ("ledger", "view_posting"),
    ("ledger", "add_booking"),  # adjust points, up to the program's limit (no adjust_without_limit)
    ("transactions", "view_transaction"),
    ("vouchers", "view_voucher"),
}


def role_allows(role: str, app_label: str, model: str, codename: str) -> bool:
    """Whether a role has a permission (pure: the rule the groups are built from)."""
    if role == PROGRAM_MANAGER:
        return app_label in PROGRAM_APPS and (app_label, model) not in DEVELOPER_MODELS
    if role == SUPPORT_AGENT:
        return (app_label, codename) in SUPPORT_AGENT_PERMISSIONS
    return False


def sync_roles(apps: Any) -> None:
    """Create the roles' groups and give them every permission their rule allows (`apps`: the app
    registry, the historical one inside a migration)."""
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    permissions = list(
        permission_model.objects.filter(content_type__app_label__in=PROGRAM_APPS).values_list(
            "pk", "content_type__app_label", "content_type__model", "codename"
        )
    )
    for role in (PROGRAM_MANAGER, SUPPORT_AGENT):
        group, _ = group_model.objects.get_or_create(name=role)
        allowed = [
            pk for pk, app_label, model, codename in permissions if role_allows(role, app_label, model, codename)
        ]
        group.permissions.add(*allowed)
