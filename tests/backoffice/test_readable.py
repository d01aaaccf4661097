"""Stored JSON shown to people: a transaction's and a booking's details as tables, never raw JSON."""

import pytest
from django.urls import reverse

from loyalty.readable import label, readable
from tests.factories import StaffUserFactory
from tests.promotions.conftest import buy, new_member
from transactions.models import Transaction

pytestmark = pytest.mark.django_db


def test_values_become_tables_lists_and_words():
    html = str(readable({"pointType": "points", "caps": {"perMember": [{"period": "day", "limit": 5}]}, "vip": True}))
    assert "<th>point type</th><td>points</td>" in html
    assert "<thead><tr><th>period</th><th>limit</th></tr></thead><tbody><tr><td>day</td><td>5</td></tr></tbody>" in html
    assert "<th>vip</th><td>yes</td>" in html
    assert "&lt;b&gt;" in str(readable(["<b>"]))  # escaped
    assert "(none)" in str(readable(None)) and label("perMember") == "per member"


def test_a_transaction_and_its_booking_show_no_raw_json(client, tx_program):
    client.force_login(StaffUserFactory())
    buy(new_member(), [("COF-001", "2", "6.49")])
    tx = Transaction.objects.get()
    for url in (
        reverse("admin:transactions_transaction_change", args=[tx.pk]),
        reverse("admin:ledger_booking_change", args=[tx.booking_id]),
    ):
        html = client.get(url).content.decode()
        main = html.split('id="content-main"', 1)[1]
        assert '{"' not in main and "': " not in main, url  # neither JSON nor a Python dict
        assert 'class="readable"' in main, url
