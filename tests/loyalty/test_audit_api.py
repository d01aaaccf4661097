import pytest

from loyalty.actors import Actor
from loyalty.audit import record_audit
from loyalty.models import AuditEntry
from tests.factories import ApiClientFactory, SponsorFactory


@pytest.mark.django_db
def test_the_audit_log_filters_by_actor_object_action_and_time(api):
    system_actor = Actor.for_system("auditor")
    sponsor = SponsorFactory()
    record_audit(system_actor, "sponsor.updated", sponsor, changes={"name": ["a", "b"]})
    record_audit(system_actor, "tier.updated", object_type="loyalty.tier", object_id="7")
    url = "/api/v1/audits"
    assert [e["action"] for e in api.get(url, {"objectType": "loyalty.sponsor"}).json()["results"]] == [
        "sponsor.updated"
    ]
    assert len(api.get(url, {"objectType": "loyalty.tier", "objectId": "7"}).json()["results"]) == 1
    assert len(api.get(url, {"actor": "system:auditor"}).json()["results"]) == 2
    assert api.get(url, {"actorType": "client"}).json()["results"] == []
    later = AuditEntry.objects.latest("id").created_at.isoformat()
    assert [e["action"] for e in api.get(url, {"since": later}).json()["results"]] == ["tier.updated"]
    assert api.get(url, {"until": later}).json()["results"][0]["action"] == "sponsor.updated"


@pytest.mark.django_db
def test_the_audit_log_is_newest_first_and_cursor_paginated_with_constant_queries(
    api, system_actor, django_assert_max_num_queries
):
    client = ApiClientFactory()
    for i in range(25):
        record_audit(system_actor, "x.done", client, changes={"i": [i, i + 1]})
    first = api.get("/api/v1/audits?limit=10").json()
    ids = [e["id"] for e in first["results"]]
    assert ids == sorted(ids, reverse=True)
    assert "count" not in first and first["next"]
    with django_assert_max_num_queries(6):
        second = api.get(first["next"]).json()
    assert max(e["id"] for e in second["results"]) < min(ids)
