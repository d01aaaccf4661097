"""The promotion screens (Django's test client): the structured editor saves through save_promotion,
try-it and backtest write nothing."""

import json
from html.parser import HTMLParser

import pytest
from django.test import Client
from django.utils import timezone

from loyalty.models import AuditEntry, Event
from promotions.admin_forms import CONDITION_EXAMPLES
from promotions.backtest import backtest
from promotions.models import Promotion, PromotionVersion
from promotions.rules import LINE_FACTS, TX_FACTS, validate_definition
from promotions.services import save_promotion
from tests.factories import StaffUserFactory
from tests.promotions.conftest import ACTOR, COFFEE_DOUBLE, buy, new_member, query_count
from tests.promotions.conftest import BASE_EARNING as BASE
from transactions.models import Transaction

pytestmark = pytest.mark.django_db
ADMIN = "/admin/promotions/promotion"

TEA = {"lines": "any", "where": {"fact": "line.category.department", "op": "eq", "value": "tea"}}


@pytest.fixture
def staff_client() -> Client:
    client = Client()
    client.force_login(StaffUserFactory(password=None))
    return client


def management(prefix: str, total: int, initial: int = 0) -> dict[str, str]:
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def promotion_form(*, effects=None, caps=None, effects_initial=0, caps_initial=0, **fields) -> dict:
    """The editor's POST data; `effects` and `caps` are lists of row dicts."""
    effects = effects if effects is not None else [{"type": "fixed", "points": "5"}]
    caps = caps or []
    data = {
        "key": "tea-bonus",
        "name": "Tea bonus",
        "description": "Five points for any tea.",
        "active": "on",
        "valid_from_0": "",
        "valid_from_1": "",
        "valid_until_0": "",
        "valid_until_1": "",
        "hours_from": "",
        "hours_to": "",
        "time_zone": "",
        "condition": json.dumps(TEA),
        "point_type": "points",
        "maturation_days": "",
        "expires_at_0": "",
        "expires_at_1": "",
        "cap_per_transaction": "",
        "cap_budget": "",
        "priority": "10",
        "stacking": "combinable",
        **management("effects", len(effects), effects_initial),
        **management("caps", len(caps), caps_initial),
    }
    for i, row in enumerate(effects):
        data.update({f"effects-{i}-{k}": v for k, v in row.items()})
    for i, row in enumerate(caps):
        data.update({f"caps-{i}-{k}": v for k, v in row.items()})
    data.update(fields)
    return {k: v for k, v in data.items() if v is not None}


class FormValues(HTMLParser):
    """What a browser would submit for the page's first POST form, untouched."""

    def __init__(self):
        super().__init__()
        self.data: dict[str, list[str]] = {}
        self.select: str | None = None
        self.textarea: str | None = None
        self.done = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if self.done or tag not in ("input", "select", "option", "textarea"):
            return
        if tag == "input" and a.get("name") and a.get("type") not in ("submit", "button"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            self.data.setdefault(a["name"], []).append(a.get("value") or ("on" if a.get("type") == "checkbox" else ""))
        elif tag == "select":
            self.select = a.get("name")
        elif tag == "option" and self.select and "selected" in a:
            self.data.setdefault(self.select, []).append(a.get("value", ""))
        elif tag == "textarea":
            self.textarea = a.get("name")
            self.data[self.textarea] = [""]

    def handle_endtag(self, tag):
        if tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None
        elif tag == "form":
            self.done = True

    def handle_data(self, data):
        if self.textarea:
            self.data[self.textarea][0] += data.removeprefix("\n") if not self.data[self.textarea][0] else data


def submitted(page: str) -> dict[str, list[str]]:
    parser = FormValues()
    parser.feed(page[page.index('<form method="post"') :])
    return parser.data


# The editor ------------------------------------------------------------------------------------


def test_saving_the_editor_untouched_keeps_a_rich_definition_as_it_is(staff_client, tx_program):
    definition = {
        "validity": {
            "from": "2026-03-01T00:00:00+01:00",
            "until": "2026-06-01T00:00:00+02:00",
            "weekdays": [1, 2, 3],
            "hours": ["22:00", "02:00"],
        },
        "scope": {"channels": ["webshop", "store-amsterdam"], "membershipTypes": ["consumer"]},
        "condition": {"all": [{"fact": "tx.totalAmount", "op": "gte", "value": "10.00"}, TEA]},
        "effects": [
            {"type": "perAmount", "points": "1.5", "per": "1.00", "lines": "all"},
            {"type": "perItem", "points": "2", "lines": "qualifying"},
        ],
        "pointType": "points",
        "maturationDays": 7,
        "expiresAt": "2027-01-01T00:00:00+01:00",
        "caps": {"perTransaction": "100", "budget": "5000", "perMember": [{"period": "day", "points": "20"}]},
        "priority": 5,
        "stacking": "exclusive",
    }
    promotion = save_promotion(key="rich", name="Rich", definition=definition, actor=ACTOR)
    stored = promotion.definition
    page = staff_client.get(f"{ADMIN}/{promotion.pk}/change/").content.decode()
    response = staff_client.post(f"{ADMIN}/{promotion.pk}/change/", submitted(page))
    assert response.status_code == 302, response.content.decode()[:3000]
    promotion.refresh_from_db()
    assert promotion.current_version.number == 1
    assert promotion.definition == stored


def test_the_structured_form_creates_a_promotion_with_the_definition_it_describes(staff_client, tx_program):
    data = promotion_form(
        effects=[
            {"type": "perAmount", "points": "2", "per": "1.00", "lines": "qualifying"},
            {"type": "fixed", "points": "5"},
        ],
        caps=[{"period": "month", "points": "100"}],
        valid_from_0="2026-01-01",
        valid_from_1="00:00",
        weekdays=["6", "7"],
        hours_from="07:00",
        hours_to="12:00",
        time_zone="Europe/Amsterdam",
        channels=["webshop"],
        cap_per_transaction="50",
        maturation_days="14",
    )
    response = staff_client.post(f"{ADMIN}/add/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    promotion = Promotion.objects.get(key="tea-bonus")
    assert promotion.name == "Tea bonus" and promotion.active
    assert promotion.current_version.number == 1
    assert promotion.current_version.created_by.startswith("user:")
    definition = promotion.definition
    assert definition["validity"] == {
        "from": "2026-01-01T00:00:00+01:00",
        "weekdays": [6, 7],
        "hours": ["07:00", "12:00"],
        "timeZone": "Europe/Amsterdam",
    }
    assert definition["scope"] == {"channels": ["webshop"]}
    assert definition["condition"] == TEA
    assert definition["effects"] == [
        {"type": "perAmount", "points": "2", "per": "1.00", "lines": "qualifying"},
        {"type": "fixed", "points": "5"},
    ]
    assert definition["caps"] == {"perTransaction": "50", "perMember": [{"period": "month", "points": "100"}]}
    assert definition["pointType"] == "points" and definition["maturationDays"] == 14
    assert definition["priority"] == 10 and definition["stacking"] == "combinable" and definition["base"] is False
    assert AuditEntry.objects.filter(action="promotion.created", object_repr="Tea bonus").exists()
    assert Event.objects.filter(type="promotion.created").count() == 3  # the two fixtures' and this one


@pytest.mark.parametrize(
    ("overrides", "shown"),
    [
        # the service's own messages, on the field they are about
        ({"effects": [{"type": "multiplier", "factor": "0.5"}]}, "Give a number of at least 1."),
        (
            {
                "valid_from_0": "2026-02-01",
                "valid_from_1": "00:00",
                "valid_until_0": "2026-01-01",
                "valid_until_1": "00:00",
            },
            "The end must come after the start.",
        ),
        (
            {"condition": json.dumps({"fact": "tx.colour", "op": "eq", "value": "red"})},
            "Unknown fact &#x27;tx.colour&#x27;",
        ),
        ({"condition": '{"all": [}'}, "This is not valid JSON"),
        ({"effects": [{"type": "perAmount", "points": "1"}]}, "This is required."),
        ({"key": "Not a key!"}, "Use lower-case letters, digits"),
    ],
)
def test_a_refused_promotion_shows_plain_words_and_writes_nothing(staff_client, tx_program, overrides, shown):
    before = (Promotion.objects.count(), PromotionVersion.objects.count(), AuditEntry.objects.count())
    response = staff_client.post(f"{ADMIN}/add/", promotion_form(**overrides))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Please correct the errors below." in page
    assert shown in page
    assert (Promotion.objects.count(), PromotionVersion.objects.count(), AuditEntry.objects.count()) == before


def test_service_errors_land_on_the_fields_they_name(staff_client, tx_program):
    response = staff_client.post(
        f"{ADMIN}/add/",
        promotion_form(
            effects=[{"type": "fixed", "points": "5"}, {"type": "multiplier", "factor": "0.5"}],
            condition=json.dumps({"all": [{"fact": "tx.totalAmount", "op": "startsWith", "value": "1"}]}),
        ),
    )
    assert response.status_code == 200
    effects = response.context["effects"]
    assert effects.forms[0].errors == {}
    assert effects.forms[1].errors == {"factor": ["Give a number of at least 1."]}
    condition_errors = response.context["form"].errors["condition"]
    assert condition_errors[0].startswith("At all[0].op: tx.totalAmount can be tested with")


def test_editing_makes_version_2_and_saving_unchanged_rules_does_not(staff_client, tx_program):
    staff_client.post(f"{ADMIN}/add/", promotion_form())
    promotion = Promotion.objects.get(key="tea-bonus")
    page = staff_client.get(f"{ADMIN}/{promotion.pk}/change/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "v1 (current)" in text and "Try it" in text and "Backtest" in text
    assert json.loads(page.context["form"].initial["condition"]) == TEA

    edit = promotion_form(effects_initial=1, key=None, name="Tea bonus (renamed)")
    assert staff_client.post(f"{ADMIN}/{promotion.pk}/change/", edit).status_code == 302
    promotion.refresh_from_db()
    assert promotion.name == "Tea bonus (renamed)" and promotion.current_version.number == 1

    changed = promotion_form(effects_initial=1, key=None, effects=[{"type": "fixed", "points": "7"}])
    response = staff_client.post(f"{ADMIN}/{promotion.pk}/change/", {**changed, "_continue": "1"})
    assert response.status_code == 302 and response["Location"].endswith(f"/{promotion.pk}/change/")
    promotion.refresh_from_db()
    assert promotion.current_version.number == 2
    assert promotion.definition["effects"] == [{"type": "fixed", "points": "7"}]
    assert promotion.key == "tea-bonus"
    history = staff_client.get(f"{ADMIN}/{promotion.pk}/change/").context["versions"]
    assert [v["number"] for v in history] == [2, 1]
    assert history[0]["changes"] == ["effects 1.points: 5 → 7"]  # in words, against version 1
    assert history[1]["changes"] == []  # the first version


def test_an_effect_row_ticked_for_deletion_leaves_the_definition(staff_client, tx_program):
    staff_client.post(
        f"{ADMIN}/add/", promotion_form(effects=[{"type": "fixed", "points": "5"}, {"type": "perItem", "points": "1"}])
    )
    promotion = Promotion.objects.get(key="tea-bonus")
    assert len(promotion.definition["effects"]) == 2
    edit = promotion_form(
        key=None,
        effects_initial=2,
        effects=[{"type": "fixed", "points": "5"}, {"type": "perItem", "points": "1", "DELETE": "on"}],
    )
    assert staff_client.post(f"{ADMIN}/{promotion.pk}/change/", edit).status_code == 302
    promotion.refresh_from_db()
    assert promotion.definition["effects"] == [{"type": "fixed", "points": "5"}]


def test_promotions_are_deactivated_not_deleted(staff_client, tx_program):
    promotion = Promotion.objects.get(key="coffee-double")
    assert staff_client.get(f"{ADMIN}/{promotion.pk}/delete/").status_code == 403
    response = staff_client.post(f"{ADMIN}/", {"action": "deactivate", "_selected_action": [promotion.pk]})
    assert response.status_code == 302
    promotion.refresh_from_db()
    assert promotion.active is False and promotion.current_version.number == 1
    assert staff_client.get(f"{ADMIN}/").status_code == 200


def test_the_condition_help_comes_from_the_rules_and_its_examples_are_valid(staff_client, tx_program):
    page = staff_client.get(f"{ADMIN}/add/").content.decode()
    for fact in [*TX_FACTS, *LINE_FACTS, "line.category.department"]:
        assert f"<code>{fact}</code>" in page
    for _, example in CONDITION_EXAMPLES:
        validate_definition({**BASE, "base": False, "condition": example})


def test_each_stored_effect_reads_in_words_with_an_example_line(staff_client, tx_program):
    from promotions.models import Promotion

    promotion = Promotion.objects.get(key="coffee-double")
    page = staff_client.get(f"{ADMIN}/{promotion.pk}/change/").content.decode()
    words = page.split('class="effect-words"', 1)[1].split("</tr>", 1)[0]
    assert "×2 on the base earning of the lines the condition matched" in words
    # The base promotion gives 1 point per euro: a line of 10.00 earns 10.00 base and 20.00 in all.
    assert "a line of 10.00 EUR that earns 10.00 base earns 20.00 Points in all (10.00 from this promotion)" in words


def test_with_only_the_view_permission_the_editor_is_read_only(tx_program, django_user_model):
    from django.contrib.auth.models import Permission

    viewer = django_user_model.objects.create(username="viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_promotion"))
    client = Client()
    client.force_login(viewer)
    promotion = Promotion.objects.get(key="coffee-double")
    page = client.get(f"{ADMIN}/{promotion.pk}/change/")
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    client.post(f"{ADMIN}/{promotion.pk}/change/", promotion_form(key=None, effects_initial=1))
    promotion.refresh_from_db()
    assert promotion.current_version.number == 1
    assert promotion.definition["effects"] == COFFEE_DOUBLE["effects"]
    assert client.get(f"{ADMIN}/{promotion.pk}/try/").status_code == 200
    assert client.get(f"{ADMIN}/add/").status_code == 403


# Try it ----------------------------------------------------------------------------------------


def sample(**overrides) -> dict:
    data = {
        "membership": "",
        "channel": "webshop",
        "occurred_at_0": timezone.now().date().isoformat(),
        "occurred_at_1": "10:00",
        "payment_method": "card",
        "properties": "",
        **management("lines", 3),
        "lines-0-product_key": "COF-001",
        "lines-0-quantity": "2",
        "lines-0-unit_price": "6.49",
        "lines-1-product_key": "TEA-001",
        "lines-1-quantity": "1",
        "lines-1-unit_price": "2.89",
    }
    data.update(overrides)
    return data


def test_try_it_shows_the_reward_and_the_trace_and_writes_nothing(staff_client, tx_program):
    member = new_member()
    promotion = Promotion.objects.get(key="coffee-double")
    before = (Transaction.objects.count(), AuditEntry.objects.count(), Event.objects.count())
    url = f"{ADMIN}/{promotion.pk}/try/"
    assert staff_client.get(url).status_code == 200
    response = staff_client.post(url, sample(membership=member.number))
    assert response.status_code == 200
    page = response.content.decode()
    assert 'Double on coffee <span class="quiet">(coffee-double v1)</span>: 12.98 points' in page
    assert '1 point per euro <span class="quiet">(base v1, base)</span>: 15.87 points' in page
    assert "at least one line must match: lines 1 matched" in page
    assert "Per line: line 1: 12.98" in page
    assert f"Member: {member.number}" in page
    assert (Transaction.objects.count(), AuditEntry.objects.count(), Event.objects.count()) == before


def test_the_simulator_warns_of_stacking_and_agrees_with_the_api(staff_client, tx_program, api):
    """A draft 'extra coffee' promotion that also matches coffee-double: the simulator evaluates it with every
    live promotion, says they stack and by how much, and gives what the API's dry run gives once it is live."""
    from promotions.services import save_promotion
    from tests.promotions.conftest import ACTOR, points, purchase

    member = new_member()
    coffee = Promotion.objects.get(key="coffee-double").definition
    draft = save_promotion(key="coffee-extra", name="Extra coffee", definition=coffee, active=False, actor=ACTOR)
    response = staff_client.post(f"{ADMIN}/{draft.pk}/try/", sample(membership=member.number))
    answer = response.context["answer"]
    assert answer["stacking"] == [
        "Also applies: Double on coffee (coffee-double) on line 1.",
        "Together, line 1 earns ×3 the base earning.",
    ]
    assert "Also applies: Double on coffee" in response.content.decode()
    simulated = answer["points"]

    save_promotion(key="coffee-extra", name="Extra coffee", definition=coffee, active=True, actor=ACTOR)
    dry_run = api.post("/api/v1/tx", purchase(member), format="json").json()
    assert simulated == [f"{p['amount']} {p['pointType']}" for p in dry_run["points"]] == ["41.83 points"]
    assert points(dry_run) == "41.83"  # 15.87 base, and twice 12.98 more on the coffee


def test_try_it_says_why_a_promotion_does_not_apply(staff_client, tx_program):
    promotion = Promotion.objects.get(key="coffee-double")
    tea_only = sample(**{"lines-0-product_key": "", "lines-0-quantity": "", "lines-0-unit_price": ""})
    page = staff_client.post(f"{ADMIN}/{promotion.pk}/try/", tea_only).content.decode()
    assert 'Double on coffee <span class="quiet">(coffee-double v1)</span>: did not apply' in page
    assert "failed: at least one line must match: no line matched" in page
    assert "Member: anonymous" in page


def test_try_it_refuses_an_unknown_membership_in_plain_words(staff_client, tx_program):
    promotion = Promotion.objects.get(key="coffee-double")
    response = staff_client.post(f"{ADMIN}/{promotion.pk}/try/", sample(membership="0000000000"))
    assert response.status_code == 200
    assert response.context["answer"] is None
    assert response.context["form"].non_field_errors()


# Backtest --------------------------------------------------------------------------------------


def test_backtest_counts_transactions_and_points_over_booked_ones(staff_client, tx_program):
    alice, bob = new_member(), new_member()
    buy(alice, [("COF-001", "2", "6.49"), ("TEA-001", "1", "2.89")])
    buy(alice, [("TEA-001", "3", "2.89")], days_ago=2)
    buy(bob, [("TEA-001", "1", "2.89")], days_ago=3)
    buy(bob, [("COF-001", "1", "6.49")], days_ago=4)
    buy(bob, [("TEA-001", "1", "2.89")], days_ago=60)  # outside the window
    # A promotion made after the purchases: 5 points for any tea, at most 8 per member and month.
    save_promotion(
        key="tea-bonus",
        name="Tea bonus",
        definition={
            "pointType": "points",
            "condition": TEA,
            "effects": [{"type": "fixed", "points": "5"}],
            "caps": {"perMember": [{"period": "lifetime", "points": "8"}]},
        },
        actor=ACTOR,
    )
    promotion = Promotion.objects.get(key="tea-bonus")
    result = backtest(promotion, days=30)
    assert (result.scanned, result.earned, result.capped) == (4, 3, 1)
    assert result.points == "13.00"  # alice 5 + 3 (capped at 8), bob 5
    assert [(m.number, m.points, m.transactions) for m in result.top_members] == [
        (alice.number, "8.00", 2),
        (bob.number, "5.00", 1),
    ]
    page = staff_client.get(f"{ADMIN}/{promotion.pk}/backtest/", {"days": "30"})
    assert page.status_code == 200
    text = page.content.decode()
    assert '<td class="scanned">4</td>' in text and '<td class="earned">3</td>' in text
    assert "13.00 points" in text
    # The base promotions active now make multipliers count: coffee-double on the coffee lines.
    coffee = backtest(Promotion.objects.get(key="coffee-double"), days=90)
    assert (coffee.scanned, coffee.earned, coffee.points) == (5, 2, "19.47")


def test_backtest_reads_in_a_fixed_number_of_queries(tx_program):
    member = new_member()
    promotion = Promotion.objects.get(key="coffee-double")
    buy(member, [("COF-001", "1", "6.49")])
    backtest(promotion, days=30)  # compiles the active set once per process
    few = query_count(lambda: backtest(promotion, days=30))
    for _ in range(5):
        buy(member, [("COF-001", "1", "6.49"), ("TEA-001", "1", "2.89")])
    assert query_count(lambda: backtest(promotion, days=30)) == few


def test_backtest_days_are_limited_to_a_year(staff_client, tx_program):
    promotion = Promotion.objects.get(key="coffee-double")
    response = staff_client.get(f"{ADMIN}/{promotion.pk}/backtest/", {"days": "400"})
    assert response.status_code == 200 and response.context["result"] is None
    assert response.context["form"].errors["days"]


# Access ----------------------------------------------------------------------------------------


def test_people_who_are_not_staff_are_sent_to_the_login(tx_program, django_user_model):
    promotion = Promotion.objects.get(key="coffee-double")
    pages = [
        f"{ADMIN}/",
        f"{ADMIN}/add/",
        f"{ADMIN}/{promotion.pk}/change/",
        f"{ADMIN}/{promotion.pk}/try/",
        f"{ADMIN}/{promotion.pk}/backtest/",
    ]
    member_user = django_user_model.objects.create(username="not-staff", is_staff=False)
    logged_in = Client()
    logged_in.force_login(member_user)
    for client in (Client(), logged_in):
        for page in pages:
            response = client.get(page)
            assert response.status_code == 302, page
            assert response["Location"].startswith("/admin/login/"), page
        response = client.post(f"{ADMIN}/add/", promotion_form())
        assert response.status_code == 302
    assert not Promotion.objects.filter(key="tea-bonus").exists()


def test_a_simulated_basket_is_kept_as_a_test_and_checked_on_every_showing(staff_client, tx_program):
    from promotions.models import TestBasket
    from promotions.services import save_promotion
    from tests.promotions.conftest import ACTOR

    promotion = Promotion.objects.get(key="coffee-double")
    url = f"{ADMIN}/{promotion.pk}/try/"
    response = staff_client.post(url, {**sample(), "basket_name": "Two coffees and a tea", "_save_basket": "1"})
    assert response.status_code == 200 and response.context["answer"]
    basket = TestBasket.objects.get(promotion=promotion)
    assert basket.expected == {"points": "28.85"}  # 15.87 base and 12.98 more on the coffee
    assert basket.sample["items"][0] == {
        "productKey": "COF-001",
        "quantity": "2",
        "unitPrice": "6.49",
        "amount": "12.98",
    }
    assert AuditEntry.objects.filter(action="promotion.test_basket_saved").count() == 1

    page = staff_client.get(f"{ADMIN}/{promotion.pk}/change/")
    [check] = page.context["baskets"]
    assert check.passed and check.summary == "2 × COF-001, 1 × TEA-001 at webshop"
    assert "✓ passes" in page.content.decode()

    tripled = {**promotion.definition, "effects": [{"type": "multiplier", "factor": "3"}]}
    save_promotion(key="coffee-double", name=promotion.name, definition=tripled, actor=ACTOR)
    page = staff_client.get(f"{ADMIN}/{promotion.pk}/change/")
    [check] = page.context["baskets"]
    assert not check.passed and check.now == {"points": "41.83"}
    assert "✗ differs" in page.content.decode()

    assert staff_client.get(f"{ADMIN}/{promotion.pk}/baskets/{basket.pk}/delete/").status_code == 403  # POST only
    staff_client.post(f"{ADMIN}/{promotion.pk}/baskets/{basket.pk}/delete/")
    assert not TestBasket.objects.exists()


def test_a_test_basket_needs_a_name(staff_client, tx_program):
    from promotions.models import TestBasket

    promotion = Promotion.objects.get(key="coffee-double")
    response = staff_client.post(f"{ADMIN}/{promotion.pk}/try/", {**sample(), "basket_name": " ", "_save_basket": "1"})
    assert "Give the test basket a name." in response.content.decode()
    assert not TestBasket.objects.exists()


def test_the_simulator_takes_a_described_member_instead_of_a_real_one(staff_client, tx_program):
    from loyalty.models import Tier
    from promotions.services import save_promotion
    from tests.promotions.conftest import ACTOR

    Tier.objects.create(key="gold", name="Gold", rank=2)
    gold_only = {
        "pointType": "points",
        "condition": {"fact": "member.tier", "op": "eq", "value": "gold"},
        "effects": [{"type": "fixed", "points": "50"}],
    }
    draft = save_promotion(key="gold-bonus", name="Gold bonus", definition=gold_only, active=False, actor=ACTOR)
    url = f"{ADMIN}/{draft.pk}/try/"
    described = staff_client.post(url, sample(member_tier="gold", member_days="400")).context["answer"]
    assert described["member"] == "the member described"
    assert any(r["promotion"] == "gold-bonus" for r in described["rewards"])
    by_property = {
        "pointType": "points",
        "condition": {"fact": "member.properties.favoriteStore", "op": "eq", "value": "north"},
        "effects": [{"type": "fixed", "points": "5"}],
    }
    north = save_promotion(key="north", name="North store", definition=by_property, active=False, actor=ACTOR)
    fan = sample(member_properties='{"favoriteStore": "north"}')
    answer = staff_client.post(f"{ADMIN}/{north.pk}/try/", fan).context["answer"]
    assert any(r["promotion"] == "north" for r in answer["rewards"])
    anonymous = staff_client.post(url, sample()).context["answer"]
    assert anonymous["member"] == "anonymous"
    assert not any(r["promotion"] == "gold-bonus" for r in anonymous["rewards"])


def test_the_product_search_finds_by_key_or_name_with_the_channels_price(staff_client, tx_program):
    url = f"{ADMIN}/products/"
    found = staff_client.get(url, {"q": "espresso"}).json()["products"]
    assert [p["key"] for p in found] == ["COF-001"] and found[0]["price"] == ""
    assert "Web shop" in found[0]["channels"]
    priced = staff_client.get(url, {"q": "cof", "channel": "webshop"}).json()["products"]
    assert priced == [{"key": "COF-001", "name": priced[0]["name"], "channels": "Web shop", "price": "6.49"}]
    assert staff_client.get(url, {"q": ""}).json() == {"products": []}
