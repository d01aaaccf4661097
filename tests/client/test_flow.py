"""An integrator's whole flow through the generated Python client, unmodified, against the running platform.

Every operation of the schema is called at least once (the last test checks that), each through the
module openapi-python-client generated for it, and each answer is parsed into the generated models.
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import time
import uuid
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.postgres

CALLED: set[str] = set()
EXAMPLES_FILE = Path(__file__).resolve().parents[2] / "loyalty" / "api" / "examples.json"


class Flow:
    """The generated client and a record of the operations called through it."""

    def __init__(self, package, platform):
        self.package = package
        api = importlib.import_module(f"{package.__name__}.api")
        self.modules = {
            info.name.rsplit(".", 1)[-1]: info.name
            for info in pkgutil.walk_packages(api.__path__, api.__name__ + ".")
            if not info.ispkg
        }
        self.client = package.AuthenticatedClient(
            base_url=platform.url, token=platform.key, prefix="Api-Key", raise_on_unexpected_status=True, timeout=60
        )
        self.anonymous = package.Client(base_url=platform.url, raise_on_unexpected_status=True)
        self.models = importlib.import_module(f"{package.__name__}.models")
        self.types = importlib.import_module(f"{package.__name__}.types")
        self.examples = Examples()

    def call(self, operation: str, expected: int, *, anonymous: bool = False, **kwargs) -> Any:
        """Call one operation, check the status, return the parsed answer (the generated model)."""
        module = importlib.import_module(self.modules[operation])
        response = module.sync_detailed(client=self.anonymous if anonymous else self.client, **kwargs)
        CALLED.add(operation)
        if response.status_code < 300:
            self.examples.record(operation, module._get_kwargs(**kwargs), response)
        assert response.status_code == HTTPStatus(expected), (operation, response.status_code, response.content[:600])
        return response.parsed

    def error(self, operation: str, expected: int, code: str, **kwargs) -> None:
        """A refusal: the documented error model with its stable code."""
        error = self.call(operation, expected, **kwargs)
        assert isinstance(error, self.models.Error), error
        assert error.code == code, (operation, error.code, error.detail)


class Examples:
    """The first successful request and answer of each operation, for the schema's examples (`make examples`
    runs the flow with RECORD_API_EXAMPLES=1 and writes loyalty/api/examples.json)."""

    LIST_ITEMS = 2  # arrays are cut to their first items: an example shows the shape, not a whole page

    def __init__(self):
        self.found: dict[str, dict[str, Any]] = {}

    @classmethod
    def shorten(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [cls.shorten(v) for v in value[: cls.LIST_ITEMS]]
        if isinstance(value, dict):
            return {k: cls.shorten(v) for k, v in value.items()}
        return value

    def record(self, operation: str, request: dict[str, Any], response) -> None:
        operation_id = "".join(w if i == 0 else w.title() for i, w in enumerate(operation.split("_")))
        entry = self.found.setdefault(operation_id, {"responses": {}})
        if "json" in request and "request" not in entry:
            entry["request"] = self.shorten(request["json"])
        status = str(int(response.status_code))
        kind = response.headers.get("Content-Type", "").split(";")[0]
        if status in entry["responses"] or status == "204":
            return
        if kind == "application/json":
            entry["responses"][status] = {"mediaType": kind, "value": self.shorten(json.loads(response.content))}
        elif kind in ("text/csv", "application/x-ndjson"):
            lines = response.content.decode("utf-8-sig").splitlines(keepends=True)[:3]
            entry["responses"][status] = {"mediaType": kind, "value": "".join(lines)}

    def write(self) -> None:
        EXAMPLES_FILE.write_text(json.dumps(dict(sorted(self.found.items())), indent=1, ensure_ascii=False) + "\n")


@pytest.fixture(scope="module")
def flow(loyalty_client, platform):
    flow = Flow(loyalty_client, platform)
    yield flow
    if os.environ.get("RECORD_API_EXAMPLES"):
        flow.examples.write()


def _now() -> datetime:
    return datetime.now(UTC)


def _wait_for_batch(flow: Flow, key: str) -> Any:
    deadline = time.monotonic() + 240
    while True:
        batch = flow.call("get_import_batch", 200, key=key)
        if batch.status in ("completed", "failed", "cancelled"):
            return batch
        assert time.monotonic() < deadline, f"import {key} still {batch.status}"
        time.sleep(0.3)


def test_the_program_and_its_catalog(flow):
    about = flow.call("get_about", 200)  # first, so the schema's recorded example is the full answer
    assert about.api_version == "v1" and about.database.status == "ok"
    about = flow.call("get_about", 200, anonymous=True)
    assert about.product == "loyalty-platform" and not about.api_version  # name and version only
    program = flow.call("get_program", 200)
    assert program.name == "Northwind Rewards"
    assert {p.key for p in program.point_types} >= {"points", "status"}
    channels = flow.call("list_channels", 200, limit=10)
    assert channels.count >= 2
    products = flow.call("search_products", 200, channel="webshop", limit=5)
    product = products.results[0]
    details = flow.call("get_product", 200, channel_key="webshop", product_key=product.key)
    assert details.key == product.key
    categories = flow.call("list_categories", 200, limit=5)
    master = categories.results[0]
    flow.call("list_category_values", 200, channel_key="webshop", key=master.key, limit=5)
    custom = flow.models.CustomCategoryInputRequest(
        key=f"flow-{uuid.uuid4().hex[:6]}",
        name="Chosen by the flow test",
        products=[flow.models.CustomCategoryProductInputRequest(channel="webshop", product_key=product.key)],
    )
    flow.call("set_custom_category", 201, body=custom)


@pytest.fixture(scope="module")
def members(flow) -> dict[str, str]:
    """Two members enrolled through the API, by role."""
    made = {}
    for role in ("buyer", "friend"):
        tag = uuid.uuid4().hex[:8]
        body = flow.models.EnrollMembershipInputRequest(
            first_name="Ada" if role == "buyer" else "Grace",
            last_name=f"Flow {tag}",
            email=f"{role}-{tag}@example.com",
            alternate_ids=[flow.models.AlternateIdInputRequest(type_="crm", value=f"CRM-{tag}")],
            channel="api",
        )
        made[role] = flow.call("enroll_member", 201, body=body).membership_number
    return made


def _basket(flow: Flow, member: str, tx_id: str | None = None, receipt: str | None = None):
    products = flow.call("search_products", 200, channel="webshop", limit=2).results
    items = [
        flow.models.TxItemInputRequest(
            product_key=p.key, quantity="2", unit_price=p.price, amount=str(2 * float(p.price))
        )
        for p in products
    ]
    total = sum(float(i.amount) for i in items)
    kwargs = {"tx_id": tx_id} if tx_id else {}
    return flow.models.TxInputRequest(
        receipt_id=receipt or f"R-{uuid.uuid4().hex[:10]}",
        membership_key=member,
        channel="webshop",
        occurred_at=_now() - timedelta(minutes=5),
        total_amount=f"{total:.2f}",
        currency="EUR",
        items=items,
        **kwargs,
    )


def test_members(flow, members):
    buyer = members["buyer"]
    found = flow.call("list_members", 200, email=f"{flow_email(flow, buyer)}")
    assert [m.membership_number for m in found.results] == [buyer]
    details = flow.call("get_member_details", 200, key=buyer)
    assert details.first_name == "Ada"
    update = flow.models.PatchedUpdateDetailsInputRequest(phone="+31612345678", language="nl")
    assert flow.call("update_member_details", 200, key=buyer, body=update).phone == "+31612345678"
    flow.call("list_member_accounts", 200, key=buyer)
    flow.call("list_member_cards", 200, key=buyer)
    remark = flow.models.RemarkInputRequest(text="Called about a missing receipt.")
    flow.call("add_remark", 201, key=buyer, body=remark)
    assert flow.call("list_remarks", 200, key=buyer).count == 1
    extra = flow.models.AlternateIdInputRequest(type_="shop", value=f"SHOP-{uuid.uuid4().hex[:8]}")
    flow.call("add_alternate_id", 201, key=buyer, body=extra)
    flow.call("remove_alternate_id", 204, key=buyer, alternate_id=extra.value, type_="shop")
    flow.error("get_member_details", 404, "membership_not_found", key="NO-SUCH-MEMBER")


def flow_email(flow: Flow, number: str) -> str:
    return flow.call("get_member_details", 200, key=number).email


def test_purchase_dry_run_booking_and_replay(flow, members):
    buyer = members["buyer"]
    dry = flow.call("book_transaction", 200, body=_basket(flow, buyer))
    assert dry.booked is False
    tx_id = f"TX-{uuid.uuid4().hex[:10]}"
    body = _basket(flow, buyer, tx_id=tx_id)
    booked = flow.call("book_transaction", 201, body=body)
    assert booked.booked is True and booked.tx_id == tx_id
    replay = flow.call("book_transaction", 201, body=body)
    assert replay.to_dict() == booked.to_dict()
    other = _basket(flow, buyer, tx_id=tx_id)
    flow.error("book_transaction", 409, "tx_id_reused", body=other)
    assert flow.call("get_transaction", 200, tx_id=tx_id).receipt_id == body.receipt_id
    flow.call("get_transaction_rewards", 200, tx_id=tx_id)
    assert flow.call("list_transactions", 200, membership=buyer).count >= 1
    flow.call("list_rewards_history", 200, membership=buyer)
    returned = flow.models.TxReversalInputRequest(receipt_id=body.receipt_id)
    flow.call("reverse_transaction", 201, body=returned)


def test_points(flow, members):
    buyer, friend = members["buyer"], members["friend"]
    grant = flow.models.AdjustInputRequest(points="120.00", reason="goodwill")
    flow.call("adjust_points", 201, key=buyer, body=grant)
    redeemable = flow.call("get_redeemable_balance", 200, key=buyer)
    assert float(redeemable.redeemable) >= 120
    reference = f"RD-{uuid.uuid4().hex[:8]}"
    redeem = flow.models.RedeemInputRequest(points="20.00", reference=reference)
    redeemed = flow.call("redeem_points", 201, key=buyer, body=redeem)
    reversal = flow.models.RedemptionReversalInputRequest(receipt_id=redeemed.receipt_id)
    flow.call("reverse_redemption", 201, body=reversal)
    flow.error(
        "redeem_points",
        409,
        "insufficient_points",
        key=buyer,
        body=flow.models.RedeemInputRequest(points="999999"),
    )
    transfer = flow.models.TransferInputRequest(points="10.00")
    flow.call("transfer_points", 201, source_key=buyer, target_key=friend, body=transfer)
    statement = flow.call("get_statement", 200, key=buyer, limit=10)
    assert statement.entries


def test_vouchers(flow, members):
    buyer = members["buyer"]
    key = f"flow-{uuid.uuid4().hex[:6]}"
    voucher_type = flow.models.VoucherTypeInputRequest(
        key=key, name="Five euro off", kind=flow.models.VoucherKindEnum("amount_off"), value="5.00", currency="EUR"
    )
    flow.call("create_voucher_type", 201, body=voucher_type)
    assert key in {t.key for t in flow.call("list_voucher_types", 200, limit=500).results}
    issued = flow.call("issue_voucher", 201, type_=key, body=flow.models.IssueInputRequest(recipient=buyer))
    assert flow.call("get_voucher", 200, token=issued.token).status == "issued"
    assert flow.call("list_vouchers", 200, recipient=buyer).count >= 1
    flow.call("convert_voucher", 200, token=issued.token, body=flow.models.ConvertInputRequest(membership_key=buyer))
    second = flow.call("issue_voucher", 201, type_=key, body=flow.models.IssueInputRequest(recipient=buyer))
    revoke = flow.models.RevokeInputRequest(reason="flow test", recipient=buyer)
    flow.call("revoke_voucher", 200, token=second.token, body=revoke)


def test_legal_entity(flow, members):
    friend = members["friend"]
    tag = uuid.uuid4().hex[:6].upper()
    entity = flow.models.LegalEntityInputRequest(
        registration_number=f"NL-FLOW-{tag}", name=f"Flow Trading {tag}", users=[friend]
    )
    flow.call("save_legal_entity", 201, type_id="business", body=entity)
    assert flow.call("get_legal_entity", 200, user_id=friend).name == entity.name
    card = flow.models.LegalEntityCardInputRequest(number=f"7770{uuid.uuid4().int % 10**8:08d}")
    flow.call("save_legal_entity_card", 201, user_id=friend, body=card)
    assert flow.call("list_legal_entity_cards", 200, user_id=friend).count == 1
    flow.call(
        "cancel_legal_entity",
        200,
        user_id=friend,
        body=flow.models.CancelMembershipInputRequest(reason="closed"),
    )


def test_imports(flow, members):
    types = flow.call("list_import_types", 200)
    assert "pointAdjustments" in {t.key for t in types}
    records = [
        {"membershipKey": members["buyer"], "points": "5.00", "reason": "import"},
        {"membershipKey": "NO-SUCH-MEMBER", "points": "5.00", "reason": "import"},
    ]
    body = [flow.models.QueueImportBodyItem.from_dict(r) for r in records]
    queued = flow.call("queue_import", 202, key="pointAdjustments", body=body)
    batch = _wait_for_batch(flow, queued.key)
    assert (batch.ok, batch.failed) == (1, 1)
    failed_csv = flow.call("download_import_records", 200, key=queued.key)
    assert b"NO-SUCH-MEMBER" in failed_csv
    csv_upload = flow.models.CsvImportUploadRequest(
        file=flow.types.File(
            payload=failed_csv.replace(b"NO-SUCH-MEMBER", members["friend"].encode()), file_name="fixed.csv"
        )
    )
    queued_csv = flow.call("queue_csv_import", 202, import_type="pointAdjustments", body=csv_upload)
    assert _wait_for_batch(flow, queued_csv.key).ok == 1
    raw = flow.types.File(payload=b"membershipKey,points,reason\n" + members["buyer"].encode() + b",1.00,raw\n")
    queued_raw = flow.call("queue_csv_import", 202, import_type="pointAdjustments", body=raw)
    assert _wait_for_batch(flow, queued_raw.key).ok == 1
    assert flow.call("list_import_batches", 200, limit=10).count >= 3
    flow.error("cancel_import_batch", 409, "batch_not_cancellable", key=queued.key)
    flow.error("cancel_import_batch_by_get", 409, "batch_not_cancellable", key=queued.key)
    flow.error("resume_import_batch", 409, "batch_not_resumable", key=queued.key)
    flow.error("resume_import_batch_by_get", 409, "batch_not_resumable", key=queued.key)
    assert flow.call("resume_import_batches_of_type", 200, type_="pointAdjustments").resumed == []
    assert flow.call("resume_import_batches_of_type_by_get", 200, type_="pointAdjustments").resumed == []


def test_import_controls(flow, members):
    """Cancel a running batch and resume it, in both forms; a large batch keeps the worker busy meanwhile."""
    records = [
        flow.models.QueueImportBodyItem.from_dict(
            {"membershipKey": members["friend"], "points": "0.01", "reason": f"bulk {i}"}
        )
        for i in range(2_000)
    ]
    key = flow.call("queue_import", 202, key="pointAdjustments", body=records).key
    assert flow.call("cancel_import_batch", 200, key=key).status == "cancelled"
    assert flow.call("resume_import_batch", 200, key=key).status in ("queued", "running")
    assert flow.call("cancel_import_batch_by_get", 200, key=key).status == "cancelled"
    assert flow.call("resume_import_batch_by_get", 200, key=key).status in ("queued", "running")
    assert flow.call("cancel_import_batch", 200, key=key).status == "cancelled"
    resumed = flow.call("resume_import_batches_of_type", 200, type_="pointAdjustments").resumed
    assert key in [batch.key for batch in resumed]
    flow.call("resume_import_batches_of_type_by_get", 200, type_="pointAdjustments")
    batch = _wait_for_batch(flow, key)
    assert (batch.status, batch.ok) == ("completed", 2_000)


def test_exports(flow, members):
    templates = flow.call("list_export_templates", 200, q="member")
    assert templates
    csv = flow.call("run_export", 200, template="bookings", membership=members["buyer"])
    assert csv.startswith(b"bookingId") or b"," in csv.splitlines()[0]
    job = flow.call("run_export", 202, template="memberships", async_=True, format_=flow.models.RunExportFormat("json"))
    deadline = time.monotonic() + 90
    while job.status != "completed":
        assert time.monotonic() < deadline and job.status in ("queued", "running"), job.status
        time.sleep(0.3)
        job = flow.call("get_export_job", 200, key=job.key)
    lines = flow.call("download_export_job", 200, key=job.key).splitlines()
    assert all(json.loads(line) for line in lines)


def test_events(flow, members):
    listed = flow.call("list_events", 200, membership=members["buyer"], limit=20)
    assert {e.type_ for e in listed.results} >= {"membership.enrolled"}
    batch = flow.call("acknowledge_events", 200, limit=50)
    assert batch.events
    flow.call("acknowledge_events", 200, limit=50, ack=batch.ack)
    flow.call("list_audit_entries", 200, limit=5)


def test_merge_claim_and_cancel(flow, members):
    tag = uuid.uuid4().hex[:8]
    body = flow.models.EnrollMembershipInputRequest(first_name="Dup", last_name=tag, email=f"dup-{tag}@example.com")
    duplicate = flow.call("enroll_member", 201, body=body).membership_number
    merge = flow.models.MergeMembershipsInputRequest(source_key=duplicate, target_key=members["friend"])
    flow.call("merge_memberships", 200, body=merge)
    merged = flow.call("get_member_details", 200, key=duplicate)  # the merged number shows itself
    assert (merged.membership_number, merged.merged_into) == (duplicate, members["friend"])
    anonymous = next(
        m.membership_number
        for m in flow.call(
            "list_members", 200, status=[flow.models.ListMembersStatusItem("anonymous")], limit=1
        ).results
    )
    claim = flow.models.ClaimMembershipInputRequest(
        first_name="Claire", last_name=tag, email=f"claim-{tag}@example.com"
    )
    assert flow.call("claim_membership", 200, key=anonymous, body=claim).status == "active"
    card = flow.call("list_member_cards", 200, key=anonymous).results[0]
    flow.call("delete_card", 204, key=card.number)
    cancel = flow.models.CancelMembershipInputRequest(reason="moved abroad")
    assert flow.call("cancel_membership", 200, key=members["buyer"], body=cancel).status == "cancelled"


def test_webhooks(flow, members):
    """A receiver registered through the API gets the purchase the flow books, signed, from the real worker."""
    from tests.webhooks.conftest import Receiver, _start
    from webhooks.signing import verify

    types = flow.call("list_webhook_event_types", 200)
    assert {"tx.booked", "points.earned", "webhook.test"} <= {t.name for t in types}
    receiver_context = _start(Receiver("127.0.0.1"))
    receiver = next(receiver_context)
    try:
        body = flow.models.EndpointInputRequest(
            url=f"{receiver.url}/crm", event_types=["tx.booked", "points.*"], description="CRM"
        )
        created = flow.call("create_webhook_endpoint", 201, body=body)
        assert created.secret.startswith("whsec_")
        assert [e.id for e in flow.call("list_webhook_endpoints", 200).results] == [created.id]
        assert flow.call("get_webhook_endpoint", 200, id=created.id).url == f"{receiver.url}/crm"
        flow.call("test_webhook_endpoint", 202, id=created.id)
        booked = flow.call("book_transaction", 201, body=_basket(flow, members["friend"], tx_id=f"hook-{uuid.uuid4()}"))
        deadline = time.monotonic() + 60
        while not {"tx.booked", "points.earned"} <= {json.loads(r.body)["type"] for r in receiver.requests}:
            assert time.monotonic() < deadline, [json.loads(r.body)["type"] for r in receiver.requests]
            time.sleep(0.3)
        for request in receiver.requests:
            verify(request.body, dict(request.headers), [created.secret])
        bodies = [json.loads(r.body) for r in receiver.requests]
        tx = next(b for b in bodies if b["type"] == "tx.booked")
        assert tx["data"]["membershipNumber"] == members["friend"] and booked.tx_id
        deliveries = flow.call("list_webhook_deliveries", 200, endpoint=created.id).results
        assert {d.status for d in deliveries} == {"delivered"} and len(deliveries) == len(receiver.requests)
        flow.call("retry_webhook_delivery", 202, id=deliveries[0].id)
        rotated = flow.call("rotate_webhook_secret", 200, id=created.id)
        assert rotated.secret != created.secret
        change = flow.models.EndpointUpdateInputRequest(enabled=False)
        assert flow.call("update_webhook_endpoint", 200, id=created.id, body=change).enabled is False
        flow.error("test_webhook_endpoint", 409, "webhook_endpoint_disabled", id=created.id)
        flow.call("delete_webhook_endpoint", 204, id=created.id)
        flow.error("get_webhook_endpoint", 404, "webhook_endpoint_not_found", id=created.id)
    finally:
        next(receiver_context, None)


def test_every_operation_was_called(flow):
    """The flow reaches every operation of the schema through the generated client."""
    assert set(flow.modules) - CALLED == set()
