"""The vocabulary of the generated sample catalog: product types, their attributes, synonyms and accessories.

Each main type has brands, materials, colors, a 3-level category path, query nouns, synonyms that never
appear in its product text (so a synonym query needs the dense side) and an accessory type (its complement).
Brand names are invented words, so a brand query is best served by the lexical side. Some brands, colors
and words are shared across types on purpose: lexical matching alone then retrieves wrong types.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProductType:
    """One kind of product. name: the noun used in titles; noun: the noun users type; synonyms: other nouns
    users type that the product text never contains; accessory: key of the complement type (None for
    accessories); price: (low, high) in US dollars; features: bullet-point phrases."""

    key: str
    name: str
    noun: str
    category: tuple[str, str, str]
    brands: tuple[str, ...]
    materials: tuple[str, ...]
    colors: tuple[str, ...]
    styles: tuple[str, ...]
    price: tuple[float, float]
    features: tuple[str, ...]
    synonyms: tuple[str, ...] = ()
    accessory: str | None = None


MAIN_TYPES: tuple[ProductType, ...] = (
    ProductType("sofa", "Sofa", "sofa", ("Home & Kitchen", "Furniture", "Sofas"),
                ("Nordvik", "Harlow & Finch", "Casavero"), ("leather", "velvet", "linen"),
                ("grey", "navy", "green", "beige"), ("3-Seater", "Mid-Century", "Chesterfield", "Modular"),
                (350, 1500), ("Seats three adults comfortably", "Removable seat cushions",
                              "Solid hardwood frame", "Assembly in under 20 minutes"),
                synonyms=("couch", "settee"), accessory="sofa_cover"),
    ProductType("coffee_table", "Coffee Table", "coffee table", ("Home & Kitchen", "Furniture", "Coffee Tables"),
                ("Nordvik", "Oakhurst"), ("oak", "walnut", "glass", "marble"), ("natural", "black", "white"),
                ("Round", "Rectangular", "Lift-Top"), (90, 600),
                ("Lower shelf for magazines", "Scratch-resistant top", "Fits living rooms of any size"),
                synonyms=("cocktail table",), accessory="coasters"),
    ProductType("running_shoes", "Running Shoes", "running shoes",
                ("Clothing, Shoes & Jewelry", "Shoes", "Running Shoes"),
                ("Stridemax", "Velora", "Pacelight"), ("mesh", "knit", "synthetic"),
                ("black", "white", "red", "blue"), ("Road", "Trail", "Lightweight", "Cushioned"), (45, 180),
                ("Breathable upper", "Responsive foam midsole", "Grippy rubber outsole", "Reflective details"),
                synonyms=("trainers", "jogging sneakers"), accessory="running_socks"),
    ProductType("hoodie", "Hoodie", "hoodie", ("Clothing, Shoes & Jewelry", "Clothing", "Sweatshirts & Hoodies"),
                ("Velora", "Northline"), ("cotton", "fleece", "wool blend"), ("black", "grey", "red", "green"),
                ("Pullover", "Full-Zip", "Oversized"), (25, 90),
                ("Kangaroo pocket", "Ribbed cuffs and hem", "Machine washable", "Adjustable drawstring hood"),
                synonyms=("hooded sweatshirt",), accessory="beanie"),
    ProductType("headphones", "Wireless Headphones", "headphones", ("Electronics", "Audio", "Headphones"),
                ("Sonora", "Auralux", "Kestrel"), ("aluminium", "plastic", "leatherette"),
                ("black", "white", "silver", "blue"), ("Over-Ear", "On-Ear", "Noise Cancelling"), (30, 350),
                ("40-hour battery life", "Bluetooth 5.3", "Active noise cancellation", "Foldable design"),
                synonyms=("earphones", "headset"), accessory="headphone_case"),
    ProductType("frying_pan", "Frying Pan", "frying pan", ("Home & Kitchen", "Cookware", "Frying Pans"),
                ("Ferrum", "Cucina Rossa"), ("cast iron", "stainless steel", "nonstick"), ("black", "silver", "red"),
                ("10-Inch", "12-Inch", "Deep"), (20, 120),
                ("Oven safe to 500 F", "Works on induction hobs", "Even heat distribution", "Stay-cool handle"),
                synonyms=("skillet",), accessory="pan_lid"),
    ProductType("coffee_maker", "Coffee Maker", "coffee maker",
                ("Home & Kitchen", "Small Appliances", "Coffee Makers"),
                ("Brewtide", "Kestrel"), ("stainless steel", "plastic", "glass"), ("black", "silver", "white"),
                ("12-Cup", "Single-Serve", "Programmable"), (30, 250),
                ("Programmable 24-hour timer", "Keep-warm plate", "Reusable filter basket", "Auto shut-off"),
                synonyms=("coffee machine", "brewer"), accessory="coffee_filters"),
    ProductType("desk_lamp", "Desk Lamp", "desk lamp", ("Home & Kitchen", "Lighting", "Desk Lamps"),
                ("Lumora", "Oakhurst"), ("brass", "aluminium", "wood"), ("black", "white", "gold"),
                ("Adjustable", "Swing-Arm", "Dimmable"), (20, 140),
                ("Three brightness levels", "Flexible gooseneck", "USB charging port", "Eye-caring light"),
                synonyms=("reading light", "table lamp"), accessory="led_bulb"),
    ProductType("backpack", "Laptop Backpack", "laptop backpack",
                ("Electronics", "Computer Accessories", "Laptop Bags"),
                ("Northline", "Trekwell"), ("nylon", "canvas", "leather"), ("black", "grey", "navy", "green"),
                ("Commuter", "Travel", "Slim"), (35, 160),
                ("Padded 15.6-inch laptop compartment", "Water-resistant fabric", "Luggage strap",
                 "Hidden anti-theft pocket"),
                synonyms=("rucksack", "knapsack"), accessory="laptop_sleeve"),
)

ACCESSORY_TYPES: tuple[ProductType, ...] = (
    ProductType("sofa_cover", "Sofa Slipcover", "sofa slipcover",
                ("Home & Kitchen", "Home Decor", "Slipcovers"), ("Casavero", "Homely"), ("polyester", "cotton"),
                ("grey", "beige", "navy"), ("Stretch", "Quilted"), (20, 60),
                ("Protects against pet hair", "Elastic bottom", "Machine washable")),
    ProductType("coasters", "Coaster Set", "coasters", ("Home & Kitchen", "Kitchen & Dining", "Coasters"),
                ("Oakhurst", "Homely"), ("cork", "slate", "marble"), ("natural", "black", "white"),
                ("6-Piece", "Round"), (8, 30), ("Absorbent surface", "Non-slip backing", "Protects table tops")),
    ProductType("running_socks", "Running Socks", "running socks",
                ("Clothing, Shoes & Jewelry", "Clothing", "Socks"), ("Pacelight", "Stridemax"),
                ("merino", "synthetic"), ("black", "white"), ("Ankle", "Crew"), (10, 25),
                ("Blister-free seams", "Arch support band", "Moisture wicking")),
    ProductType("beanie", "Beanie Hat", "beanie", ("Clothing, Shoes & Jewelry", "Accessories", "Hats"),
                ("Northline", "Velora"), ("wool", "acrylic"), ("black", "grey", "red"), ("Cuffed", "Slouchy"),
                (12, 35), ("Double-layer knit", "One size fits most")),
    ProductType("headphone_case", "Headphone Case", "headphone case", ("Electronics", "Audio", "Cases"),
                ("Sonora", "Trekwell"), ("EVA", "nylon"), ("black", "grey"), ("Hard-Shell", "Travel"), (10, 30),
                ("Fits most over-ear models", "Mesh cable pocket", "Carabiner loop")),
    ProductType("pan_lid", "Glass Pan Lid", "pan lid", ("Home & Kitchen", "Cookware", "Lids"),
                ("Ferrum", "Cucina Rossa"), ("tempered glass",), ("silver", "black"), ("Universal", "Vented"),
                (12, 35), ("Fits 10 to 12 inch pans", "Steam vent", "Heat-resistant knob")),
    ProductType("coffee_filters", "Coffee Filters", "coffee filters",
                ("Home & Kitchen", "Small Appliances", "Coffee Filters"), ("Brewtide", "Homely"),
                ("paper", "stainless steel"), ("white", "natural", "silver"), ("Basket", "Cone"), (5, 25),
                ("Fits 8 to 12 cup machines", "No papery taste", "Pack of 200")),
    ProductType("led_bulb", "LED Bulb", "led bulb", ("Home & Kitchen", "Lighting", "Light Bulbs"),
                ("Lumora", "Brightwell"), ("glass",), ("white", "warm white"), ("E26", "Dimmable"), (6, 24),
                ("60 watt equivalent", "25,000 hour lifetime", "Flicker free")),
    ProductType("laptop_sleeve", "Laptop Sleeve", "laptop sleeve",
                ("Electronics", "Computer Accessories", "Laptop Sleeves"), ("Trekwell", "Northline"),
                ("neoprene", "felt"), ("black", "grey", "navy"), ("13-Inch", "15-Inch"), (15, 40),
                ("Shock-absorbing padding", "Front zip pocket", "Slim profile")),
)

TYPES: dict[str, ProductType] = {t.key: t for t in MAIN_TYPES + ACCESSORY_TYPES}

DESCRIPTION_OPENERS = (
    "Designed for everyday use: the {brand} {noun} in {color}, made of {material}.",
    "The {brand} {style} {noun} combines {material} with a clean {color} finish.",
    "Built to last: {material} and a {color} finish make the {noun} from {brand} easy to live with.",
)
