"""The vouchers admin, through Django's test client: every change goes through the services."""

import csv
import io

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME

from ledger.selectors import balance_of
from ledger.verify import verify
from loyalty.models import AuditEntry
from tests.factories import StaffUserFactory
from tests.vouchers.factories import issue
from vouchers.models import IssueBatch, Voucher, VoucherType
from vouchers.services import convert_voucher

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    client.force_login(StaffUserFactory(username="manager"))
    return client


def test_the_type_list_shows_per_type_counts_and_stock_left(staff_client, make_type, member, system_actor):
    voucher_type = make_type(key="counted", name="Counted", stock=10)
    used, revoked, _ = issue(voucher_type), issue(voucher_type), issue(voucher_type)
    convert_voucher(token=used.token, actor=system_actor)
    staff_client.post(
        "/admin/vouchers/voucher/",
        {"action": "revoke", ACTION_CHECKBOX_NAME: [revoked.pk], "apply": "1", "reason": "test"},
    )
    response = staff_client.get("/admin/vouchers/vouchertype/")
    assert response.status_code == 200
    row = next(r for r in response.context["cl"].result_list if r.key == "counted")
    assert (row.n_issued, row.n_converted, row.n_revoked, row.n_expired) == (3, 1, 1, 0)
    content = response.content.decode()
    assert "Stock left" in content and ">8<" in content  # 10 minus the two still out


def test_a_type_saved_in_the_admin_is_validated_and_audited(staff_client, ledger_program):
    form = {
        "key": "admin-made",
        "name": "Made in the admin",
        "description": "",
        "active": "on",
        "sponsor": ledger_program.shop.pk,
        "kind": "percent_off",
        "value": "15",
        "currency": "",
        "product_key": "",
        "code_length": 12,
        "code_alphabet": "23456789ABCDEFGHJKMNPQRSTUVWXYZ",
        "code_prefix": "",
        "code_suffix": "",
        "code_pattern": "",
        "uses_per_voucher": 1,
        # channels: no box ticked, so everywhere
    }
    response = staff_client.post("/admin/vouchers/vouchertype/add/", form)
    assert response.status_code == 302, response.context["adminform"].form.errors
    voucher_type = VoucherType.objects.get(key="admin-made")
    assert AuditEntry.objects.filter(action="vouchertype.created", actor_label="user:manager").exists()
    assert voucher_type.channels == []
    bad = staff_client.post("/admin/vouchers/vouchertype/add/", {**form, "key": "bad", "code_length": 6})
    assert bad.status_code == 200 and not VoucherType.objects.filter(key="bad").exists()


def test_a_types_channels_are_ticked_from_the_existing_channels(staff_client, make_type, ledger_program):
    from loyalty.actors import Actor
    from promotions.catalog_services import save_channel

    save_channel(
        key="webshop", name="Web shop", kind="webshop", sponsor=ledger_program.shop, actor=Actor.for_system("tests")
    )
    voucher_type = make_type(key="web-only")
    page = staff_client.get(f"/admin/vouchers/vouchertype/{voucher_type.pk}/change/").content.decode()
    assert 'type="checkbox" name="channels" value="webshop"' in page and "Web shop (webshop)" in page


def test_the_bulk_issue_screen_makes_a_batch_and_its_codes_download_as_csv(staff_client, make_type):
    voucher_type = make_type(key="flyer")
    page = staff_client.get(f"/admin/vouchers/vouchertype/{voucher_type.pk}/issue/")
    assert page.status_code == 200 and b"How many codes" in page.content
    response = staff_client.post(
        f"/admin/vouchers/vouchertype/{voucher_type.pk}/issue/", {"count": 250, "reference": "spring flyer"}
    )
    assert response.status_code == 302
    batch = IssueBatch.objects.get()
    assert batch.count == 250 and batch.source == "admin" and batch.actor_label == "user:manager"
    assert Voucher.objects.filter(batch=batch, source="admin").count() == 250
    download = staff_client.get(f"/admin/vouchers/issuebatch/{batch.pk}/codes.csv")
    rows = list(csv.reader(io.StringIO(b"".join(download.streaming_content).decode())))
    assert rows[0] == ["token", "valid_from", "valid_until"] and len(rows) == 251
    assert {r[0] for r in rows[1:]} == set(Voucher.objects.filter(batch=batch).values_list("token", flat=True))


def test_the_issue_action_leads_to_the_screen_for_one_type(staff_client, make_type):
    voucher_type = make_type(key="one")
    response = staff_client.post(
        "/admin/vouchers/vouchertype/", {"action": "issue_vouchers", ACTION_CHECKBOX_NAME: [voucher_type.pk]}
    )
    assert response.status_code == 302 and response["Location"].endswith(f"/{voucher_type.pk}/issue/")


def test_the_issue_screen_points_to_the_import_of_codes_made_elsewhere(staff_client, make_type):
    voucher_type = make_type(key="printed")
    page = staff_client.get(f"/admin/vouchers/vouchertype/{voucher_type.pk}/issue/").content.decode()
    assert 'id="import-codes"' in page and "/admin/imports/importbatch/upload/?type=voucherCodes" in page
    upload = staff_client.get("/admin/imports/importbatch/upload/?type=voucherCodes").content.decode()
    assert '<option value="voucherCodes" selected>' in upload


def test_the_issue_screen_shows_refusals(staff_client, make_type, coffee, member, earn):
    scarce = make_type(key="scarce", stock=1)
    response = staff_client.post(f"/admin/vouchers/vouchertype/{scarce.pk}/issue/", {"count": 2})
    assert response.status_code == 200 and b"out_of_stock" in response.content
    assert not Voucher.objects.exists()
    earn(member, 1000)
    response = staff_client.post(
        f"/admin/vouchers/vouchertype/{coffee.pk}/issue/",
        {"count": 1, "recipient": member.number, "charge_points": "on"},
    )
    assert b"insufficient_points" in response.content and not Voucher.objects.exists()


def test_a_single_voucher_issued_in_the_admin_goes_to_the_member(staff_client, make_type, member):
    voucher_type = make_type(key="single")
    response = staff_client.post(
        f"/admin/vouchers/vouchertype/{voucher_type.pk}/issue/", {"count": 1, "recipient": member.number}
    )
    assert response.status_code == 302
    assert Voucher.objects.get().recipient == member


def test_vouchers_are_found_by_code_and_by_membership_number(staff_client, make_type, member):
    voucher_type = make_type(key="findable")
    mine, other = issue(voucher_type, member), issue(voucher_type)

    def found(term):
        response = staff_client.get("/admin/vouchers/voucher/", {"q": term})
        return {v.pk for v in response.context["cl"].result_list}

    assert found(mine.token) == {mine.pk}
    assert found(other.token.lower()) == {other.pk}
    assert found(member.number) == {mine.pk}


def test_the_revoke_action_asks_for_a_reason_then_revokes_and_refunds(
    staff_client, make_type, coffee, member, earn, ledger_program, system_actor
):
    earn(member, 10000)
    bought = issue(coffee, member)
    used = issue(make_type(key="used"))
    convert_voucher(token=used.token, actor=system_actor)
    selection = {"action": "revoke", ACTION_CHECKBOX_NAME: [bought.pk, used.pk]}
    confirm = staff_client.post("/admin/vouchers/voucher/", selection)
    assert confirm.status_code == 200 and b"Reason" in confirm.content and bought.token.encode() in confirm.content
    assert Voucher.objects.get(pk=bought.pk).status == "issued"

    response = staff_client.post(
        "/admin/vouchers/voucher/", {**selection, "apply": "1", "reason": "goodwill"}, follow=True
    )
    messages = [str(m) for m in response.context["messages"]]
    assert "Revoked 1 voucher(s)." in messages and any("voucher_used" in m for m in messages)
    bought.refresh_from_db()
    assert bought.status == "revoked" and bought.revoke_reason == "goodwill" and bought.refund_receipt_id
    assert balance_of(member, ledger_program.points).balance == 10000
    assert AuditEntry.objects.filter(action="voucher.revoked", actor_label="user:manager").count() == 1
    assert verify() == []


def test_vouchers_cannot_be_edited_or_added_by_hand(staff_client, make_type):
    voucher = issue(make_type(key="ro"))
    assert staff_client.get("/admin/vouchers/voucher/add/").status_code == 403
    page = staff_client.get(f"/admin/vouchers/voucher/{voucher.pk}/change/")
    assert page.status_code == 200 and b'name="_save"' not in page.content


def test_the_codes_download_escapes_a_code_a_spreadsheet_would_run(staff_client, make_type):
    """Codes can come from an import of codes made elsewhere: the download writes them through the one CSV writer."""
    voucher_type = make_type(key="imported")
    vouchers = issue(voucher_type, count=6)
    hostile = ["=1+1", "+1+1", "-1+1", "@SUM(1)", "\t=1", "\r=1"]
    for voucher, token in zip(vouchers, hostile, strict=True):
        Voucher.objects.filter(pk=voucher.pk).update(token=token)
    download = staff_client.get(f"/admin/vouchers/issuebatch/{vouchers[0].batch_id}/codes.csv")
    rows = list(csv.reader(io.StringIO(b"".join(download.streaming_content).decode(), newline="")))
    assert [r[0] for r in rows[1:]] == ["'" + token for token in hostile]
