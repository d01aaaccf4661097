"""The roles "Program manager" and "Support agent": groups made by a migration, enforced on every page
and action — a support agent sees members, remarks and adjusts up to the program's limit, and opens no
setting; a program manager runs the program but not users, API keys or the event feed."""

from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.urls import reverse

from backoffice.roles import PROGRAM_MANAGER, SUPPORT_AGENT, role_allows
from ledger.models import Booking
from ledger.selectors import balance_of
from loyalty.models import Program
from memberships.models import Remark
from tests.factories import StaffUserFactory

pytestmark = pytest.mark.django_db


def staff_in(role: str):
    user = StaffUserFactory(is_superuser=False)
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def agent(client):
    client.force_login(staff_in(SUPPORT_AGENT))
    return client


@pytest.fixture
def manager(client):
    client.force_login(staff_in(PROGRAM_MANAGER))
    return client


def changelists() -> dict[str, str]:
    return {
        f"{model._meta.app_label}.{model._meta.model_name}": reverse(
            f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist"
        )
        for model in admin.site._registry
    }


def test_the_migration_made_both_roles_with_their_permissions():
    manager = set(
        Group.objects.get(name=PROGRAM_MANAGER).permissions.values_list("content_type__app_label", "codename")
    )
    agent = set(Group.objects.get(name=SUPPORT_AGENT).permissions.values_list("content_type__app_label", "codename"))
    assert {
        ("loyalty", "change_program"),
        ("ledger", "adjust_without_limit"),
        ("promotions", "add_promotion"),
    } <= manager
    assert not {("loyalty", "add_apikey"), ("loyalty", "view_apiclient"), ("loyalty", "view_event")} & manager
    assert not any(app == "auth" for app, _ in manager)  # users and groups stay with administrators
    assert ("memberships", "add_remark") in agent and ("ledger", "add_booking") in agent
    assert ("ledger", "adjust_without_limit") not in agent
    assert not any(codename.startswith(("change_", "delete_")) for _, codename in agent)


def test_the_rule_is_pure_and_names_no_role_it_does_not_know():
    assert role_allows(PROGRAM_MANAGER, "vouchers", "voucher", "add_voucher")
    assert not role_allows(PROGRAM_MANAGER, "loyalty", "apikey", "view_apikey")
    assert not role_allows("Intern", "memberships", "membership", "view_membership")


def test_a_support_agent_opens_the_member_pages_and_no_setting(agent):
    allowed = {
        "memberships.membership",
        "memberships.legalentity",
        "memberships.card",
        "ledger.booking",
        "transactions.transaction",
        "vouchers.voucher",
    }
    for name, url in changelists().items():
        expected = 200 if name in allowed else 403
        assert agent.get(url).status_code == expected, name
    home = agent.get("/admin/").content.decode()
    assert "Find a member" in home and 'class="kpis"' not in home  # the program's figures are for managers
    assert agent.get(reverse("admin:loyalty_program_changelist")).status_code == 403
    assert agent.get(reverse("admin:ledger_pointtype_add")).status_code == 403
    assert agent.get(reverse("admin:ledger_booking_liability")).status_code == 403


def test_a_program_manager_opens_everything_but_developer_settings_and_users(manager):
    refused = {"loyalty.apiclient", "loyalty.apikey", "loyalty.event", "auth.user", "auth.group"}
    refused |= {"backoffice.loginlockout", "otp_totp.totpdevice"}  # sign-in security: administrators only
    refused |= {"webhooks.endpoint", "webhooks.delivery"}  # integrations: developer settings
    for name, url in changelists().items():
        expected = 403 if name in refused else 200
        assert manager.get(url).status_code == expected, name


@pytest.fixture
def customer(make_member, ledger_program):
    return make_member()


def adjust(client, member, points: str):
    return client.post(
        reverse("admin:ledger_booking_adjust"),
        {
            "membership": member.number,
            "point_type": member_type("points"),
            "sponsor": sponsor_id("shop"),
            "points": points,
            "reason": "goodwill",
        },
    )


def member_type(key: str) -> int:
    from ledger.models import PointType

    return PointType.objects.get(key=key).pk


def sponsor_id(key: str) -> int:
    from loyalty.models import Sponsor

    return Sponsor.objects.get(key=key).pk


def test_a_support_agent_adjusts_up_to_the_programs_limit_and_no_further(agent, customer, ledger_program):
    program = Program.current()
    program.support_adjustment_limit = Decimal("50")
    program.save()

    page = agent.get(reverse("admin:ledger_booking_adjust") + f"?membership={customer.number}")
    assert "You may add or take away at most 50 points in one adjustment" in page.content.decode()

    refused = adjust(agent, customer, "50.01")
    assert refused.status_code == 200
    assert "You may adjust at most 50.00 Points at once; 50.01 asked." in refused.content.decode()
    assert not Booking.objects.filter(kind="adjust").exists()

    assert adjust(agent, customer, "50").status_code == 302
    assert balance_of(customer, ledger_program.points).balance == 5_000


def test_a_program_manager_adjusts_without_limit(manager, customer, ledger_program):
    assert adjust(manager, customer, "100000").status_code == 302
    assert balance_of(customer, ledger_program.points).balance == 10_000_000


def test_a_support_agent_remarks_from_the_member_page_but_cannot_change_the_member(agent, customer):
    page = agent.get(reverse("admin:memberships_membership_change", args=[customer.pk])).content.decode()
    assert "Add a remark" in page and "Cancel membership" not in page
    response = agent.post(
        reverse("admin:memberships_membership_action", args=[customer.pk, "remark"]),
        {"text": "Called about a lost card"},
    )
    assert response.status_code == 302
    assert Remark.objects.get(membership=customer).text == "Called about a lost card"
    assert (
        agent.post(reverse("admin:memberships_membership_cancel", args=[customer.pk]), {"reason": "x"}).status_code
        == 403
    )
    change = agent.post(reverse("admin:memberships_membership_change", args=[customer.pk]), {"first_name": "Eve"})
    assert change.status_code == 403


def test_after_a_migrate_the_roles_get_permissions_they_lack_and_keep_those_granted_by_hand():
    from django.apps import apps
    from django.contrib.auth.models import Permission
    from django.db.models.signals import post_migrate

    group = Group.objects.get(name=PROGRAM_MANAGER)
    add_voucher = Permission.objects.get(content_type__app_label="vouchers", codename="add_voucher")
    by_hand = Permission.objects.get(content_type__app_label="auth", codename="view_user")
    group.permissions.remove(add_voucher)  # as if the vouchers app had come after the roles' migration
    group.permissions.add(by_hand)

    post_migrate.send(sender=apps.get_app_config("backoffice"), app_config=apps.get_app_config("backoffice"))

    assert group.permissions.filter(pk=add_voucher.pk).exists()
    assert group.permissions.filter(pk=by_hand.pk).exists()
