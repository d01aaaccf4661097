"""Event types the catalog emits (the feed's `type` field).

Channels and master categories are program configuration, saved by
loyalty.services.save_configuration, which names its events `<model>.<verb>`; the other catalog
objects follow the same pattern so that one integrator rule (`<object>.created|updated|deleted`)
covers the whole catalog. Payloads carry keys, never whole product lists.
"""

CHANNEL_CREATED = "channel.created"
CHANNEL_UPDATED = "channel.updated"
CHANNEL_DELETED = "channel.deleted"

MASTER_CATEGORY_CREATED = "mastercategory.created"
MASTER_CATEGORY_UPDATED = "mastercategory.updated"
MASTER_CATEGORY_DELETED = "mastercategory.deleted"

CATEGORY_VALUE_CREATED = "categoryvalue.created"
CATEGORY_VALUE_UPDATED = "categoryvalue.updated"
CATEGORY_VALUE_DELETED = "categoryvalue.deleted"

PRODUCT_CREATED = "product.created"
PRODUCT_UPDATED = "product.updated"

CUSTOM_CATEGORY_CREATED = "customcategory.created"
CUSTOM_CATEGORY_UPDATED = "customcategory.updated"
CUSTOM_CATEGORY_DELETED = "customcategory.deleted"

ALL = [
    value
    for name, value in sorted(globals().items())
    if name.isupper() and isinstance(value, str) and "." in value and name != "ALL"
]
