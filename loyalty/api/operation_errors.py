"""The errors each operation answers besides those of the API conventions (validation, authentication,
scope, idempotency, body size and type: loyalty/api/schema.py adds those by the operation's kind).

The schema's error answers, their descriptions and their examples are generated from this table and the
codes' own words (loyalty/api/error_catalog.py). The test run keeps it true: tests/api_errors.py records
every error answer the tests provoke and fails the run on a status and code not listed here for the
operation, and tests/loyalty/test_api_errors.py checks that every code listed is one the code raises.
"""

MEMBER_KEY: dict[int, tuple[str, ...]] = {404: ("membership_not_found",), 409: ("ambiguous_key",)}


def member_key(own: dict[int, tuple[str, ...]]) -> dict[int, tuple[str, ...]]:
    """An operation that looks a member up by a key (number, active card or alternate id)."""
    merged = {status: tuple(codes) for status, codes in MEMBER_KEY.items()}
    for status, codes in own.items():
        merged[status] = merged.get(status, ()) + tuple(codes)
    return merged


OPERATION_ERRORS: dict[str, dict[int, tuple[str, ...]]] = {
    "acknowledgeEvents": {403: ("permission_denied",), 409: ("invalid_ack",)},
    "addAlternateId": member_key({409: ("alternate_id_taken", "key_taken", "membership_not_active")}),
    "addRemark": member_key({}),
    "adjustPoints": member_key({400: ("invalid_amount",), 409: ("insufficient_points",)}),
    "bookTransaction": member_key(
        {
            400: (
                "items_do_not_add_up",
                "occurred_in_future",
                "occurred_too_early",
                "unknown_channel",
                "unknown_sponsor",
                "wrong_currency",
            ),
            409: ("membership_not_active", "receipt_already_booked", "tx_id_reused"),
        }
    ),
    "cancelImportBatch": {404: ("batch_not_found",), 409: ("batch_not_cancellable",)},
    "cancelImportBatchByGet": {405: ("get_needs_api_key",), 404: ("batch_not_found",), 409: ("batch_not_cancellable",)},
    "cancelLegalEntity": member_key({409: ("legal_entity_not_active",)}),
    "cancelMembership": member_key({409: ("membership_not_active",)}),
    "claimMembership": member_key({409: ("email_taken", "invalid_merge", "merge_into_self", "not_anonymous")}),
    "convertVoucher": member_key(
        {
            404: ("voucher_not_found",),
            409: (
                "channel_not_allowed",
                "membership_not_active",
                "voucher_expired",
                "voucher_not_yet_valid",
                "voucher_revoked",
                "voucher_used",
                "wrong_recipient",
            ),
        }
    ),
    "createVoucherType": {
        400: ("invalid_voucher_type", "unknown_point_type", "unknown_sponsor"),
        409: ("voucher_type_exists",),
    },
    "deleteCard": {404: ("card_not_found",)},
    "downloadExportJob": {404: ("export_job_not_found",), 409: ("export_not_ready",)},
    "downloadImportRecords": {404: ("batch_not_found",)},
    "enrollMember": {
        400: ("invalid_input", "unknown_channel", "unknown_membership_type", "unknown_sponsor"),
        409: ("alternate_id_taken", "card_taken", "email_taken", "key_taken"),
    },
    "getAbout": {401: ("authentication_failed",)},  # a key sent but not valid; none is fine
    "getExportJob": {404: ("export_job_not_found",)},
    "getImportBatch": {404: ("batch_not_found",)},
    "getLegalEntity": member_key({404: ("legal_entity_not_found",)}),
    "getMemberDetails": member_key({}),
    "getProduct": {404: ("channel_not_found", "product_not_found")},
    "getProgram": {},
    "getRedeemableBalance": member_key({}),
    "getStatement": member_key({}),
    "getTransaction": {404: ("transaction_not_found",)},
    "getTransactionRewards": {404: ("transaction_not_found",)},
    "getVoucher": {404: ("voucher_not_found",)},
    "issueVoucher": member_key(
        {
            400: ("bulk_priced_type", "recipient_required"),
            404: ("voucher_type_not_found",),
            409: (
                "insufficient_points",
                "member_limit_reached",
                "membership_not_active",
                "out_of_stock",
                "voucher_type_ended",
                "voucher_type_inactive",
            ),
        }
    ),
    "listAuditEntries": {},
    "listCategories": {},
    "listCategoryValues": {404: ("category_not_found", "channel_not_found")},
    "listChannels": {},
    "listEvents": {},
    "listExportTemplates": {},
    "listImportBatches": {},
    "listImportTypes": {},
    "listLegalEntityCards": member_key({404: ("legal_entity_not_found",)}),
    "listMemberAccounts": member_key({}),
    "listMemberCards": member_key({}),
    "listMembers": {},
    "listRemarks": member_key({}),
    "listRewardsHistory": {},
    "listTransactions": {},
    "listVoucherTypes": {},
    "listVouchers": {},
    "mergeMemberships": member_key({409: ("invalid_merge", "merge_into_self")}),
    "queueCsvImport": {
        400: ("empty_import", "invalid_encoding", "invalid_file", "missing_columns", "no_file", "unknown_columns"),
        404: ("unknown_import_type",),
    },
    "queueImport": {400: ("empty_import", "invalid_body"), 404: ("unknown_import_type",)},
    "redeemPoints": member_key(
        {
            400: ("invalid_amount", "unknown_point_type", "unknown_sponsor"),
            409: ("insufficient_points", "not_redeemable"),
        }
    ),
    "removeAlternateId": member_key({404: ("alternate_id_not_found",), 409: ("ambiguous_alternate_id",)}),
    "resumeImportBatch": {404: ("batch_not_found",), 409: ("batch_not_resumable",)},
    "resumeImportBatchByGet": {405: ("get_needs_api_key",), 404: ("batch_not_found",), 409: ("batch_not_resumable",)},
    "resumeImportBatchesOfType": {404: ("unknown_import_type",)},
    "resumeImportBatchesOfTypeByGet": {405: ("get_needs_api_key",), 404: ("unknown_import_type",)},
    "reverseRedemption": {404: ("receipt_not_found",), 409: ("already_reversed",)},
    "reverseTransaction": {
        400: ("unknown_line", "unknown_sponsor"),
        404: ("transaction_not_found",),
        409: ("already_returned", "return_exceeds_quantity"),
    },
    "revokeVoucher": member_key(
        {404: ("voucher_not_found",), 409: ("voucher_expired", "voucher_revoked", "voucher_used", "wrong_recipient")}
    ),
    "runExport": {404: ("unknown_export_template",)},
    "saveLegalEntity": member_key(  # its `users` are membership keys
        {
            400: ("not_company_type",),
            404: ("membership_type_not_found",),
            409: ("legal_entity_not_active", "member_of_other_legal_entity"),
        }
    ),
    "saveLegalEntityCard": member_key(
        {400: ("invalid_input",), 409: ("card_taken", "key_taken", "legal_entity_not_active")}
    ),
    "searchProducts": {},
    "setCustomCategory": {400: ("unknown_products",)},
    "transferPoints": member_key({409: ("insufficient_points", "not_transferable", "same_membership")}),
    "updateMemberDetails": member_key(
        {400: ("unknown_membership_type",), 409: ("email_taken", "membership_anonymous", "membership_not_active")}
    ),
    "createWebhookEndpoint": {400: ("invalid_webhook_endpoint",)},
    "deleteWebhookEndpoint": {404: ("webhook_endpoint_not_found",)},
    "getWebhookEndpoint": {404: ("webhook_endpoint_not_found",)},
    "listWebhookDeliveries": {},
    "listWebhookEndpoints": {},
    "listWebhookEventTypes": {},
    "retryWebhookDelivery": {404: ("webhook_delivery_not_found",), 409: ("webhook_endpoint_disabled",)},
    "rotateWebhookSecret": {404: ("webhook_endpoint_not_found",)},
    "testWebhookEndpoint": {404: ("webhook_endpoint_not_found",), 409: ("webhook_endpoint_disabled",)},
    "updateWebhookEndpoint": {400: ("invalid_webhook_endpoint",), 404: ("webhook_endpoint_not_found",)},
}
