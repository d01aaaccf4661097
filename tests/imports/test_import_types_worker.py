"""Every import type end to end through the API with a real Celery worker (the broker of
CELERY_BROKER_URL; PostgreSQL in .ci/run): the tests of test_import_types.py, run again with the
requests' transactions committed and the queued batch applied by the worker, not in the test's thread."""

import time

import pytest

from imports.models import BatchStatus, ImportBatch
from tests.imports import test_import_types as types

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]

WAIT_SECONDS = 60


@pytest.fixture
def run(celery_app, celery_worker):
    """run(call): make the request; the transaction that queued the batch commits, the worker takes it
    from the broker, and this waits until the batch is no longer queued or running."""
    assert not celery_app.conf.task_always_eager

    def do(call):
        response = call()
        key = response.json().get("key") if response.status_code == 202 else None
        if key:
            deadline = time.monotonic() + WAIT_SECONDS
            while ImportBatch.objects.get(key=key).status in (BatchStatus.QUEUED, BatchStatus.RUNNING):
                if time.monotonic() > deadline:
                    pytest.fail(f"the worker did not finish batch {key} within {WAIT_SECONDS} s")
                time.sleep(0.05)
        return response

    return do


test_memberships = types.test_memberships_are_enrolled_through_the_service_with_audit_and_events
test_taken_card = types.test_a_taken_card_fails_its_record_with_the_domain_code
test_cards = types.test_cards_are_issued_and_an_unknown_membership_is_reported
test_alternate_ids = types.test_alternate_ids_are_added_and_a_duplicate_is_reported
test_legal_entities = types.test_legal_entities_are_saved_and_a_consumer_type_is_refused
test_point_adjustments = types.test_point_adjustments_book_through_the_ledger_and_never_overdraw
test_transfers = types.test_transfers_move_points_and_a_non_transferable_type_is_refused
test_transactions = types.test_transactions_are_evaluated_and_booked_once
test_products = types.test_products_are_saved_with_categories_and_an_unknown_channel_is_reported
test_category_values = types.test_category_values_are_saved_and_an_unknown_master_is_reported
test_custom_categories = types.test_custom_categories_are_set_and_unknown_products_are_reported
test_vouchers = types.test_vouchers_are_issued_and_an_unknown_type_is_reported
test_not_objects = types.test_records_that_are_not_objects_fail_and_the_rest_go_in
