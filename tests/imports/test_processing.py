"""The worker: chunks claimed safely, a record applied at most once whatever happens (re-queue,
redelivery, a worker dying mid-chunk), cancel stops between chunks, resume continues; the control
and report endpoints; authentication and scopes."""

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from imports.models import BatchStatus, ImportBatch, ImportRecord, RecordStatus
from imports.registry import all_types
from imports.services import claim_chunk, process_batch
from imports.tasks import process_import_batch
from loyalty.models import AuditEntry, Event
from memberships.models import Membership
from tests.imports.conftest import EXPORTS, IMPORTS, queries

pytestmark = pytest.mark.django_db


def people(n, start=0):
    return [{"firstName": "P", "lastName": f"N{i}", "email": f"p{i}@example.com"} for i in range(start, start + n)]


def queue(api, records, import_type="memberships"):
    """Queue without running the worker (its on_commit callback never fires in a test transaction)."""
    response = api.post(f"{IMPORTS}/{import_type}", records, format="json")
    assert response.status_code == 202, response.json()
    return ImportBatch.objects.get(key=response.json()["key"])


def state(batch):
    batch.refresh_from_db()
    return batch.status, batch.ok_count, batch.failed_count


@override_settings(IMPORT_CHUNK_SIZE=2)
def test_cancel_stops_between_chunks_and_resume_applies_the_rest_once(api, program, run):
    batch = queue(api, people(6))
    process_batch(batch.pk, max_chunks=1)
    assert state(batch) == (BatchStatus.RUNNING, 2, 0)

    response = api.post(f"{IMPORTS}/cancelbatch", {"key": batch.key}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert process_batch(batch.pk)["processed"] == 0  # a worker that wakes up now does nothing
    assert state(batch) == (BatchStatus.CANCELLED, 2, 0)
    assert Membership.objects.count() == 2

    response = run(lambda: api.get(f"{IMPORTS}/queuebatch", {"key": batch.key}))
    assert response.status_code == 200, response.json()
    assert state(batch) == (BatchStatus.COMPLETED, 6, 0)
    assert Membership.objects.count() == 6
    assert sorted(
        AuditEntry.objects.filter(object_id=str(batch.pk), action__startswith="import.").values_list(
            "action", flat=True
        )
    ) == [
        "import.cancelled",
        "import.queued",
        "import.resumed",
    ]


@override_settings(IMPORT_CHUNK_SIZE=2)
def test_a_cancel_during_a_chunk_lets_that_chunk_finish_and_stops_there(api, program, monkeypatch):
    from imports.services import cancel_batch
    from loyalty.actors import Actor

    batch = queue(api, people(6))
    from imports.registry import get_type

    memberships = get_type("memberships")
    original = memberships.apply
    calls = []

    def apply_then_cancel(data, context):
        calls.append(context.line)
        if len(calls) == 1:
            cancel_batch(batch=batch, actor=Actor.for_system("tests"))
        return original(data, context)

    monkeypatch.setattr(memberships, "apply", apply_then_cancel)
    monkeypatch.setattr(memberships, "apply_bulk", None)  # one record at a time, to cancel inside a chunk
    process_batch(batch.pk)
    assert calls == [1, 2]
    assert state(batch) == (BatchStatus.CANCELLED, 2, 0)
    assert ImportRecord.objects.filter(batch=batch, status=RecordStatus.PENDING).count() == 4


def test_a_redelivered_task_applies_nothing_twice(api, program, run):
    batch = queue(api, people(3))
    process_import_batch.apply(args=(batch.pk,))
    process_import_batch.apply(args=(batch.pk,))  # the broker delivers the same message again
    assert state(batch) == (BatchStatus.COMPLETED, 3, 0)
    assert Membership.objects.count() == 3
    assert Event.objects.filter(type="import.completed").count() == 1


def test_requeueing_a_completed_batch_is_refused_and_applies_nothing(api, program, run):
    batch = queue(api, people(2))
    process_batch(batch.pk)
    response = run(lambda: api.post(f"{IMPORTS}/queuebatch", {"key": batch.key}, format="json"))
    assert response.status_code == 409 and response.json()["code"] == "batch_not_resumable"
    assert Membership.objects.count() == 2


@override_settings(IMPORT_CHUNK_SIZE=2)
def test_a_chunk_claimed_by_a_worker_that_died_is_finished_by_another_once(api, program):
    batch = queue(api, people(4))
    _token, ids = claim_chunk(batch, 2)  # this worker dies before applying anything
    assert len(ids) == 2
    process_batch(batch.pk)  # another worker: takes the rest, leaves the fresh claim alone
    assert state(batch) == (BatchStatus.RUNNING, 2, 0)
    assert ImportRecord.objects.filter(batch=batch, status=RecordStatus.CLAIMED).count() == 2

    ImportRecord.objects.filter(pk__in=ids).update(claimed_at=timezone.now() - timedelta(hours=1))  # timed out
    process_batch(batch.pk)
    assert state(batch) == (BatchStatus.COMPLETED, 4, 0)
    assert Membership.objects.count() == 4


def test_a_late_worker_holding_an_old_claim_applies_nothing(api, program):
    from imports.registry import get_type
    from imports.services.processing import _apply_chunk

    batch = queue(api, people(2))
    old_token, ids = claim_chunk(batch, 2)
    ImportRecord.objects.filter(pk__in=ids).update(claimed_at=timezone.now() - timedelta(hours=1))
    process_batch(batch.pk)  # reclaimed and applied by a second worker
    assert _apply_chunk(batch, get_type("memberships"), old_token, ids, {}) == 0  # the first one wakes up
    assert Membership.objects.count() == 2


def test_resume_releases_a_dead_workers_claims_at_once(api, program, run):
    batch = queue(api, people(3))
    claim_chunk(batch, 3)
    api.post(f"{IMPORTS}/cancelbatch", {"key": batch.key}, format="json")
    run(lambda: api.post(f"{IMPORTS}/queuebatch", {"key": batch.key}, format="json"))
    assert state(batch) == (BatchStatus.COMPLETED, 3, 0)


def test_queuetype_resumes_every_cancelled_batch_of_the_type(api, program, run):
    first, second = queue(api, people(2)), queue(api, people(2, start=10))
    for batch in (first, second):
        api.get(f"{IMPORTS}/cancelbatch", {"key": batch.key})
    response = run(lambda: api.post(f"{IMPORTS}/queuetype", {"type": "memberships"}, format="json"))
    assert response.status_code == 200
    assert {b["key"] for b in response.json()["resumed"]} == {first.key, second.key}
    assert state(first)[0] == state(second)[0] == BatchStatus.COMPLETED
    assert Membership.objects.count() == 4
    assert api.get(f"{IMPORTS}/queuetype", {"type": "memberships"}).json() == {"resumed": []}


@pytest.mark.parametrize(
    ("path", "params", "status", "code"),
    [
        ("cancelbatch", {}, 400, "validation_error"),
        ("cancelbatch", {"key": "nope"}, 404, "batch_not_found"),
        ("queuebatch", {"key": "x" * 40}, 400, "validation_error"),
        ("queuetype", {"type": "spaceships"}, 404, "unknown_import_type"),
        ("queuetype", {"type": "memberships", "extra": "1"}, 400, "validation_error"),
    ],
)
@pytest.mark.parametrize("method", ["get", "post"])
def test_control_actions_refuse_bad_parameters(api, program, path, params, status, code, method):
    if method == "get":
        response = api.get(f"{IMPORTS}/{path}", params)
    else:
        response = api.post(f"{IMPORTS}/{path}", params, format="json")
    assert response.status_code == status, response.json()
    assert response.json()["code"] == code


def test_cancelling_a_completed_batch_is_a_409(api, program):
    batch = queue(api, people(1))
    process_batch(batch.pk)
    response = api.get(f"{IMPORTS}/cancelbatch", {"key": batch.key})
    assert response.status_code == 409 and response.json()["code"] == "batch_not_cancellable"


@pytest.mark.parametrize("body", [{"firstName": "A"}, "text", []])
def test_a_json_import_that_is_not_a_non_empty_array_is_refused(api, program, body):
    response = api.post(f"{IMPORTS}/memberships", body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] in ("invalid_body", "empty_import")
    assert not ImportBatch.objects.exists()


def test_an_unknown_import_type_is_a_404(api, program):
    response = api.post(f"{IMPORTS}/spaceships", people(1), format="json")
    assert response.status_code == 404 and response.json()["code"] == "unknown_import_type"


def test_malformed_json_is_a_400(api, program):
    response = api.generic("POST", f"{IMPORTS}/memberships", "[{", content_type="application/json")
    assert response.status_code == 400 and response.json()["code"] == "malformed_request"


def test_the_report_lists_batches_with_counts_and_filters_in_a_fixed_number_of_queries(api, program):
    for _ in range(3):
        process_batch(queue(api, [*people(1), {"firstName": "x"}]).pk)
    cancelled = queue(api, people(1, start=50))
    api.get(f"{IMPORTS}/cancelbatch", {"key": cancelled.key})
    body = api.get(f"{IMPORTS}/report").json()
    assert body["count"] == 4
    first = body["results"][0]
    assert first["key"] == cancelled.key and first["status"] == "cancelled" and first["pending"] == 1
    done = body["results"][1]
    assert (done["total"], done["ok"], done["failed"], done["percent"]) == (2, 1, 1, 100)
    assert api.get(f"{IMPORTS}/report", {"status": "cancelled"}).json()["count"] == 1
    assert api.get(f"{IMPORTS}/report", {"type": "cards"}).json()["count"] == 0
    assert api.get(f"{IMPORTS}/report", {"limit": 2}).json()["next"]
    few = queries(lambda: api.get(f"{IMPORTS}/report"))
    for _ in range(5):
        queue(api, people(1, start=100))
    assert queries(lambda: api.get(f"{IMPORTS}/report")) == few
    assert api.get(f"{IMPORTS}/report", {"status": "bogus"}).status_code == 400
    assert api.get(f"{IMPORTS}/report", {"colour": "red"}).status_code == 400


def test_one_batch_shows_its_records_filtered_by_status_in_a_fixed_number_of_queries(api, program):
    batch = queue(api, [*people(3), {"firstName": "x"}])
    process_batch(batch.pk)
    body = api.get(f"{IMPORTS}/{batch.key}", {"status": "failed"}).json()
    assert body["recordsCount"] == 1 and body["records"][0]["errorCode"] == "validation_error"
    assert body["records"][0]["errors"][0]["field"] == "lastName"
    page = api.get(f"{IMPORTS}/{batch.key}", {"limit": 2}).json()
    assert len(page["records"]) == 2 and page["recordsNextOffset"] == 2 and page["recordsCount"] == 4
    few = queries(lambda: api.get(f"{IMPORTS}/{batch.key}"))
    big = queue(api, people(40, start=200))
    process_batch(big.pk)
    assert queries(lambda: api.get(f"{IMPORTS}/{big.key}")) == few
    assert api.get(f"{IMPORTS}/nope").json()["code"] == "batch_not_found"
    assert api.get(f"{IMPORTS}/{batch.key}", {"status": "weird"}).status_code == 400


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", f"{IMPORTS}/importtypes"),
        ("get", f"{IMPORTS}/report"),
        ("get", f"{IMPORTS}/cancelbatch?key=x"),
        ("post", f"{IMPORTS}/memberships"),
        ("post", "/api/v1/csvimports/memberships"),
        ("get", f"{EXPORTS}/templates"),
        ("get", f"{EXPORTS}/memberships"),
    ],
)
def test_every_endpoint_needs_a_key_with_the_imports_scope(anon, make_key, program, method, path):
    from rest_framework.test import APIClient

    response = getattr(anon, method)(path)
    assert response.status_code == 401
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {make_key(['read', 'write'])}")
    response = getattr(client, method)(path)
    assert response.status_code == 403 and response.json()["code"] == "insufficient_scope"


def test_a_json_import_larger_than_djangos_upload_memory_limit_is_accepted(api, program, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000  # Django's cap on request.body; an import has its own limit
    records = [{"firstName": "P", "lastName": "Q" * 50, "email": f"big{i}@example.com"} for i in range(300)]
    response = api.post(f"{IMPORTS}/memberships", records, format="json")
    assert response.status_code == 202, response.json()
    assert ImportBatch.objects.get(key=response.json()["key"]).total == 300


def test_a_batch_of_an_unknown_type_fails_as_a_whole_with_an_event(program):
    from tests.imports.factories import ImportBatchFactory, ImportRecordFactory

    batch = ImportBatchFactory(import_type="retired", total=1)
    ImportRecordFactory(batch=batch, data={"x": 1})
    process_import_batch.apply(args=(batch.pk,))
    batch.refresh_from_db()
    assert batch.status == BatchStatus.FAILED and "retired" in batch.error
    assert Event.objects.filter(type="import.failed", payload__key=batch.key).exists()


def test_the_report_filters_by_creation_time(api, program):
    from tests.imports.factories import ImportBatchFactory

    old, new = ImportBatchFactory(), ImportBatchFactory()
    ImportBatch.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=3))
    since = (timezone.now() - timedelta(days=1)).isoformat()
    body = api.get(f"{IMPORTS}/report", {"since": since}).json()
    assert [b["key"] for b in body["results"]] == [new.key]
    body = api.get(f"{IMPORTS}/report", {"until": since}).json()
    assert [b["key"] for b in body["results"]] == [old.key]


@override_settings(IMPORT_TASKS_PER_BATCH=3, IMPORT_CHUNK_SIZE=2)
def test_several_tasks_queued_for_one_batch_share_it_and_apply_each_record_once(api, program, run):
    from unittest import mock

    with mock.patch.object(process_import_batch, "delay", wraps=process_import_batch.delay) as delay:
        response = run(lambda: api.post(f"{IMPORTS}/memberships", people(7), format="json"))
    assert delay.call_count == 3
    batch = ImportBatch.objects.get(key=response.json()["key"])
    assert state(batch) == (BatchStatus.COMPLETED, 7, 0)
    assert Membership.objects.count() == 7
    assert AuditEntry.objects.filter(action="membership.enrolled").count() == 7
    assert Event.objects.filter(type="import.completed").count() == 1


@override_settings(IMPORT_TASKS_PER_BATCH=3)
def test_types_whose_records_depend_on_the_file_order_get_one_task(api, program, run, make_member):
    """Adjustments, transfers and transactions rely on earlier records (balances, caps): one worker,
    so the file's order holds, whatever IMPORT_TASKS_PER_BATCH says."""
    from unittest import mock

    member = make_member()
    records = [{"membershipKey": member.number, "points": "1.00", "reason": f"r{i}"} for i in range(3)]
    with mock.patch.object(process_import_batch, "delay", wraps=process_import_batch.delay) as delay:
        response = run(lambda: api.post(f"{IMPORTS}/pointAdjustments", records, format="json"))
    assert response.status_code == 202, response.content
    assert delay.call_count == 1
    assert [t.key for t in all_types() if t.parallel] == ["alternateIds", "cards", "memberships"]
