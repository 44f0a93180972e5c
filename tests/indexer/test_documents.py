"""Products → documents: --fields parsing, BM25 field texts, the shared embedding text."""

from __future__ import annotations

import pytest

from mrs.data.catalog import Product
from mrs.data.text import ProductTextTemplate
from mrs.errors import InputError
from mrs.indexer.documents import DEFAULT_FIELDS, bm25_texts, format_fields, parse_fields, to_document


def test_parse_fields():
    assert parse_fields(None) == DEFAULT_FIELDS
    assert DEFAULT_FIELDS == {"title": 3.0, "brand": 2.0, "color": 1.0, "category": 1.0,
                              "bullet_points": 1.0, "description": 1.0}
    assert parse_fields("title^3, brand^2.5,description") == {"title": 3.0, "brand": 2.5, "description": 1.0}
    assert format_fields({"title": 3.0, "brand": 2.5, "description": 1.0}) == "title^3,brand^2.5,description"


@pytest.mark.parametrize("spec, message", [
    ("title^", "name or name"),
    ("title^0", "must be > 0"),
    ("title,title^2", "given twice"),
    ("ti tle", "name or name"),
])
def test_parse_fields_rejects(spec, message):
    with pytest.raises(InputError, match=message):
        parse_fields(spec)


def test_document_texts():
    product = Product("p1", {"title": "Red Shirt", "brand": "Acme", "category": ["Clothing", "Men", "Shirts"],
                             "price": 9.5, "description": None})
    doc = to_document(product, ProductTextTemplate())
    assert doc.id == "p1"
    assert doc.text == "Red Shirt. Brand: Acme. Category: Men > Shirts"  # color missing → its segment dropped
    assert doc.fields["price"] == 9.5  # stored fields are kept as read
    texts = bm25_texts(product, {"title": 3.0, "category": 1.0, "description": 1.0, "color": 1.0})
    assert texts == {"title": "Red Shirt", "category": "Clothing > Men > Shirts", "description": "", "color": ""}
