"""The admin (Django's test client): search, detail page, inline rows and actions through services."""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from loyalty.models import AuditEntry, Event
from memberships.models import AlternateId, Card, LegalEntity, Membership, Remark
from tests.factories import StaffUserFactory
from tests.memberships.factories import (
    AlternateIdFactory,
    CardFactory,
    LegalEntityFactory,
    MembershipFactory,
    RemarkFactory,
)

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/memberships/membership/"


@pytest.fixture
def staff():
    return StaffUserFactory()


@pytest.fixture
def admin_client_(staff) -> Client:
    client = Client()
    client.force_login(staff)
    return client


def change_url(membership: Membership) -> str:
    return f"{CHANGELIST}{membership.pk}/change/"


def inline_management(prefix: str, total: int = 0, initial: int = 0) -> dict:
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def listed(response) -> list[str]:
    assert response.status_code == 200
    return [m.number for m in response.context["cl"].result_list]


def test_the_list_finds_a_member_by_number_card_alternate_id_email_and_name(admin_client_):
    member = MembershipFactory(first_name="Ann", last_name="Smith", email="ann@example.com")
    MembershipFactory(first_name="Bob", last_name="Jones")
    CardFactory(membership=member, number="610000000001")
    AlternateIdFactory(membership=member, type="crm", value="CRM-1")
    for term in (member.number, "610000000001", "CRM-1", "ANN@example.com", "smi", "ann smith"):
        assert listed(admin_client_.get(CHANGELIST, {"q": term})) == [member.number], term


def test_the_list_filters_by_status_type_and_tier(admin_client_):
    blocked = MembershipFactory(status="blocked")
    MembershipFactory()
    assert listed(admin_client_.get(CHANGELIST, {"status__exact": "blocked"})) == [blocked.number]


def test_the_list_takes_the_same_number_of_queries_for_1_and_20_rows(admin_client_, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    MembershipFactory()
    admin_client_.get(CHANGELIST)
    with CaptureQueriesContext(connection) as one:
        admin_client_.get(CHANGELIST)
    for _ in range(19):
        MembershipFactory()
    with CaptureQueriesContext(connection) as twenty:
        assert len(listed(admin_client_.get(CHANGELIST))) == 20
    assert len(twenty) == len(one)


def test_the_detail_page_shows_cards_alternate_ids_and_remarks(admin_client_):
    member = MembershipFactory()
    CardFactory(membership=member, number="610000000002")
    AlternateIdFactory(membership=member, value="CRM-2")
    RemarkFactory(membership=member, text="Prefers e-mail")
    page = admin_client_.get(change_url(member)).content.decode()
    for text in ("610000000002", "CRM-2", "Prefers e-mail", member.email):
        assert text in page


def test_personal_data_is_hidden_from_staff_without_the_permission():
    member = MembershipFactory(first_name="Ann", email="secret@example.com")
    staff = StaffUserFactory(is_superuser=False)
    staff.user_permissions.add(*Permission.objects.filter(codename__in=["view_membership", "change_membership"]))
    client = Client()
    client.force_login(staff)
    assert "secret@example.com" not in client.get(CHANGELIST).content.decode()
    assert "secret@example.com" not in client.get(change_url(member)).content.decode()
    # still findable by what the member says
    assert listed(client.get(CHANGELIST, {"q": "secret@example.com"})) == [member.number]

    staff.user_permissions.add(Permission.objects.get(codename="view_personal_data"))
    client.force_login(type(staff).objects.get(pk=staff.pk))
    assert "secret@example.com" in client.get(CHANGELIST).content.decode()


def membership_form(member: Membership, **changes) -> dict:
    data = {
        "membership_type": member.membership_type_id,
        "first_name": member.first_name,
        "last_name": member.last_name,
        "email": member.email,
        "phone": member.phone,
        "birth_date": "",
        "street": "",
        "postal_code": "",
        "city": "",
        "country": "",
        "language": "",
        "properties": "{}",
        "marketing_consent_source_input": "",
        **inline_management("cards"),
        **inline_management("cards-2"),
        **inline_management("alternate_ids"),
        **inline_management("alternate_ids-2"),
        **inline_management("remarks"),
        **inline_management("remarks-2"),
    }
    data.update(changes)
    return data


def test_editing_details_in_the_admin_goes_through_the_service(admin_client_, staff):
    member = MembershipFactory(first_name="Ann")
    response = admin_client_.post(change_url(member), membership_form(member, first_name="Anna", phone="06 1234 5678"))
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    member.refresh_from_db()
    assert member.first_name == "Anna" and member.phone == "0612345678"
    entry = AuditEntry.objects.get(action="membership.updated")
    assert entry.actor_user == staff
    assert Event.objects.filter(type="membership.updated").count() == 1


def test_the_admin_form_refuses_what_the_api_refuses(admin_client_):
    member = MembershipFactory()
    response = admin_client_.post(change_url(member), membership_form(member, phone="12", first_name=""))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "phone" in errors and "first_name" in errors
    assert not AuditEntry.objects.filter(action="membership.updated").exists()


def test_a_remark_card_and_alternate_id_added_inline_go_through_the_services(admin_client_, staff):
    member = MembershipFactory()
    data = membership_form(
        member,
        **inline_management("cards-2", total=1),
        **{"cards-2-0-number": "610000000003", "cards-2-0-type": "virtual"},
        **inline_management("alternate_ids-2", total=1),
        **{"alternate_ids-2-0-type": "shop", "alternate_ids-2-0-value": "S-9"},
        **inline_management("remarks-2", total=1),
        **{"remarks-2-0-text": "Called about points"},
    )
    response = admin_client_.post(change_url(member), data)
    assert response.status_code == 302
    assert Card.objects.get(number="610000000003").membership == member
    assert AlternateId.objects.get(value="S-9").membership == member
    remark = Remark.objects.get()
    assert remark.text == "Called about points" and remark.author_user == staff and remark.author.startswith("user:")
    assert {e.action for e in AuditEntry.objects.all()} >= {"card.issued", "alternate_id.added", "remark.added"}


def test_ticking_delete_on_a_card_deactivates_it(admin_client_):
    member = MembershipFactory()
    card = CardFactory(membership=member, number="610000000004")
    data = membership_form(
        member,
        **inline_management("cards", total=1, initial=1),
        **{"cards-0-id": card.pk, "cards-0-membership": member.pk, "cards-0-DELETE": "on"},
    )
    assert admin_client_.post(change_url(member), data).status_code == 302
    card.refresh_from_db()
    assert card.status == "inactive" and card.deactivation_reason == "deleted"


def test_the_cancel_action_asks_for_a_reason_then_cancels(admin_client_):
    member = MembershipFactory()
    CardFactory(membership=member)
    ask = admin_client_.post(CHANGELIST, {"action": "cancel_selected", "_selected_action": [member.pk]})
    assert ask.status_code == 200 and b"reason" in ask.content
    assert Membership.objects.get(pk=member.pk).status == "active"
    done = admin_client_.post(
        CHANGELIST,
        {"action": "cancel_selected", "_selected_action": [member.pk], "apply": "1", "reason": "Asked by phone"},
    )
    assert done.status_code == 302
    member.refresh_from_db()
    assert member.status == "cancelled" and member.cancel_reason == "Asked by phone"
    assert Card.objects.get().status == "inactive"


def test_the_merge_action_merges_into_the_target_given_by_key(admin_client_):
    source, target = MembershipFactory(), MembershipFactory()
    CardFactory(membership=target, number="610000000005")
    response = admin_client_.post(
        CHANGELIST,
        {"action": "merge_selected", "_selected_action": [source.pk], "apply": "1", "target": "610000000005"},
    )
    assert response.status_code == 302
    source.refresh_from_db()
    assert source.status == "merged" and source.merged_into == target


def test_the_merge_action_reports_a_refusal_and_changes_nothing(admin_client_):
    member = MembershipFactory()
    response = admin_client_.post(
        CHANGELIST,
        {"action": "merge_selected", "_selected_action": [member.pk], "apply": "1", "target": member.number},
        follow=True,
    )
    assert "cannot be merged into itself" in response.content.decode()
    assert Membership.objects.get(pk=member.pk).status == "active"


def test_the_remark_action_and_block_unblock_reactivate(admin_client_):
    member = MembershipFactory()
    admin_client_.post(
        CHANGELIST, {"action": "add_remark_to_selected", "_selected_action": [member.pk], "apply": "1", "text": "Hi"}
    )
    assert Remark.objects.get().text == "Hi"
    admin_client_.post(CHANGELIST, {"action": "block_selected", "_selected_action": [member.pk]})
    assert Membership.objects.get(pk=member.pk).status == "blocked"
    admin_client_.post(CHANGELIST, {"action": "unblock_selected", "_selected_action": [member.pk]})
    assert Membership.objects.get(pk=member.pk).status == "active"
    Membership.objects.filter(pk=member.pk).update(status="cancelled")
    admin_client_.post(CHANGELIST, {"action": "reactivate_selected", "_selected_action": [member.pk]})
    assert Membership.objects.get(pk=member.pk).status == "active"


def test_memberships_cannot_be_deleted_in_the_admin(admin_client_):
    member = MembershipFactory()
    assert admin_client_.get(f"{CHANGELIST}{member.pk}/delete/").status_code == 403
    assert "delete_selected" not in admin_client_.get(CHANGELIST).context["action_form"].fields["action"].choices[1:]


def test_adding_a_member_in_the_admin_enrolls_through_the_service(admin_client_):
    from loyalty.models import MembershipType

    data = {
        "membership_type": MembershipType.objects.get(key="consumer").pk,
        "first_name": "New",
        "last_name": "Member",
        "email": "New@Example.com",
        "phone": "",
        "birth_date": "",
        "street": "",
        "postal_code": "",
        "city": "",
        "country": "",
        "language": "",
        "properties": "{}",
        "marketing_consent": "on",
        "marketing_consent_source_input": "desk",
    }
    response = admin_client_.post(f"{CHANGELIST}add/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    member = Membership.objects.get()
    assert member.email == "new@example.com" and member.channel == "admin"
    assert member.marketing_consent and member.marketing_consent_source == "desk"
    assert Event.objects.filter(type="membership.enrolled").count() == 1


def test_the_legal_entity_admin_saves_users_through_the_service_and_cancels(admin_client_, business_type):
    user = MembershipFactory()
    data = {
        "registration_number": "KVK-9",
        "name": "Acme",
        "vat_number": "",
        "membership_type": business_type.pk,
        "street": "",
        "postal_code": "",
        "city": "",
        "country": "",
        "user_keys": user.number,
    }
    response = admin_client_.post("/admin/memberships/legalentity/add/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    entity = LegalEntity.objects.get()
    assert list(entity.users.all()) == [user]
    assert AuditEntry.objects.filter(action="legal_entity.created").count() == 1
    admin_client_.post(
        "/admin/memberships/legalentity/",
        {"action": "cancel_selected", "_selected_action": [entity.pk], "apply": "1", "reason": "Closed"},
    )
    assert LegalEntity.objects.get().status == "cancelled"


def test_the_legal_entity_page_lists_users_and_cards(admin_client_, business_type):
    entity = LegalEntityFactory(name="Acme")
    user = MembershipFactory(legal_entity=entity)
    CardFactory(membership=None, legal_entity=entity, number="620000000001")
    page = admin_client_.get(f"/admin/memberships/legalentity/{entity.pk}/change/").content.decode()
    assert user.number in page and "620000000001" in page


def test_the_card_list_finds_a_card_and_deactivates_it(admin_client_):
    card = CardFactory(number="630000000001")
    response = admin_client_.get("/admin/memberships/card/", {"q": "630000000001"})
    assert [c.number for c in response.context["cl"].result_list] == ["630000000001"]
    admin_client_.post("/admin/memberships/card/", {"action": "deactivate_selected", "_selected_action": [card.pk]})
    assert Card.objects.get().status == "inactive"


@pytest.mark.postgres
def test_the_unfiltered_list_of_a_big_table_shows_an_estimate_instead_of_counting(admin_client_, monkeypatch):
    from django.db import connection

    from memberships.admin import common as memberships_admin

    for _ in range(3):
        MembershipFactory()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE memberships_membership")
    monkeypatch.setattr(memberships_admin, "ESTIMATE_ABOVE", 0)
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        response = admin_client_.get(CHANGELIST)
    assert response.status_code == 200
    assert any("reltuples" in q["sql"] for q in captured)
    assert not any("COUNT(*)" in q["sql"] and "memberships_membership" in q["sql"] for q in captured)
    # A search is counted exactly.
    with CaptureQueriesContext(connection) as captured:
        admin_client_.get(CHANGELIST, {"q": "nobody"})
    assert not any("reltuples" in q["sql"] for q in captured)


def test_the_admin_add_form_refuses_a_taken_email_and_a_duplicate_company(admin_client_, business_type):
    from loyalty.models import MembershipType, Program

    Program.current()
    Program.objects.update(unique_email=True)
    MembershipFactory(email="taken@example.com")
    data = {
        "membership_type": MembershipType.objects.get(key="consumer").pk,
        "first_name": "New",
        "last_name": "Member",
        "email": "taken@example.com",
        "phone": "",
        "birth_date": "",
        "street": "",
        "postal_code": "",
        "city": "",
        "country": "",
        "language": "",
        "properties": "{}",
        "marketing_consent_source_input": "",
    }
    response = admin_client_.post(f"{CHANGELIST}add/", data)
    assert response.status_code == 200
    assert "email" in response.context["adminform"].form.errors
    assert Membership.objects.count() == 1

    LegalEntityFactory(registration_number="KVK-DUP")
    response = admin_client_.post(
        "/admin/memberships/legalentity/add/",
        {"registration_number": "KVK-DUP", "name": "Other", "membership_type": business_type.pk, "user_keys": ""},
    )
    assert response.status_code == 200
    assert "registration_number" in response.context["adminform"].form.errors
    assert LegalEntity.objects.count() == 1


def test_cards_handed_out_unregistered_are_registered_as_anonymous_memberships(admin_client_):
    CardFactory(number="640000000003")
    page = admin_client_.get(CHANGELIST).content.decode()
    assert "Register unclaimed cards" in page
    url = "/admin/memberships/membership/unclaimed-cards/"
    assert admin_client_.get(url).status_code == 200
    response = admin_client_.post(
        url,
        {"card_numbers": "640000000001\n640000000002, 640000000003", "card_type": "physical", "channel": "store"},
        follow=True,
    )
    assert "Registered: 640000000001, 640000000002" in response.content.decode()
    assert "640000000003: The card number 640000000003 is already in use." in response.content.decode()
    anonymous = Membership.objects.filter(status="anonymous")
    assert anonymous.count() == 2
    assert set(Card.objects.filter(membership__in=anonymous).values_list("number", flat=True)) == {
        "640000000001",
        "640000000002",
    }
    assert admin_client_.post(url, {"card_numbers": "a b", "card_type": "physical"}).status_code == 200
    assert Membership.objects.filter(status="anonymous").count() == 2


def test_a_card_or_alternate_id_that_is_another_members_key_is_a_form_error_in_plain_words(admin_client_):
    owner = MembershipFactory()
    CardFactory(membership=owner, number="610000000077")
    member = MembershipFactory()
    data = membership_form(
        member,
        **inline_management("cards-2", total=1),
        **{"cards-2-0-number": owner.number, "cards-2-0-type": "physical"},
        **inline_management("alternate_ids-2", total=1),
        **{"alternate_ids-2-0-type": "shop", "alternate_ids-2-0-value": "610000000077"},
    )
    response = admin_client_.post(change_url(member), data)
    assert response.status_code == 200
    errors = [str(e) for formset in response.context["inline_admin_formsets"] for e in formset.formset.errors]
    assert sum("already identifies another member" in e for e in errors) == 2
    assert not Card.objects.filter(membership=member).exists()
    assert not AlternateId.objects.filter(membership=member).exists()


def test_the_admin_takes_the_members_own_number_as_its_card(admin_client_):
    member = MembershipFactory()
    data = membership_form(
        member,
        **inline_management("cards-2", total=1),
        **{"cards-2-0-number": member.number, "cards-2-0-type": "physical"},
    )
    assert admin_client_.post(change_url(member), data).status_code == 302
    assert Card.objects.get(number=member.number).membership == member
