from django.apps import AppConfig


class PromotionsConfig(AppConfig):
    name = "promotions"
    verbose_name = "Promotions and catalog"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from loyalty.services import register_configuration_model
        from promotions.models import Channel, MasterCategory

        # Channels and master categories are program configuration: saved (admin, demo) through
        # loyalty.services.save_configuration, which audits them and emits `<model>.<verb>` events.
        register_configuration_model(Channel)
        register_configuration_model(MasterCategory)

        from memberships.hooks import register_tier_standing_provider
        from promotions.tiers import standing_summary

        register_tier_standing_provider(standing_summary)
