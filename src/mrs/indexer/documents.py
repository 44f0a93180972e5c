"""Catalog products → documents: BM25 field texts, the embedding text, the stored fields.

BM25 fields and their boosts follow OpenSearch's ``multi_match`` syntax (``title^3``). The default
(title^3, brand^2, color, category, bullet_points, description) searches the long texts lexically while
the embedding text stays short (mrs.data.text.ProductTextTemplate, as in the paper).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from mrs.data.catalog import Product
from mrs.data.text import ProductTextTemplate, field_text
from mrs.errors import InputError
from mrs.indexer.backend import Document

DEFAULT_FIELDS: dict[str, float] = {
    "title": 3.0,
    "brand": 2.0,
    "color": 1.0,
    "category": 1.0,
    "bullet_points": 1.0,
    "description": 1.0,
}

_FIELD_SPEC = re.compile(r"^([A-Za-z_][A-Za-z0-9_.\-]*)(?:\^([0-9]*\.?[0-9]+))?$")


def parse_fields(spec: str | None) -> dict[str, float]:
    """``"title^3,brand^2,description"`` → {"title": 3.0, "brand": 2.0, "description": 1.0}.

    None or empty → DEFAULT_FIELDS. InputError for a malformed item, a boost ≤ 0 or a repeated field.
    """
    if spec is None or not spec.strip():
        return dict(DEFAULT_FIELDS)
    fields: dict[str, float] = {}
    for item in spec.split(","):
        item = item.strip()
        m = _FIELD_SPEC.match(item)
        if not m:
            raise InputError(f"--fields: {item!r} is not name or name^boost (e.g. title^3)")
        name, boost = m.group(1), float(m.group(2)) if m.group(2) else 1.0
        if boost <= 0:
            raise InputError(f"--fields: boost of {name!r} must be > 0 (got {boost})")
        if name in fields:
            raise InputError(f"--fields: {name!r} given twice")
        fields[name] = boost
    return fields


def format_fields(fields: Mapping[str, float]) -> str:
    """Inverse of parse_fields: {"title": 3.0, "color": 1.0} → "title^3,color"."""
    return ",".join(name if boost == 1 else f"{name}^{boost:g}" for name, boost in fields.items())


def bm25_texts(product: Product, fields: Mapping[str, float]) -> dict[str, str]:
    """The text of each BM25 field for one product ('' when absent; lists joined, see field_text)."""
    return {name: field_text(product.id if name == "id" else product.get(name)) for name in fields}


def to_document(product: Product, template: ProductTextTemplate) -> Document:
    """One product → Document(id, fields = the product's stored fields as read, text = embedding text)."""
    return Document(id=product.id, fields=dict(product.fields), text=template.render(product))
