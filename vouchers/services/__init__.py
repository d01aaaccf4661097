"""Every write of the vouchers app. Views, admin, tasks, the promotions engine and the merge hook
call these functions only.

Locking order, the same on every path (no two writers wait on each other in a cycle):
  1. the type's stock row (`VoucherStock`)  - issue, revoke
  2. the recipient membership               - issue to a member, revoke of a member's voucher
  3. the voucher row                        - convert, revoke, expiry
  4. the member's point accounts (ledger)   - payment on issue, refund on revoke
A membership merge locks memberships, then point accounts, then moves the vouchers: it meets an
issue or a revoke at the membership row first, so they queue instead of deadlocking. A conversion
locks only its voucher.
"""

from vouchers.services.core import effective_status, lock_stock, lock_voucher, voucher_transaction
from vouchers.services.expiry import expire_vouchers
from vouchers.services.issue import IssueResult, fresh_tokens, issue_voucher, validity_of
from vouchers.services.membership import move_vouchers_on_merge
from vouchers.services.promotions import (
    PromotionVoucher,
    ReturnedVouchers,
    issue_promotion_voucher,
    promotion_source,
    revoke_transaction_vouchers,
)
from vouchers.services.register import GivenCode, RegisteredCodes, register_voucher, register_vouchers
from vouchers.services.types import create_voucher_type, update_voucher_type
from vouchers.services.use import convert_voucher, revoke_by_token, revoke_voucher

__all__ = [
    "GivenCode",
    "IssueResult",
    "PromotionVoucher",
    "RegisteredCodes",
    "ReturnedVouchers",
    "convert_voucher",
    "create_voucher_type",
    "effective_status",
    "expire_vouchers",
    "fresh_tokens",
    "issue_promotion_voucher",
    "issue_voucher",
    "lock_stock",
    "lock_voucher",
    "move_vouchers_on_merge",
    "promotion_source",
    "register_voucher",
    "register_vouchers",
    "revoke_by_token",
    "revoke_transaction_vouchers",
    "revoke_voucher",
    "update_voucher_type",
    "validity_of",
    "voucher_transaction",
]
