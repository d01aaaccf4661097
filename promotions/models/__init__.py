from .catalog import CategoryValue, Channel, CustomCategory, MasterCategory, Product, ProductCategory
from .promotion import Promotion, PromotionBudget, PromotionMemberUsage, PromotionVersion, TestBasket

__all__ = [
    "CategoryValue",
    "Channel",
    "CustomCategory",
    "MasterCategory",
    "Product",
    "ProductCategory",
    "Promotion",
    "PromotionBudget",
    "PromotionMemberUsage",
    "PromotionVersion",
    "TestBasket",
]
