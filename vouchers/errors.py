"""The refusals of the vouchers app, each with its stable `code` (docs/vouchers.md lists them)."""

from loyalty.errors import Conflict, InvalidInput, NotFound


class VoucherTypeNotFound(NotFound):
    code = "voucher_type_not_found"
    default_detail = "No voucher type has this key."


class VoucherNotFound(NotFound):
    code = "voucher_not_found"
    default_detail = "No voucher has this code."


class VoucherTypeExists(Conflict):
    code = "voucher_type_exists"
    default_detail = "A voucher type with this key exists."


class InvalidVoucherType(InvalidInput):
    code = "invalid_voucher_type"
    default_detail = "The voucher type is not valid."


class VoucherTypeInactive(Conflict):
    code = "voucher_type_inactive"
    default_detail = "This voucher type is not active: no vouchers are issued."


class VoucherTypeEnded(Conflict):
    code = "voucher_type_ended"
    default_detail = "This voucher type's validity has ended: no vouchers are issued."


class OutOfStock(Conflict):
    code = "out_of_stock"
    default_detail = "No vouchers of this type are left."


class MemberLimitReached(Conflict):
    code = "member_limit_reached"
    default_detail = "The member already has as many vouchers of this type as allowed."


class RecipientRequired(InvalidInput):
    code = "recipient_required"
    default_detail = "Vouchers of this type are bought with points: name the recipient who pays."


class BulkPricedType(InvalidInput):
    code = "bulk_priced_type"
    default_detail = "Vouchers bought with points are issued one at a time."


class CodeSpaceExhausted(Conflict):
    code = "code_space_exhausted"
    default_detail = "No unused codes could be drawn in this format; make the codes longer."


class InvalidVoucherCode(InvalidInput):
    code = "invalid_voucher_code"
    default_detail = "This is not a usable voucher code."


class VoucherCodeTaken(Conflict):
    code = "voucher_code_taken"
    default_detail = "A voucher with this code exists."


class InvalidValidity(InvalidInput):
    code = "invalid_validity"
    default_detail = "The voucher's validity does not fit its type."


class VoucherExpired(Conflict):
    code = "voucher_expired"
    default_detail = "The voucher has expired."


class VoucherNotYetValid(Conflict):
    code = "voucher_not_yet_valid"
    default_detail = "The voucher cannot be used yet."


class VoucherUsed(Conflict):
    code = "voucher_used"
    default_detail = "The voucher has been used."


class VoucherRevoked(Conflict):
    code = "voucher_revoked"
    default_detail = "The voucher was revoked."


class WrongRecipient(Conflict):
    code = "wrong_recipient"
    default_detail = "The voucher belongs to another member."


class ChannelNotAllowed(Conflict):
    code = "channel_not_allowed"
    default_detail = "The voucher cannot be used in this channel."


class ReasonRequired(InvalidInput):
    code = "reason_required"
    default_detail = "Say why the voucher is revoked."
