"""Event types the loyalty app emits (the feed's `type` field)."""

CONFIGURATION_EVENT_TYPES = [
    f"{model}.{verb}"
    for model in ("program", "sponsor", "membershiptype", "tier", "apiclient")
    for verb in ("created", "updated", "deleted")
]
API_KEY_ISSUED = "apikey.issued"
API_KEY_REVOKED = "apikey.revoked"
API_KEY_LIMITED = "apikey.ratelimited"  # audit only: a key's rate limit overrides changed
