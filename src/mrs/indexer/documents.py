"""Catalog products → documents: BM25 field texts, the embedding text, the stored fields.

BM25 fields and their boosts follow OpenSearch's ``multi_match`` syntax (``title^3``). The default
(title^3, brand^2, color, category, bullet_points, description) searches the long texts lexically while
the embedding text stays short (mrs.data.text.ProductTextTemplate, as in the paper).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

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


def catalog_columns(products: Iterable[Product]) -> list[str]:
    """Every field name some product has, in first-seen order, except the id column (a field whose value is
    the product's id in every product)."""
    names: dict[str, None] = {}
    id_like: set[str] | None = None
    for p in products:
        names.update(dict.fromkeys(p.fields))
        same = {k for k, v in p.fields.items() if field_text(v) == p.id}
        id_like = same if id_like is None else id_like & same
    return [n for n in names if n not in (id_like or set())]


def check_catalog_fields(columns: list[str], fields: Mapping[str, float], template: ProductTextTemplate, *,
                         fields_given: bool, template_given: bool) -> list[str]:
    """Check the BM25 fields and the text template against the catalog's columns; return warnings.

    columns: catalog_columns of the catalog (``id`` is always there). fields_given / template_given: the user
    named them (--fields / --text-template) rather than taking the defaults.
    Raises InputError naming the unknown names and listing the columns found when a given field or template
    key is no column (a typo such as ``descr``), or when no default field / template key is one (a catalog
    with other column names). A default field some products lack is only a warning, and so are the columns
    nothing indexes then."""
    known = set(columns) | {"id"}
    found = ", ".join(columns) or "none"
    bm25_missing = [f for f in fields if f not in known]
    keys_missing = list(dict.fromkeys(k for k in template.fields if k not in known))
    if fields_given and bm25_missing:
        raise InputError(f"--fields: {_names(bm25_missing)} not a column of the catalog; columns found: {found}")
    if template_given and keys_missing:
        keys = ", ".join("{" + k + "}" for k in keys_missing)
        verb = "is" if len(keys_missing) == 1 else "are"
        raise InputError(f"--text-template: {keys} {verb} not a column of the catalog; columns found: {found}")
    if not fields_given and len(bm25_missing) == len(fields):
        raise InputError(f"none of the default BM25 fields ({', '.join(fields)}) is a column of the catalog: "
                         f"pass --fields (e.g. --fields \"{_example_fields(columns)}\"); "
                         f"columns found: {found}")
    if not template_given and len(keys_missing) == len(set(template.fields)):
        raise InputError(f"none of the default text template's keys ({template.template}) is a column of the "
                         f"catalog: pass --text-template (e.g. \"{{{columns[0] if columns else 'name'}}}\"); "
                         f"columns found: {found}")
    warnings = []
    if not fields_given and bm25_missing:
        used = set(fields) | set(template.fields) | _alias_sources()
        unused = [c for c in columns if c not in used]
        warnings.append(f"default BM25 fields {', '.join(bm25_missing)} are not columns of the catalog; searching "
                        f"{', '.join(f for f in fields if f in known)}"
                        + (f"; columns not indexed: {', '.join(unused)} (add them with --fields)" if unused else ""))
    return warnings


def _example_fields(columns: list[str]) -> str:
    return ",".join([f"{columns[0]}^3", *columns[1:3]]) if columns else "name^3,description"


def _names(names: list[str]) -> str:
    quoted = ", ".join(repr(n) for n in names)
    return f"{quoted} is" if len(names) == 1 else f"{quoted} are"


def _alias_sources() -> set[str]:
    """Source columns the catalog reader copies into the common names (product_name → title, ...)."""
    from mrs.data.catalog_readers import FIELD_ALIASES

    return {src for sources in FIELD_ALIASES.values() for src in sources}


def to_document(product: Product, template: ProductTextTemplate) -> Document:
    """One product → Document(id, fields = the product's stored fields as read, text = embedding text)."""
    return Document(id=product.id, fields=dict(product.fields), text=template.render(product))
