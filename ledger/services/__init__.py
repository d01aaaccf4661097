"""Every write of the ledger. Views, admin, imports and tasks call these functions only."""

from ledger.services.adjust import adjust_points
from ledger.services.earn import EarnLine, earn_points
from ledger.services.expiry import expire_due, notify_expiring, notify_matured
from ledger.services.membership import forfeit_membership_points, merge_membership_points
from ledger.services.redeem import redeem_points, reverse_redemption
from ledger.services.reversal import reverse_earn, reverse_earn_amounts
from ledger.services.transfer import transfer_points

__all__ = [
    "EarnLine",
    "adjust_points",
    "earn_points",
    "expire_due",
    "forfeit_membership_points",
    "merge_membership_points",
    "notify_expiring",
    "notify_matured",
    "redeem_points",
    "reverse_earn",
    "reverse_earn_amounts",
    "reverse_redemption",
    "transfer_points",
]
