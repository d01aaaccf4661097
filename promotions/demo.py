"""Demo catalog (idempotent): Northwind's web shop and two stores, Bright Fuel's stations, three
master categories with their values per channel, 200 products and two custom categories.

Everything goes through the catalog services, so the demo fills the audit log and the event feed
too; a second run finds every row as it should be and writes nothing.
"""

from __future__ import annotations

import random
from decimal import Decimal

from loyalty.actors import Actor
from loyalty.models import Sponsor
from promotions.catalog_services import (
    save_category_value,
    save_channel,
    save_master_category,
    save_product,
    set_custom_category,
)
from promotions.models import Channel, MasterCategory

# seed_demo runs this after the demo data of these apps.
AFTER = ("loyalty",)

CHANNELS = [
    # key, name, kind, sponsor
    ("webshop", "Northwind web shop", "webshop", "northwind"),
    ("store-amsterdam", "Northwind Amsterdam Centraal", "store", "northwind"),
    ("store-utrecht", "Northwind Utrecht Neude", "store", "northwind"),
    ("brightfuel-stations", "Bright Fuel stations", "partner", "brightfuel"),
]
MASTERS = [
    ("department", "Department", "Where the product sits in the shop."),
    ("brand", "Brand", "Who makes it."),
    ("season", "Season", "When it is sold (all year or a season)."),
]
DEPARTMENTS = {
    "coffee": "Coffee",
    "tea": "Tea",
    "bakery": "Bakery",
    "dairy": "Dairy",
    "fruit-veg": "Fruit & vegetables",
    "household": "Household",
    "snacks": "Snacks",
    "fuel": "Fuel",
    "car-care": "Car care",
}
BRANDS = {
    "northwind-roasters": "Northwind Roasters",
    "green-leaf": "Green Leaf",
    "bakehouse": "Bakehouse 1890",
    "fjord": "Fjord Dairy",
    "orchard": "Orchard Fresh",
    "sparkle": "Sparkle",
    "crunch": "Crunch & Co",
    "brightfuel": "BrightFuel",
    "autoshine": "AutoShine",
}
SEASONS = {"all-year": "All year", "summer": "Summer", "winter": "Winter", "christmas": "Christmas"}

# Retail assortment: (code, name, department, brand, price, season, sizes, attributes)
RETAIL = [
    ("COF", "Espresso beans", "coffee", "northwind-roasters", "6.49", "all-year", ["250g", "500g", "1kg"], {}),
    ("COF", "Filter coffee, ground", "coffee", "northwind-roasters", "4.29", "all-year", ["250g", "500g"], {}),
    ("COF", "Decaf beans", "coffee", "northwind-roasters", "6.99", "all-year", ["250g", "500g"], {}),
    ("COF", "Single-origin Ethiopia", "coffee", "northwind-roasters", "8.95", "all-year", ["250g", "1kg"],
     {"organic": True}),
    ("COF", "Coffee pods", "coffee", "northwind-roasters", "3.79", "all-year", ["10 pods", "30 pods"], {}),
    ("COF", "Cold brew", "coffee", "northwind-roasters", "2.49", "summer", ["330ml", "1L"], {}),
    ("TEA", "Green tea", "tea", "green-leaf", "2.89", "all-year", ["20 bags", "40 bags"], {"organic": True}),
    ("TEA", "Earl Grey", "tea", "green-leaf", "2.59", "all-year", ["20 bags", "40 bags"], {}),
    ("TEA", "Chamomile", "tea", "green-leaf", "2.39", "winter", ["20 bags"], {"organic": True}),
    ("TEA", "Rooibos", "tea", "green-leaf", "2.49", "all-year", ["20 bags", "40 bags"], {}),
    ("TEA", "Christmas spice tea", "tea", "green-leaf", "3.19", "christmas", ["20 bags"], {}),
    ("BAK", "Sourdough loaf", "bakery", "bakehouse", "3.95", "all-year", ["800g"], {}),
    ("BAK", "Croissant", "bakery", "bakehouse", "1.25", "all-year", ["1 piece", "4 pieces"], {}),
    ("BAK", "Rye bread", "bakery", "bakehouse", "3.45", "all-year", ["600g"], {"organic": True}),
    ("BAK", "Cinnamon roll", "bakery", "bakehouse", "1.75", "winter", ["1 piece", "4 pieces"], {}),
    ("BAK", "Almond stollen", "bakery", "bakehouse", "7.95", "christmas", ["750g"], {}),
    ("DAI", "Whole milk", "dairy", "fjord", "1.19", "all-year", ["1L", "2L"], {}),
    ("DAI", "Oat drink", "dairy", "fjord", "2.19", "all-year", ["1L"], {"vegan": True}),
    ("DAI", "Greek yoghurt", "dairy", "fjord", "2.49", "all-year", ["500g", "1kg"], {}),
    ("DAI", "Aged Gouda", "dairy", "fjord", "4.99", "all-year", ["300g", "1kg"], {}),
    ("DAI", "Butter", "dairy", "fjord", "2.79", "all-year", ["250g"], {}),
    ("FRU", "Apples Elstar", "fruit-veg", "orchard", "2.29", "all-year", ["1kg", "2kg"], {}),
    ("FRU", "Bananas", "fruit-veg", "orchard", "1.69", "all-year", ["1kg"], {"organic": True}),
    ("FRU", "Strawberries", "fruit-veg", "orchard", "3.49", "summer", ["400g"], {}),
    ("FRU", "Vine tomatoes", "fruit-veg", "orchard", "2.59", "summer", ["500g"], {}),
    ("FRU", "Pumpkin", "fruit-veg", "orchard", "2.99", "winter", ["1 piece"], {}),
    ("HOU", "Dish soap", "household", "sparkle", "1.99", "all-year", ["500ml", "1L"], {}),
    ("HOU", "Laundry pods", "household", "sparkle", "9.99", "all-year", ["24 pods", "48 pods"], {}),
    ("HOU", "Kitchen towels", "household", "sparkle", "2.49", "all-year", ["2 rolls", "6 rolls"], {}),
    ("HOU", "Scented candles", "household", "sparkle", "5.95", "winter", ["2 pieces"], {}),
    ("SNA", "Sea-salt crisps", "snacks", "crunch", "1.89", "all-year", ["150g", "300g"], {"vegan": True}),
    ("SNA", "Dark chocolate 72%", "snacks", "crunch", "2.29", "all-year", ["100g", "200g"], {"vegan": True}),
    ("SNA", "Pepernoten", "snacks", "crunch", "1.99", "christmas", ["300g"], {}),
    ("SNA", "Ice cream vanilla", "snacks", "crunch", "4.49", "summer", ["500ml", "1L"], {}),
    ("SNA", "Salted caramel popcorn", "snacks", "crunch", "2.19", "all-year", ["100g", "250g"], {}),
    ("SNA", "Roasted almonds", "snacks", "crunch", "3.49", "all-year", ["200g", "400g"], {"vegan": True}),
    ("COF", "Oat-milk latte, chilled", "coffee", "northwind-roasters", "1.99", "summer", ["250ml", "4x250ml"], {}),
    ("COF", "Christmas blend beans", "coffee", "northwind-roasters", "7.49", "christmas", ["250g", "500g"], {}),
    ("TEA", "Matcha powder", "tea", "green-leaf", "9.95", "all-year", ["30g", "80g"], {"organic": True}),
    ("BAK", "Whole-wheat buns", "bakery", "bakehouse", "1.99", "all-year", ["4 pieces", "8 pieces"], {}),
    ("DAI", "Skyr natural", "dairy", "fjord", "1.89", "all-year", ["450g", "900g"], {}),
    ("FRU", "Blueberries", "fruit-veg", "orchard", "2.99", "summer", ["125g", "300g"], {"organic": True}),
    ("HOU", "Bin bags", "household", "sparkle", "2.99", "all-year", ["20 pieces", "50 pieces"], {}),
    ("HOU", "All-purpose cleaner", "household", "sparkle", "2.49", "all-year", ["750ml", "1.5L"], {}),
]  # fmt: skip
STATIONS = [
    ("BF-FUEL-95", "Euro 95 petrol (litre)", "fuel", "brightfuel", "2.09", {"unit": "litre"}),
    ("BF-FUEL-98", "Super 98 petrol (litre)", "fuel", "brightfuel", "2.24", {"unit": "litre"}),
    ("BF-FUEL-DSL", "Diesel (litre)", "fuel", "brightfuel", "1.79", {"unit": "litre"}),
    ("BF-FUEL-LPG", "LPG (litre)", "fuel", "brightfuel", "0.99", {"unit": "litre"}),
    ("BF-EV-KWH", "Fast charging (kWh)", "fuel", "brightfuel", "0.69", {"unit": "kWh"}),
    ("BF-WASH-BASIC", "Car wash basic", "car-care", "autoshine", "9.50", {}),
    ("BF-WASH-PREMIUM", "Car wash premium", "car-care", "autoshine", "16.50", {}),
    ("BF-SCREENWASH", "Screen wash 5L", "car-care", "autoshine", "7.99", {}),
    ("BF-OIL-5W30", "Engine oil 5W-30 1L", "car-care", "autoshine", "14.99", {}),
    ("BF-DEICER", "De-icer spray", "car-care", "autoshine", "5.49", {}),
    ("BF-COFFEE-TOGO", "Coffee to go", "coffee", "northwind-roasters", "2.60", {}),
    ("BF-CAPPUCCINO", "Cappuccino to go", "coffee", "northwind-roasters", "3.10", {}),
    ("BF-ESPRESSO", "Espresso to go", "coffee", "northwind-roasters", "2.20", {}),
    ("BF-TEA-TOGO", "Tea to go", "tea", "green-leaf", "2.20", {}),
    ("BF-CROISSANT", "Croissant", "bakery", "bakehouse", "1.95", {}),
    ("BF-SANDWICH", "Cheese sandwich", "bakery", "bakehouse", "3.95", {}),
    ("BF-CRISPS", "Sea-salt crisps 150g", "snacks", "crunch", "2.49", {"vegan": True}),
    ("BF-CHOC", "Dark chocolate 72% 100g", "snacks", "crunch", "2.79", {"vegan": True}),
    ("BF-WATER", "Still water 500ml", "snacks", "crunch", "1.89", {}),
    ("BF-ICECREAM", "Ice cream cone", "snacks", "crunch", "2.50", {}),
]  # fmt: skip
STORE_PRODUCTS = 52  # of the web shop's assortment, per store


def retail_assortment() -> list[tuple[str, str, str, str, Decimal, str, dict]]:
    """(key, name, department, brand, price, season, attributes) of the web shop, one row per size."""
    rows, numbers = [], {}
    for code, name, department, brand, price, season, sizes, attributes in RETAIL:
        for index, size in enumerate(sizes):
            numbers[code] = numbers.get(code, 0) + 1
            scale = Decimal(1 + index * 0.8).quantize(Decimal("0.1"))
            rows.append(
                (
                    f"NW-{code}-{numbers[code]:03d}",
                    f"{name} {size}",
                    department,
                    brand,
                    (Decimal(price) * scale).quantize(Decimal("0.01")),
                    season,
                    {**attributes, "size": size},
                )
            )
    return rows


def seed(actor: Actor) -> None:
    seed_catalog(actor)


def seed_catalog(actor: Actor) -> None:
    sponsors = {s.key: s for s in Sponsor.objects.filter(key__in=["northwind", "brightfuel"])}
    if len(sponsors) < 2:  # the loyalty demo makes them; without it there is no catalog to show
        return
    channels = {
        key: save_channel(key=key, name=name, kind=kind, sponsor=sponsors[sponsor], actor=actor)
        for key, name, kind, sponsor in CHANNELS
    }
    masters = {
        key: save_master_category(key=key, name=name, description=description, actor=actor)
        for key, name, description in MASTERS
    }
    retail = retail_assortment()
    rng = random.Random(20261125)  # the same demo every time
    assortments: dict[str, list[tuple]] = {"webshop": retail}
    for store in ("store-amsterdam", "store-utrecht"):
        assortments[store] = sorted(rng.sample(retail, STORE_PRODUCTS))
    assortments["brightfuel-stations"] = [
        (key, name, department, brand, Decimal(price), "all-year", attributes)
        for key, name, department, brand, price, attributes in STATIONS
    ]
    for channel_key, rows in assortments.items():
        channel = channels[channel_key]
        _seed_values(channel, masters, rows, actor)
        for key, name, department, brand, price, season, attributes in rows:
            save_product(
                channel=channel,
                key=key,
                name=name,
                brand=BRANDS[brand],
                price=price,
                attributes=attributes,
                categories={"department": department, "brand": brand, "season": season},
                actor=actor,
            )
    coffee = [(c, row[0]) for c, rows in assortments.items() for row in rows if row[2] == "coffee"]
    set_custom_category(
        key="coffee-lovers",
        name="Coffee lovers",
        description="Every coffee we sell, in the shops, online and at the stations.",
        products=coffee,
        replace=True,
        actor=actor,
    )
    organic = [(c, row[0]) for c, rows in assortments.items() for row in rows if row[6].get("organic")]
    set_custom_category(
        key="organic",
        name="Organic choice",
        description="Certified organic products.",
        products=organic,
        replace=True,
        actor=actor,
    )


def _seed_values(channel: Channel, masters: dict[str, MasterCategory], rows: list[tuple], actor: Actor) -> None:
    used = {
        "department": {row[2] for row in rows},
        "brand": {row[3] for row in rows},
        "season": {row[5] for row in rows},
    }
    names = {"department": DEPARTMENTS, "brand": BRANDS, "season": SEASONS}
    for master_key, keys in used.items():
        for key in sorted(keys):
            save_category_value(
                master=masters[master_key], channel=channel, key=key, name=names[master_key][key], actor=actor
            )
