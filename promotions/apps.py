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

        from django.db.models.signals import m2m_changed

        from loyalty.configuration import bump_catalog, watch, watch_catalog
        from promotions.models import (
            CategoryValue,
            CustomCategory,
            Product,
            ProductCategory,
            Promotion,
            PromotionVersion,
        )

        # Cached per process (loyalty.configuration): the configuration, and the products' facts.
        watch(Channel, Promotion, PromotionVersion)
        watch_catalog(Product, ProductCategory, CategoryValue, MasterCategory, CustomCategory)
        m2m_changed.connect(bump_catalog, sender=CustomCategory.products.through, dispatch_uid="catalog-links")

        from memberships.hooks import (
            MemberPanel,
            register_channel_check,
            register_member_panel,
            register_tier_standing_provider,
        )
        from promotions.back_office import channel_known, tier_panel
        from promotions.tiers import standing_summary

        register_tier_standing_provider(standing_summary)
        register_channel_check(channel_known)
        register_member_panel(
            MemberPanel(
                key="tier",
                title="Tier",
                order=20,
                template="admin/promotions/member_tier.html",
                context=tier_panel,
                placement="header",
            )
        )
