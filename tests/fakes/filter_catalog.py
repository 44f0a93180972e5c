"""A hand-built 5-product catalog with typed attributes and a table encoder whose vectors have chosen cosines
to every query ((1, 0)): the filtered-search tests compute their expected scores by hand from it."""

from __future__ import annotations

import math

import numpy as np

from mrs.data.catalog import Product

# title, brand, color, category, price, in_stock, cosine of the product vector to the query vector (1, 0)
ROWS = [
    ("red shirt", "Acme", "red", ["Clothing", "Shirts"], 10.0, True, 1.0),
    ("blue shirt", "Bolt", "blue", ["Clothing", "Shirts"], 25.0, False, 0.8),
    ("red shoes", "Acme", "red", ["Clothing", "Shoes"], 60.0, True, 0.6),
    ("kitchen knife", "Cutco", None, ["Kitchen", "Knives"], 100.0, True, 0.0),
    ("red towel", "Acme", "red", ["Kitchen", "Linens"], None, False, -1.0),
]
CATALOG = [Product(f"p{i + 1}", {"title": t, "brand": b, "color": c, "category": cat, "price": p, "in_stock": s})
           for i, (t, b, c, cat, p, s, _) in enumerate(ROWS)]
VECTOR_OF = {t: [cos, math.sqrt(max(0.0, 1 - cos * cos))] for t, *_, cos in ROWS}


class TableEncoder:
    """Product texts (the title: template "{title}") → the table's unit vectors; any other text (a query) → (1, 0)."""

    backend = "torch"
    normalize = True
    space_type = "cosinesimil"
    dimension = 2
    identity = {"name": "table", "sha256": "0" * 64}

    def encode(self, texts, progress=None):
        return np.array([VECTOR_OF.get(t, [1.0, 0.0]) for t in texts], dtype=np.float32)  # queries: (1, 0)

    def encode_query(self, text):
        return np.array([1.0, 0.0], dtype=np.float32)


