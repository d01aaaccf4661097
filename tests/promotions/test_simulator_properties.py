"""Property: for random baskets, the simulator (Try it) gives exactly what POST /tx gives without a txId (the
API's dry run): the same engine call over the same live promotions, member facts and cap usage."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promotions.backtest import Sample, points_of, try_sample
from promotions.context import Item
from promotions.models import Promotion
from tests.promotions.conftest import new_member, purchase

pytestmark = pytest.mark.django_db
PRODUCTS = {"COF-001": Decimal("6.49"), "TEA-001": Decimal("2.89"), "UNKNOWN-1": Decimal("4.10")}

lines = st.lists(
    st.tuples(st.sampled_from(sorted(PRODUCTS)), st.integers(min_value=1, max_value=5)),
    min_size=1,
    max_size=4,
)


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(basket=lines, hour=st.integers(min_value=0, max_value=23))
def test_the_simulator_gives_what_the_apis_dry_run_gives(tx_program, api, basket, hour):
    member = new_member()
    items = [Item(key, Decimal(q), PRODUCTS[key], PRODUCTS[key] * q) for key, q in basket]
    moment = (timezone.now() - timedelta(days=1)).replace(hour=hour, minute=0, second=0, microsecond=0)
    simulated = points_of(
        try_sample(
            Promotion.objects.get(key="coffee-double"),
            Sample(channel="webshop", occurred_at=moment, items=items, membership_key=member.number),
        )
    )
    sent = [
        {
            "productKey": i.product_key,
            "quantity": str(i.quantity),
            "unitPrice": str(i.unit_price),
            "amount": str(i.amount),
        }
        for i in items
    ]
    body = purchase(member.number, items=sent, occurredAt=moment.isoformat())
    answer = api.post("/api/v1/tx", body, format="json")
    assert answer.status_code == 200, answer.content
    given_by_api = {p["pointType"]: p["amount"] for p in answer.json()["points"] if Decimal(p["amount"])}
    assert {k: v for k, v in simulated.items() if Decimal(v)} == given_by_api
