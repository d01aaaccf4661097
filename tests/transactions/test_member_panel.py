"""The member page's transactions panel: purchases counted and summed with the merged memberships'
ones, the latest with the points they earned, in a fixed number of queries."""

import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from tests.factories import StaffUserFactory
from tests.promotions.conftest import buy, new_member
from transactions.back_office import transactions_panel

pytestmark = pytest.mark.django_db


def panel_of(member):
    request = RequestFactory().get("/admin/")
    request.user = StaffUserFactory()
    return transactions_panel(member, request)


def test_the_panel_counts_sums_and_lists_the_latest_purchases(tx_program):
    member = new_member()
    buy(member, [("COF-001", "2", "6.49"), ("TEA-001", "1", "2.89")], days_ago=2)
    buy(member, [("TEA-001", "1", "2.89")], days_ago=1)
    buy(new_member(), [("TEA-001", "3", "2.89")])
    panel = panel_of(member)
    assert (panel["count"], panel["spent"]) == (2, "18.76 EUR")
    assert [(row["total"], row["points"], row["status"], row["channel"]) for row in panel["latest"]] == [
        ("2.89 EUR", "2.89 Points", "Booked", "Web shop"),  # the channel's name, not its key
        ("15.87 EUR", "28.85 Points", "Booked", "Web shop"),
    ]
    assert panel["all_url"].endswith(f"?q={member.number}")


def test_the_panel_costs_the_same_queries_however_many_purchases(tx_program):
    member = new_member()
    buy(member, [("TEA-001", "1", "2.89")])
    with CaptureQueriesContext(connection) as few:
        panel_of(member)
    for _ in range(12):
        buy(member, [("COF-001", "1", "6.49")])
    with CaptureQueriesContext(connection) as many:
        panel_of(member)
    assert len(many) == len(few)


def test_the_membership_list_shows_points_purchases_spend_and_last_purchase_in_fixed_queries(tx_program):
    from django.test import Client

    from memberships.services.lifecycle import merge_memberships
    from tests.promotions.conftest import ACTOR

    alice, bob, carol, gone = new_member(), new_member(), new_member(), new_member()
    buy(alice, [("COF-001", "2", "6.49"), ("TEA-001", "1", "2.89")], days_ago=3)
    buy(alice, [("TEA-001", "1", "2.89")], days_ago=1)
    buy(gone, [("TEA-001", "1", "2.89")], days_ago=2)
    merge_memberships(source=gone, target=bob, actor=ACTOR)  # gone's purchase is bob's history
    client = Client()
    client.force_login(StaffUserFactory())

    def listing():
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/admin/memberships/membership/", {"status__exact": "active"})
        rows = {m.number: m.member_columns for m in response.context["cl"].result_list}
        return rows, len(queries)

    rows, few = listing()
    assert rows[alice.number] == {
        "points": "31.74",
        "purchases": "2",
        "spent": "18.76",
        "last_purchase": rows[alice.number]["last_purchase"],
    }
    assert (rows[bob.number]["purchases"], rows[bob.number]["spent"]) == ("1", "2.89")
    assert (rows[carol.number]["points"], rows[carol.number]["purchases"]) == ("0.00", "0")
    assert (rows[carol.number]["spent"], rows[carol.number]["last_purchase"]) == ("—", "—")
    for _ in range(5):
        buy(new_member(), [("TEA-001", "1", "2.89")])
    assert listing()[1] == few
