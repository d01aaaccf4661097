"""The audit log for people: a manager's own change is on the first page in words ("currency:
EUR → USD"), what an import wrote is one line per batch with a drill-down, and the filters work."""

import re

import pytest
from django.urls import reverse

from loyalty.actors import Actor
from loyalty.audit import changes_in_words
from loyalty.models import AuditEntry, Program, Sponsor
from loyalty.services import save_configuration
from tests.factories import StaffUserFactory

pytestmark = pytest.mark.django_db
LOG = "/admin/loyalty/auditentry/"


@pytest.fixture
def manager_user(db):
    return StaffUserFactory(username="anna")


@pytest.fixture
def manager(client, manager_user):
    client.force_login(manager_user)
    return client


@pytest.fixture
def imported(api, django_capture_on_commit_callbacks, ledger_program, eager_worker):
    """Three memberships imported through POST /imports/memberships by an API client."""
    from imports.models import ImportBatch

    records = [{"firstName": "Imp", "lastName": f"Orted{i}", "email": f"imp{i}@example.com"} for i in range(3)]
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/v1/imports/memberships", records, format="json")
    assert response.status_code == 202, response.content
    return ImportBatch.objects.get(key=response.json()["key"])


def rows(html: str) -> list[str]:
    body = html.split('id="result_list"', 1)[1].split("</table>", 1)[0]
    return [re.sub(r"<[^>]+>", " ", row) for row in body.split("<tr")[2:]]


def test_a_managers_change_is_in_words_and_imports_are_one_line_per_batch(manager, manager_user, imported):
    program = Program.current()
    program.currency = "USD"
    save_configuration(program, actor=Actor(user=manager_user))
    per_record = AuditEntry.objects.filter(request_id=f"import-{imported.key}")
    assert per_record.count() >= 3  # each imported membership has its entry

    html = manager.get(LOG).content.decode()

    listed = rows(html)
    assert any("user:anna" in row and "Program updated" in row and "currency: EUR → USD" in row for row in listed)
    assert not any("Imp Orted" in row or "Membership enrolled" in row for row in listed)
    group = html.split('id="import-groups"', 1)[1].split("</div>", 1)[0]
    assert f"Import batch {imported.key[:8]} (Memberships" in group and "3 records applied" in group
    assert reverse("admin:imports_importbatch_change", args=[imported.pk]) in group

    drill_down = manager.get(f"{LOG}?request_id=import-{imported.key}").content.decode()
    assert len(rows(drill_down)) == per_record.count()
    assert all("Membership enrolled" in row or "Import" in row for row in rows(drill_down))
    everything = manager.get(f"{LOG}?written_by=imports").content.decode()
    assert len(rows(everything)) == per_record.count()


def test_filters_by_person_action_and_object_type(manager, manager_user, ledger_program):
    save_configuration(Sponsor(key="extra", name="Extra"), actor=Actor(user=manager_user))
    by_action = rows(manager.get(f"{LOG}?action=sponsor.created&actor_type=user").content.decode())
    assert len(by_action) == 1 and "Extra" in by_action[0]
    assert len(rows(manager.get(f"{LOG}?action=sponsor.created").content.decode())) == 3  # with the fixture's two
    by_type = rows(manager.get(f"{LOG}?object_type=loyalty.sponsor&actor_type=user").content.decode())
    assert len(by_type) == 1
    assert rows(manager.get(f"{LOG}?q=user:anna").content.decode())


def test_an_entry_shows_its_changes_as_a_list_and_links_to_its_object(manager, manager_user, ledger_program):
    save_configuration(Sponsor(key="extra", name="Extra"), actor=Actor(user=manager_user))
    entry = AuditEntry.objects.get(action="sponsor.created", actor_type="user")
    html = manager.get(reverse("admin:loyalty_auditentry_change", args=[entry.pk])).content.decode()
    assert "<li>name: Extra</li>" in html
    assert reverse("admin:loyalty_sponsor_change", args=[entry.object_id]) in html
    assert "{" not in html.split('id="content-main"', 1)[1].split("</form>", 1)[0]  # no raw JSON


def test_changes_read_as_sentences():
    assert changes_in_words({"currency": ["EUR", "USD"], "active": [True, False]}) == [
        "currency: EUR → USD",
        "active: yes → no",
    ]
    assert changes_in_words({"items": {"1": "2"}, "note": None, "city": ["", "Utrecht"]}) == [
        "items: 1 2",
        "note: (empty)",
        "city: (empty) → Utrecht",
    ]
    assert changes_in_words({f"f{i}": [i, i + 1] for i in range(5)}, limit=2) == [
        "f0: 0 → 1",
        "f1: 1 → 2",
        "and 3 more",
    ]
    assert changes_in_words({}) == []


def test_ids_of_what_an_entry_refers_to_read_as_names():
    names = {"sponsor_id": {"3": "Bright Fuel"}, "membership_type_id": {"6": "Consumer"}}
    changes = {"sponsor_id": [None, 3], "membership_type_id": 6, "tier_id": 2}
    assert changes_in_words(changes, names=names) == [
        "sponsor: Bright Fuel",
        "membership type: Consumer",
        "tier id: 2",  # no names asked for: as recorded
    ]
    assert changes_in_words({"sponsor_id": [3, 9]}, names=names) == ["sponsor: Bright Fuel → (removed, id 9)"]


def test_the_log_names_sponsors_and_types_in_a_fixed_number_of_queries(manager, manager_user, ledger_program):
    from ledger.models import PointType

    def listing() -> tuple[str, int]:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            html = manager.get(LOG, {"written_by": "everything"}).content.decode()
        return html, len(queries)

    actor = Actor(user=manager_user)
    save_configuration(PointType(key="miles", name="Air miles", precision=0), actor=actor)
    html, few = listing()
    for n in range(5):
        save_configuration(Sponsor(key=f"s{n}", name=f"Sponsor {n}"), actor=actor)
        save_configuration(PointType(key=f"p{n}", name=f"Kind {n}", precision=0), actor=actor)
    html, many = listing()
    assert many == few
    assert "point type id" not in html
