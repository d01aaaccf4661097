from .catalog import CategoryValue, Channel, CustomCategory, MasterCategory, Product, ProductCategory
from .promotion import BacktestRun, Promotion, PromotionBudget, PromotionMemberUsage, PromotionVersion, TestBasket

__all__ = [
    "BacktestRun",
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
