"""Refusals of the transaction flow."""

from loyalty.errors import Conflict, InvalidInput, NotFound


class UnknownChannel(InvalidInput):
    code = "unknown_channel"
    default_detail = "No such channel."


class WrongCurrency(InvalidInput):
    code = "wrong_currency"
    default_detail = "The program earns in another currency."


class OccurredInFuture(InvalidInput):
    code = "occurred_in_future"
    default_detail = "The transaction lies in the future."


class OccurredTooEarly(InvalidInput):
    code = "occurred_too_early"
    default_detail = "The transaction lies before the earliest purchase the program takes."


class TxIdReused(Conflict):
    code = "tx_id_reused"
    default_detail = "This txId was already booked with a different transaction."


class ReceiptAlreadyBooked(Conflict):
    code = "receipt_already_booked"
    default_detail = "This sponsor already booked a transaction with this receipt id."


class TransactionNotFound(NotFound):
    code = "transaction_not_found"
    default_detail = "No transaction has this id."


class AmbiguousReceipt(Conflict):
    code = "ambiguous_receipt"
    default_detail = "Several sponsors booked this receipt id; name the sponsor."


class ReturnExceedsQuantity(Conflict):
    code = "return_exceeds_quantity"
    default_detail = "More would be returned than was bought (or is left)."


class AlreadyReturned(Conflict):
    code = "already_returned"
    default_detail = "Everything of this transaction was already returned."


class UnknownLine(InvalidInput):
    code = "unknown_line"
    default_detail = "The transaction has no such line."
