from django.apps import AppConfig


class LoyaltyConfig(AppConfig):
    name = "loyalty"
    verbose_name = "Program"

    def ready(self) -> None:
        from loyalty import lookups  # noqa: F401 - registers the `__any` lookup
        from loyalty.configuration import watch
        from loyalty.models import MembershipType, Sponsor, Tier

        watch(MembershipType, Sponsor, Tier)  # cached per process (loyalty.configuration)
