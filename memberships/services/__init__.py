"""Every write of the memberships app. The API, the admin, imports and tasks all call these.

Each service takes plain arguments and the acting `actor`, runs in one transaction, records its
audit entry and emits its events in that transaction, and refuses with a DomainError subclass
from memberships.errors.
"""

from memberships.services.bulk import enroll_many, issue_cards
from memberships.services.enrollment import (
    claim_membership,
    create_anonymous_membership,
    enroll_membership,
    resolve_or_create_anonymous,
    resolve_or_plan_anonymous,
    update_membership,
)
from memberships.services.identifiers import (
    add_alternate_id,
    add_remark,
    delete_alternate_id,
    delete_card,
    issue_card,
)
from memberships.services.legal_entities import (
    cancel_legal_entity,
    reactivate_legal_entity,
    save_legal_entity,
    save_legal_entity_card,
)
from memberships.services.lifecycle import (
    block_membership,
    cancel_membership,
    merge_memberships,
    reactivate_membership,
    unblock_membership,
)

__all__ = [
    "add_alternate_id",
    "add_remark",
    "block_membership",
    "cancel_legal_entity",
    "cancel_membership",
    "claim_membership",
    "create_anonymous_membership",
    "delete_alternate_id",
    "delete_card",
    "enroll_many",
    "enroll_membership",
    "issue_card",
    "issue_cards",
    "merge_memberships",
    "reactivate_legal_entity",
    "reactivate_membership",
    "resolve_or_create_anonymous",
    "resolve_or_plan_anonymous",
    "save_legal_entity",
    "save_legal_entity_card",
    "unblock_membership",
    "update_membership",
]
