"""GET /voucher/{token}/info and GET /voucher (filters, pagination, constant queries)."""

from datetime import timedelta
from urllib.parse import quote

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.vouchers.conftest import BASE, assert_refused
from tests.vouchers.factories import issue
from vouchers.services import convert_voucher, revoke_voucher

pytestmark = pytest.mark.django_db


def test_info_shows_status_uses_left_and_the_whole_history(api, make_type, member, system_actor):
    voucher = issue(make_type(key="two", uses_per_voucher=2, channels=["web"]), member, reference="mail")
    convert_voucher(token=voucher.token, membership=member, channel="web", reference="tx-1", actor=system_actor)
    response = api.get(f"{BASE}/{voucher.token}/info")
    body = response.json()
    assert response.status_code == 200, body
    assert body["token"] == voucher.token and body["status"] == "issued" and body["usesLeft"] == 1
    assert body["usesTotal"] == 2 and body["recipient"] == member.number and body["channels"] == ["web"]
    assert [h["action"] for h in body["history"]] == ["issued", "converted"]
    assert body["history"][0]["reference"] == "mail" and body["history"][1]["reference"] == "tx-1"


def test_info_shows_expired_as_soon_as_the_end_passes(api, ten_off):
    voucher = issue(ten_off)
    with time_machine.travel(timezone.now() + timedelta(days=31)):
        body = api.get(f"{BASE}/{voucher.token.lower()}/info").json()
    assert body["status"] == "expired" and body["history"][-1]["action"] == "expired"


def test_info_of_an_unknown_code_is_404(api, ledger_program):
    assert_refused(api.get(f"{BASE}/NOPE2345NOPE/info"), 404, "voucher_not_found")


@pytest.fixture
def spread(make_type, member, make_member, system_actor):
    """Vouchers of two types, held by two members and nobody, in every status."""
    ten = make_type(key="ten")
    five = make_type(key="five", valid_days=5)
    other = make_member()
    vouchers = {
        "mine": issue(ten, member),
        "mine-used": issue(ten, member),
        "theirs": issue(ten, other),
        "nobodys": issue(five, reference="tx-77"),
        "revoked": issue(five, member),
    }
    convert_voucher(token=vouchers["mine-used"].token, membership=member, actor=system_actor)
    revoke_voucher(voucher=vouchers["revoked"], reason="test", actor=system_actor)
    return vouchers


def tokens(api, query=""):
    response = api.get(f"{BASE}{query}")
    assert response.status_code == 200, response.json()
    return {row["token"] for row in response.json()["results"]}


def test_the_list_filters_by_type_recipient_status_and_validity(api, spread, member):
    names = {v.token: k for k, v in spread.items()}

    def listed(query=""):
        return {names[t] for t in tokens(api, query)}

    assert listed() == set(spread)
    assert listed("?type=five") == {"nobodys", "revoked"}
    assert listed(f"?recipient={member.number}") == {"mine", "mine-used", "revoked"}
    assert listed("?recipient=0000000000") == set()
    assert listed("?status=converted") == {"mine-used"}
    assert listed("?status=revoked&status=converted") == {"revoked", "mine-used"}
    assert listed("?status=issued") == {"mine", "theirs", "nobodys"}
    assert listed("?reference=tx-77") == {"nobodys"}
    soon = quote((timezone.now() + timedelta(days=10)).isoformat())
    assert listed(f"?expiresBefore={soon}") == {"nobodys", "revoked"}
    assert listed(f"?validAt={soon}") == {"mine", "mine-used", "theirs"}
    with time_machine.travel(timezone.now() + timedelta(days=6)):
        assert listed("?status=expired") == {"nobodys"}
        assert listed("?status=issued") == {"mine", "theirs"}


def test_the_list_is_newest_first_and_paginated_with_a_count(api, spread):
    page = api.get(f"{BASE}?limit=2").json()
    assert page["count"] == 5 and len(page["results"]) == 2 and page["next"]
    assert page["results"][0]["token"] == spread["revoked"].token


@pytest.mark.parametrize("query", ["?colour=red", "?status=lost", "?validAt=yesterday", "?issuedSince=2020-13-01"])
def test_bad_voucher_filters_are_a_400(api, ledger_program, query):
    assert_refused(api.get(f"{BASE}{query}"), 400, "validation_error")


def test_the_list_costs_the_same_queries_for_1_or_20_vouchers(api, make_type, coffee, make_member, earn):
    def buy():
        member = make_member()
        earn(member, 10000)
        return issue(coffee, member)

    buy()
    api.get(BASE)
    with CaptureQueriesContext(connection) as one:
        assert len(api.get(BASE).json()["results"]) == 1
    for _ in range(10):
        buy()
    for index in range(9):
        issue(make_type(key=f"k{index}"))
    with CaptureQueriesContext(connection) as twenty:
        assert len(api.get(BASE).json()["results"]) == 20
    assert len(twenty) == len(one), [q["sql"] for q in twenty.captured_queries]
