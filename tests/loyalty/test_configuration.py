"""Program configuration: services, the admin that calls them, and the audit log and events they write."""

import pytest

from loyalty.errors import InvalidInput
from loyalty.models import AuditEntry, Event, Program, Sponsor
from loyalty.services import delete_configuration, save_configuration
from tests.factories import SponsorFactory, StaffUserFactory


@pytest.mark.django_db
def test_saving_configuration_writes_one_audit_entry_and_one_event_with_the_changes(system_actor):
    sponsor = save_configuration(Sponsor(key="acme", name="Acme"), actor=system_actor)
    sponsor.name = "Acme Stores"
    save_configuration(sponsor, actor=system_actor)
    save_configuration(sponsor, actor=system_actor)  # unchanged: nothing written

    entries = list(AuditEntry.objects.filter(object_type="loyalty.sponsor").order_by("id"))
    assert [e.action for e in entries] == ["sponsor.created", "sponsor.updated"]
    assert entries[1].changes == {"name": ["Acme", "Acme Stores"]}
    assert entries[1].actor_label == "system:tests"
    assert list(Event.objects.filter(type__startswith="sponsor.").values_list("type", flat=True)) == [
        "sponsor.created",
        "sponsor.updated",
    ]


@pytest.mark.django_db
def test_a_new_default_sponsor_takes_the_flag_from_the_old_one(system_actor):
    old = save_configuration(Sponsor(key="old", name="Old", is_default=True), actor=system_actor)
    save_configuration(Sponsor(key="new", name="New", is_default=True), actor=system_actor)
    old.refresh_from_db()
    assert not old.is_default
    assert list(Sponsor.objects.filter(is_default=True).values_list("key", flat=True)) == ["new"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("obj", "field"),
    [
        (Sponsor(key="Bad Key!", name="x"), "key"),
        (Program(name="P", currency="euro"), "currency"),
        (Program(name="P", time_zone="Mars/Olympus"), "time_zone"),
        (Program(name="P", points_precision=9), "points_precision"),
    ],
)
def test_invalid_configuration_is_refused_and_nothing_is_written(system_actor, obj, field):
    with pytest.raises(InvalidInput) as refused:
        save_configuration(obj, actor=system_actor)
    assert field in {e["field"] for e in refused.value.errors}
    assert not AuditEntry.objects.exists() and not Event.objects.exists()


@pytest.mark.django_db
def test_deleting_is_audited(system_actor):
    sponsor = SponsorFactory()
    delete_configuration(sponsor, actor=system_actor)
    entry = AuditEntry.objects.get(action="sponsor.deleted")
    assert entry.object_repr == sponsor.name
    assert not Sponsor.objects.exists()


@pytest.mark.django_db
def test_there_is_only_one_program(system_actor):
    first = Program.current()
    assert Program.current().pk == first.pk
    with pytest.raises(InvalidInput):
        save_configuration(Program(name="Second"), actor=system_actor)


@pytest.mark.django_db
def test_an_admin_change_goes_through_the_service_and_shows_in_the_audit_api(client, api, system_actor):
    program = save_configuration(Program(name="Old name"), actor=system_actor)
    staff = StaffUserFactory(username="manager")
    client.force_login(staff)
    form = {
        "name": "New name",
        "currency": "EUR",
        "time_zone": "Europe/Amsterdam",
        "points_precision": 2,
        "rounding": "half_up",
        "unknown_products": "qualify",
        "expiry_forecast_days": 30,
        "support_adjustment_limit": "100",
        "anonymous_on_unknown_card": "on",
        "tier_window": "rolling",
        "tier_grace_days": 30,
    }
    response = client.post(f"/admin/loyalty/program/{program.pk}/change/", form)
    assert response.status_code == 302, response.content[:2000]

    body = api.get("/api/v1/audits?action=program.updated").json()
    entry = body["results"][0]
    assert entry["actor"] == "user:manager" and entry["actorType"] == "user"
    assert entry["changes"]["name"] == ["Old name", "New name"]
    assert entry["changes"]["timeZone"] == ["UTC", "Europe/Amsterdam"]
    assert entry["requestId"]
    assert entry["remoteAddr"] == "127.0.0.1"
    events = api.get("/api/v1/loyaltyops/events/list?type=program.updated").json()["results"]
    assert events[0]["payload"]["changes"]["name"] == ["Old name", "New name"]


@pytest.mark.django_db
def test_admin_sponsor_add_and_delete_are_audited(client):
    client.force_login(StaffUserFactory())
    client.post("/admin/loyalty/sponsor/add/", {"key": "fuel", "name": "Fuel", "active": "on"})
    sponsor = Sponsor.objects.get(key="fuel")
    client.post(f"/admin/loyalty/sponsor/{sponsor.pk}/delete/", {"post": "yes"})
    assert list(AuditEntry.objects.order_by("id").values_list("action", flat=True)) == [
        "sponsor.created",
        "sponsor.deleted",
    ]


@pytest.mark.django_db
def test_admin_pages_of_the_program_open(client, system_actor):
    save_configuration(Program(name="P"), actor=system_actor)
    client.force_login(StaffUserFactory())
    for url in [
        "/admin/",
        "/admin/loyalty/program/",
        "/admin/loyalty/sponsor/",
        "/admin/loyalty/tier/",
        "/admin/loyalty/membershiptype/",
        "/admin/loyalty/apiclient/",
        "/admin/loyalty/apikey/",
        "/admin/loyalty/apikey/add/",
        "/admin/loyalty/auditentry/",
        "/admin/loyalty/event/",
    ]:
        assert client.get(url).status_code == 200, url


@pytest.mark.django_db
def test_the_admin_requires_a_staff_login(client):
    response = client.get("/admin/loyalty/program/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
