"""Refusals of the catalog and of the engine's input, each with its stable code (docs/catalog.md and
docs/promotions.md list them)."""

from loyalty.errors import DomainError, InvalidInput, NotFound


class ChannelNotFound(NotFound):
    code = "channel_not_found"
    default_detail = "No channel has this key."


class ProductNotFound(NotFound):
    code = "product_not_found"
    default_detail = "The channel has no product with this key."


class CategoryNotFound(NotFound):
    """A master category named in the path."""

    code = "category_not_found"
    default_detail = "No master category has this key."


class UnknownChannel(InvalidInput):
    """A channel named in a request body or a service argument."""

    code = "unknown_channel"
    default_detail = "No channel has this key."


class UnknownCategory(InvalidInput):
    """A master category or category value named in a request body or a service argument."""

    code = "unknown_category"
    default_detail = "No such category."


class CategoryValueWrongChannel(InvalidInput):
    code = "category_value_wrong_channel"
    default_detail = "A product takes only category values of its own channel."


class UnknownProducts(InvalidInput):
    """Products named in a request that the catalog does not have; `errors` lists each one."""

    code = "unknown_products"
    default_detail = "Some products are not in the catalog."


class InvalidCatalogData(InvalidInput):
    code = "invalid_catalog_data"
    default_detail = "The catalog data is not valid."


class ItemsDoNotAddUp(InvalidInput):
    """The line items of a transaction (or a try-it sample) miss its total or cost more than listed."""

    code = "items_do_not_add_up"
    default_detail = "The line items do not add up to the total."


class ApprovalNotRequested(DomainError):
    code = "approval_not_requested"
    status = 409
    default_detail = "Nobody has asked to activate this promotion."


class ApprovalBySecondPerson(DomainError):
    code = "approval_by_second_person"
    status = 403
    default_detail = "A second person must approve: you asked for this activation yourself."
