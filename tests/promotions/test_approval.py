"""Two-person approval of promotions (a program setting): whoever activates only asks; another person
approves (or declines) on the promotion's page; the one who asked cannot; changed rules ask again."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from loyalty.actors import Actor
from loyalty.models import AuditEntry, Program
from promotions.errors import ApprovalBySecondPerson
from promotions.models import Promotion
from promotions.services import approve_activation, save_promotion
from tests.factories import StaffUserFactory
from tests.promotions.conftest import ACTOR

pytestmark = pytest.mark.django_db
ADMIN = "/admin/promotions/promotion/"


@pytest.fixture
def approval(tx_program):
    program = Program.current()
    program.promotion_approval = True
    program.save()
    return Promotion.objects.get(key="coffee-double").definition


def manager(name: str):
    user = StaffUserFactory(username=name, is_superuser=False)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="promotions"))
    client = Client()
    client.force_login(user)
    return user, client


def test_activating_asks_and_a_second_person_approves(approval):
    anna, _ = manager("anna")
    bert, _ = manager("bert")
    asked = save_promotion(key="xmas", name="Christmas", definition=approval, active=True, actor=Actor(user=anna))
    assert (asked.active, asked.activated_at, asked.approval_requested_by) == (False, None, anna)
    with pytest.raises(ApprovalBySecondPerson):
        approve_activation(promotion=asked, actor=Actor(user=anna))
    with pytest.raises(ApprovalBySecondPerson):
        approve_activation(promotion=asked, actor=ACTOR)  # a scheduled job is no second person
    approved = approve_activation(promotion=asked, actor=Actor(user=bert))
    assert approved.active and approved.activated_at is not None and approved.approval_requested_at is None
    entries = list(AuditEntry.objects.filter(object_id=str(asked.pk)).order_by("id").values_list("action", flat=True))
    assert entries[-1] == "promotion.approved"


def test_changed_rules_ask_again_and_unticking_withdraws(approval):
    anna, _ = manager("anna")
    bert, _ = manager("bert")
    first = save_promotion(key="xmas", name="Christmas", definition=approval, active=True, actor=Actor(user=anna))
    changed = {**approval, "priority": 99}
    again = save_promotion(key="xmas", name="Christmas", definition=changed, active=True, actor=Actor(user=bert))
    assert again.approval_requested_by == bert and again.approval_requested_at > first.approval_requested_at
    withdrawn = save_promotion(key="xmas", name="Christmas", definition=changed, active=False, actor=Actor(user=bert))
    assert withdrawn.approval_requested_at is None and not withdrawn.active


def test_without_the_setting_activating_activates(tx_program):
    definition = Promotion.objects.get(key="coffee-double").definition
    saved = save_promotion(key="xmas", name="Christmas", definition=definition, active=True, actor=ACTOR)
    assert saved.active and saved.approval_requested_at is None


def test_the_page_offers_approval_to_another_person_only(approval):
    anna, as_anna = manager("anna")
    _, as_bert = manager("bert")
    asked = save_promotion(key="xmas", name="Christmas", definition=approval, active=True, actor=Actor(user=anna))
    own = as_anna.get(f"{ADMIN}{asked.pk}/change/").content.decode()
    assert "Activation asked for by anna" in own and "Someone else must approve." in own
    assert "Approve and activate" not in own
    assert "Awaiting approval" in as_anna.get(ADMIN).content.decode()
    as_anna.post(f"{ADMIN}{asked.pk}/approval/", {"_approve": "1"})
    assert not Promotion.objects.get(pk=asked.pk).active  # refused: the one who asked
    other = as_bert.get(f"{ADMIN}{asked.pk}/change/").content.decode()
    assert "Approve and activate" in other
    as_bert.post(f"{ADMIN}{asked.pk}/approval/", {"_approve": "1"})
    assert Promotion.objects.get(pk=asked.pk).active


def test_a_request_can_be_declined_with_a_reason(approval):
    anna, _ = manager("anna")
    _, as_bert = manager("bert")
    asked = save_promotion(key="xmas", name="Christmas", definition=approval, active=True, actor=Actor(user=anna))
    as_bert.post(f"{ADMIN}{asked.pk}/approval/", {"_decline": "1", "reason": "budget not signed off"})
    declined = Promotion.objects.get(pk=asked.pk)
    assert not declined.active and declined.approval_requested_at is None
    entry = AuditEntry.objects.get(action="promotion.declined", object_id=str(asked.pk))
    assert entry.changes == {"reason": "budget not signed off"}


def test_the_list_action_asks_instead_of_activating(approval):
    anna, as_anna = manager("anna")
    draft = save_promotion(key="xmas", name="Christmas", definition=approval, active=False, actor=Actor(user=anna))
    response = as_anna.post(ADMIN, {"action": "activate", "_selected_action": [draft.pk]}, follow=True)
    assert "Asked to activate 1 promotion(s)" in response.content.decode()
    assert not Promotion.objects.get(pk=draft.pk).active
