"""Products and templates that exercise every rule of the product text template (mrs.data.text): missing and
empty fields, lists with empty and nested items, string category paths with each separator, unicode and odd
whitespace, numbers of every float regime, booleans, an object-free catalog. Shared by the ingest tests (fake
and live clusters)."""

from __future__ import annotations

from mrs.data.catalog import Product
from mrs.data.text import DEFAULT_TEMPLATE

TEMPLATES = [
    DEFAULT_TEMPLATE,
    "{title} ({id})",
    "{category[1:]}. {title}. Price: {price}",
    "{category[:-1]} | {color}. In stock: {in_stock}. Rating {rating}.  {title}",
    "{category[-5:2]}. Brand: {brand}. {tags}",
]

EDGE_PRODUCTS = [
    Product("e1", {}),
    Product("e2", {"title": "Desk Lamp", "brand": None, "color": "", "category": "Home > Lighting"}),
    Product("e3", {"title": "  Caf\u00e9 cr\u00e8me \u2014 \u4e2d\u6587 \U0001f642  ", "brand": "\u00a0Nordby\u3000",
                   "category": ["", "Home", ["Kitchen", "Cups"], "  Mugs "]}),
    Product("e4", {"title": "Sofa.  Big\tblue\n sofa", "category": "A / B / C", "color": "\u2028",
                   "price": 278.43, "in_stock": True, "rating": 4}),
    Product("e5", {"title": ["Linen", "", "Sofa"], "category": "A|B", "price": 1e-05, "in_stock": False,
                   "rating": 12345678.5, "tags": ["x", None, 3, 2.5]}),
    Product("e6", {"title": "x", "category": "A>B", "price": 1e16, "rating": 0.0001, "brand": " . "}),
    Product("e7", {"title": "x", "category": "Solo", "price": 1.5e+20, "rating": -0.0, "tags": 12345678901234567890}),
    Product("e8", {"title": "x", "category": [], "price": 100.0, "rating": -2.5e-7, "color": "red. blue"}),
]


def edge_catalog(sample_products: list[Product]) -> list[Product]:
    """The sample catalog with missing fields, string paths, unicode and odd whitespace mixed in, plus EDGE_PRODUCTS."""
    out = []
    for i, p in enumerate(sample_products):
        fields = dict(p.fields)
        if i % 7 == 0:
            fields.pop("brand", None)
        if i % 5 == 0:
            fields["color"] = ""
        if i % 3 == 0:
            fields["category"] = " / ".join(fields.get("category") or [])
        if i % 11 == 0:
            fields["title"] = f"\u00a0{fields.get('title', '')} \u00e9t\u00e9 \u4e2d  "
        out.append(Product(p.id, fields, p.source_line))
    return out + EDGE_PRODUCTS
