"""Ledger refusals, each with its stable code."""

from loyalty.errors import Conflict, DomainError, InvalidInput, NotFound


class InsufficientPoints(Conflict):
    code = "insufficient_points"
    default_detail = "Not enough redeemable points."


class NotRedeemable(Conflict):
    code = "not_redeemable"
    default_detail = "Points of this type cannot be redeemed."


class NotTransferable(Conflict):
    code = "not_transferable"
    default_detail = "Points of this type cannot be transferred."


class AlreadyReversed(Conflict):
    code = "already_reversed"
    default_detail = "This booking was already reversed."


class SameMembership(Conflict):
    code = "same_membership"
    default_detail = "Source and target are the same membership."


class ReceiptNotFound(NotFound):
    code = "receipt_not_found"
    default_detail = "No booking has this receipt id."


class UnknownPointType(InvalidInput):
    code = "unknown_point_type"
    default_detail = "No such point type."


class UnknownSponsor(InvalidInput):
    code = "unknown_sponsor"
    default_detail = "No such sponsor."


class InvalidAmount(InvalidInput):
    code = "invalid_amount"
    default_detail = "The amount is not valid for this point type."


class AdjustmentAboveLimit(DomainError):
    code = "adjustment_above_limit"
    status = 403
    default_detail = "This adjustment is larger than you may make."
