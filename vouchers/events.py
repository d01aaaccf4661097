"""Event types the vouchers app emits (the feed's `type` field)."""

VOUCHER_ISSUED = "voucher.issued"
VOUCHER_CONVERTED = "voucher.converted"
VOUCHER_REVOKED = "voucher.revoked"
VOUCHER_EXPIRED = "voucher.expired"
VOUCHER_TYPE_CREATED = "vouchertype.created"  # from loyalty.services.save_configuration
VOUCHERS_MERGED = "vouchers.merged"
