from .catalog import CategoryValue, Channel, CustomCategory, MasterCategory, Product, ProductCategory
from .promotion import Promotion, PromotionBudget, PromotionGeneration, PromotionMemberUsage, PromotionVersion

__all__ = [
    "CategoryValue",
    "Channel",
    "CustomCategory",
    "MasterCategory",
    "Product",
    "ProductCategory",
    "Promotion",
    "PromotionBudget",
    "PromotionGeneration",
    "PromotionMemberUsage",
    "PromotionVersion",
]
