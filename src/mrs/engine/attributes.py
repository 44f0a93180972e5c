"""Typed product attributes: which catalog fields can be filtered and faceted, and their columns.

Field types (as the OpenSearch / Elasticsearch mapping declares them, mrs.opensearch.mapping):
- ``keyword``: exact strings, one or many per product (a list is many values); term / terms / prefix / range
  (lexicographic, as Lucene compares keyword terms) / exists; facets count each value.
- ``path``: a hierarchy such as a category path ``["Electronics", "Computers", "Laptops"]`` (or the string
  ``"Electronics > Computers > Laptops"``): the field holds every level's value (``category: Laptops`` matches),
  and the derived keyword field ``<name>_path`` holds every ancestor path joined with ``" > "``
  (``category_path: "Electronics > Computers"`` matches all of that subtree; ``prefix`` works too).
- ``numeric``: one number per product, stored as float64 (OpenSearch ``double``); term / terms / range / exists.
- ``boolean``: true / false (strings "true"/"false" are read as such); term / terms / exists.

Detection (``detect_field_types``) looks at every product: booleans → boolean; numbers (or strings that all
parse as numbers) → numeric; string fields named like a category → path; other strings and lists of strings
→ keyword when they are short (≤ 256 characters, OpenSearch's ``ignore_above``) and repeat (distinct values
≤ half the products that have the field) or the field has a well-known attribute name (brand, color, ...).
Long or unique texts (title, description, image URLs) stay BM25 text only. ``--field-types`` overrides
(``parse_field_types``): ``name=keyword|path|numeric|boolean|none``.

Columns (``AttributeColumns``) answer filters with bitsets: keyword values sorted with a value → documents
CSR table (term = one slice, prefix / range = a run of consecutive values); numeric values with the documents
sorted by value (range = two binary searches). Saved as ``attributes/attributes.npz`` + ``attributes.json``.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mrs.data.text import as_list, field_text
from mrs.errors import InputError

FIELD_TYPES = ("keyword", "path", "numeric", "boolean")
PATH_SEPARATOR = " > "
PATH_SUFFIX = "_path"
KEYWORD_MAX_CHARS = 256
ATTRIBUTES_DIR = "attributes"
CLUSTER_OBJECT = "attr"
ARRAYS_FILE = "attributes.npz"
SCHEMA_FILE = "attributes.json"

# Names that are attributes whenever their values are short strings, however many distinct values they have.
KNOWN_KEYWORDS = frozenset({"brand", "color", "colour", "material", "size", "style", "product_type", "type",
                            "gender", "department", "vendor", "manufacturer", "model", "sku", "locale"})
KNOWN_PATHS = frozenset({"category", "categories", "category_path", "taxonomy", "breadcrumbs"})
_TRUE, _FALSE = frozenset({"true"}), frozenset({"false"})


def parse_field_types(spec: str | None) -> dict[str, str | None]:
    """``"price=numeric,in_stock=boolean,title=none"`` → {"price": "numeric", "in_stock": "boolean", "title": None}.

    ``none`` takes a detected field out. InputError for a malformed item, an unknown type or a repeated field."""
    out: dict[str, str | None] = {}
    for item in (spec or "").split(","):
        item = item.strip()
        if not item:
            continue
        name, sep, kind = (part.strip() for part in item.partition("="))
        if not sep or not name or not kind:
            raise InputError(f"--field-types: {item!r} is not name=type (e.g. price=numeric)")
        if kind not in FIELD_TYPES and kind != "none":
            raise InputError(f"--field-types: {name}: unknown type {kind!r} (expected one of "
                             f"{', '.join(FIELD_TYPES)}, none)")
        if name in out:
            raise InputError(f"--field-types: {name!r} given twice")
        out[name] = None if kind == "none" else kind
    return out


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value == "" or value == []


def _as_number(value: Any) -> float | None:
    """The number a value holds (bools are not numbers), None when it holds none."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    return None


def _detect_one(name: str, values: list[Any]) -> str | None:
    if all(_as_bool(v) is not None for v in values):
        return "boolean"
    if all(_as_number(v) is not None for v in values):
        return "numeric"
    strings: list[str] = []
    for v in values:
        items = v if isinstance(v, (list, tuple)) else [v]
        if any(isinstance(i, (dict, list, tuple)) for i in items):
            return None
        strings.extend(field_text(i) for i in items)
    if not strings or max(len(s) for s in strings) > KEYWORD_MAX_CHARS:
        return None
    lowered = name.lower()
    if lowered in KNOWN_PATHS:
        return "path"
    if lowered in KNOWN_KEYWORDS or len(set(strings)) <= 0.5 * len(values):
        return "keyword"
    return None


def detect_field_types(rows: Sequence[Mapping[str, Any]], overrides: Mapping[str, str | None] | None = None,
                       exclude: Sequence[str] = ()) -> dict[str, str]:
    """{field: type} for the attribute fields of ``rows`` (each product's fields); see the module doc.

    overrides: from parse_field_types (win over detection; ``None`` removes a field). exclude: fields never
    typed (the id). A field named in overrides that no product has is an InputError (a typo would otherwise
    silently filter nothing)."""
    present: dict[str, list[Any]] = {}
    for row in rows:
        for name, value in row.items():
            if name not in exclude and not _is_missing(value):
                present.setdefault(name, []).append(value)
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(present))
    if unknown:
        raise InputError(f"--field-types: no product has field(s) {', '.join(unknown)}")
    types: dict[str, str] = {}
    for name in sorted(present):
        kind = overrides[name] if name in overrides else _detect_one(name, present[name])
        if kind is not None:
            types[name] = kind
    for name, kind in types.items():
        if kind == "path" and name + PATH_SUFFIX in types:
            raise InputError(f"field {name!r} is a path and {name + PATH_SUFFIX!r} exists too: "
                             f"type one of them none with --field-types")
    return types


def filter_fields(types: Mapping[str, str]) -> dict[str, str]:
    """The fields a filter can name: each attribute with its column kind, plus ``<name>_path`` (keyword) for
    every path field (a path field itself filters as keyword over its levels)."""
    out: dict[str, str] = {}
    for name, kind in types.items():
        if kind == "path":
            out[name] = "keyword"
            out[name + PATH_SUFFIX] = "keyword"
        else:
            out[name] = kind
    return out


def attribute_values(kind: str, value: Any) -> list[Any]:
    """The filterable values of one product field of type ``kind`` (empty when missing); for ``path`` the
    levels (the ``_path`` values come from ``ancestor_paths``). InputError when the value does not fit."""
    if _is_missing(value):
        return []
    if kind == "path":
        return as_list(value)
    if kind == "keyword":
        items = value if isinstance(value, (list, tuple)) else [value]
        return [s for s in (field_text(i) for i in items) if s]
    if kind == "numeric":
        number = _as_number(value)
        if number is None:
            raise InputError(f"{value!r} is not a number")
        return [number]
    flag = _as_bool(value)
    if flag is None:
        raise InputError(f"{value!r} is not true or false")
    return [flag]


def attribute_source(fields: Mapping[str, Any], types: Mapping[str, str]) -> dict[str, Any]:
    """One product's attribute values as a cluster document holds them under ``attr`` (mrs.opensearch.mapping):
    keyword fields as lists, ``<name>_path`` lists for path fields, numbers and booleans as scalars; missing
    values left out (so ``exists`` agrees with the embedded columns)."""
    out: dict[str, Any] = {}
    for name, kind in types.items():
        values = attribute_values(kind, fields.get(name))
        if not values:
            continue
        if kind in ("keyword", "path"):
            out[name] = list(dict.fromkeys(values))
            if kind == "path":
                out[name + PATH_SUFFIX] = ancestor_paths(values)
        else:
            out[name] = values[0]
    return out


def cluster_field(name: str) -> str:
    """Where a filter field lives in a cluster document: ``brand`` → ``attr.brand`` (an object of its own, so
    attribute names never collide with the BM25 text fields of the same name)."""
    return f"{CLUSTER_OBJECT}.{name}"


def cluster_properties(types: Mapping[str, str]) -> dict[str, Any]:
    """The ``attr`` object mapping of a cluster index (OpenSearch and Elasticsearch): keyword fields (path
    fields and their ``_path`` too) as ``keyword``, numeric as ``double``, boolean as ``boolean``."""
    mapped = {"keyword": {"type": "keyword"}, "numeric": {"type": "double"}, "boolean": {"type": "boolean"}}
    return {"type": "object", "properties": {name: dict(mapped[kind]) for name, kind in filter_fields(types).items()}}


def ancestor_paths(levels: Sequence[str]) -> list[str]:
    """["A", "B", "C"] → ["A", "A > B", "A > B > C"]."""
    return [PATH_SEPARATOR.join(levels[: i + 1]) for i in range(len(levels))]


@dataclass
class KeywordColumn:
    """values: the distinct strings, sorted (code point order, as Lucene's BytesRef order for UTF-8);
    value_ptr / value_docs: CSR, the documents (ascending) of value i are value_docs[value_ptr[i]:value_ptr[i+1]];
    has_value: documents with at least one value."""

    values: list[str]
    value_ptr: np.ndarray
    value_docs: np.ndarray
    has_value: np.ndarray


@dataclass
class NumericColumn:
    """values: float64 per document (NaN = missing); order: the documents with a value, sorted by value
    (ties by document); sorted_values: values[order]."""

    values: np.ndarray
    order: np.ndarray
    sorted_values: np.ndarray


@dataclass
class BooleanColumn:
    """values: int8 per document: 1 true, 0 false, -1 missing."""

    values: np.ndarray


def _keyword_column(per_doc: Sequence[Sequence[str]], n_docs: int) -> KeywordColumn:
    values = sorted({v for vs in per_doc for v in vs})
    slot = {v: i for i, v in enumerate(values)}
    docs_of: list[list[int]] = [[] for _ in values]
    for doc, vs in enumerate(per_doc):
        for v in dict.fromkeys(vs):
            docs_of[slot[v]].append(doc)
    ptr = np.zeros(len(values) + 1, dtype=np.int64)
    ptr[1:] = np.cumsum([len(d) for d in docs_of])
    flat = np.fromiter((d for ds in docs_of for d in ds), dtype=np.int64, count=int(ptr[-1]))
    has = np.zeros(n_docs, dtype=bool)
    has[flat] = True
    return KeywordColumn(values, ptr, flat, has)


def _numeric_column(values: np.ndarray) -> NumericColumn:
    present = np.flatnonzero(~np.isnan(values))
    order = present[np.argsort(values[present], kind="stable")]
    return NumericColumn(values, order.astype(np.int64), values[order])


class AttributeColumns:
    """The typed attribute columns of an index: ``types`` {field: type} and one column per filter field
    (mrs.engine.filters evaluates filters over them). n_docs: documents in the index."""

    def __init__(self, types: Mapping[str, str], columns: Mapping[str, Any], n_docs: int) -> None:
        self.types = dict(types)
        self.columns = dict(columns)
        self.n_docs = int(n_docs)

    @property
    def fields(self) -> dict[str, str]:
        """Filter field → column kind (keyword | numeric | boolean)."""
        return filter_fields(self.types)

    @classmethod
    def empty(cls, n_docs: int) -> AttributeColumns:
        return cls({}, {}, n_docs)

    @classmethod
    def build(cls, rows: Sequence[Mapping[str, Any]], types: Mapping[str, str],
              ids: Sequence[str] | None = None) -> AttributeColumns:
        """Columns of ``rows`` (product fields, index order) for ``types``. InputError naming the product id
        when a value does not fit its declared type."""
        n = len(rows)
        columns: dict[str, Any] = {}
        for name, kind in types.items():
            per_doc: list[list[Any]] = []
            for i, row in enumerate(rows):
                try:
                    per_doc.append(attribute_values(kind, row.get(name)))
                except InputError as e:
                    who = f"product {ids[i]!r}" if ids is not None else f"product #{i + 1}"
                    raise InputError(f"{who}: field {name!r} is typed {kind}: {e.message} "
                                     f"(fix the value or set --field-types {name}=...)") from None
            if kind in ("keyword", "path"):
                columns[name] = _keyword_column(per_doc, n)
                if kind == "path":
                    columns[name + PATH_SUFFIX] = _keyword_column([ancestor_paths(v) for v in per_doc], n)
            elif kind == "numeric":
                columns[name] = _numeric_column(np.array([v[0] if v else np.nan for v in per_doc], dtype=np.float64))
            else:
                columns[name] = BooleanColumn(np.array([(1 if v[0] else 0) if v else -1 for v in per_doc], dtype=np.int8))
        return cls(types, columns, n)

    # ---- persistence --------------------------------------------------------------------------------

    def save(self, directory: str | os.PathLike) -> None:
        """Write attributes.npz (arrays, no pickle) and attributes.json (types, keyword values)."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, np.ndarray] = {}
        meta: dict[str, Any] = {"types": self.types, "n_docs": self.n_docs, "keyword_values": {}}
        for i, (name, column) in enumerate(self.columns.items()):
            key = f"c{i}_"
            meta.setdefault("keys", {})[name] = key
            if isinstance(column, KeywordColumn):
                arrays[key + "ptr"], arrays[key + "docs"] = column.value_ptr, column.value_docs
                meta["keyword_values"][name] = column.values
            elif isinstance(column, NumericColumn):
                arrays[key + "values"] = column.values
            else:
                arrays[key + "bool"] = column.values
        np.savez(d / ARRAYS_FILE, **arrays)
        (d / SCHEMA_FILE).write_text(json.dumps(meta, ensure_ascii=False) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, directory: str | os.PathLike, n_docs: int) -> AttributeColumns:
        """Read what save() wrote. InputError naming the file when it is missing or corrupt."""
        d = Path(directory)
        try:
            meta = json.loads((d / SCHEMA_FILE).read_text(encoding="utf-8"))
            columns: dict[str, Any] = {}
            with np.load(d / ARRAYS_FILE, allow_pickle=False) as arrays:
                for name, key in (meta.get("keys") or {}).items():
                    if name in meta["keyword_values"]:
                        ptr, docs = arrays[key + "ptr"], arrays[key + "docs"]
                        has = np.zeros(n_docs, dtype=bool)
                        has[docs] = True
                        columns[name] = KeywordColumn(list(meta["keyword_values"][name]), ptr, docs, has)
                    elif key + "values" in arrays:
                        columns[name] = _numeric_column(arrays[key + "values"])
                    else:
                        columns[name] = BooleanColumn(arrays[key + "bool"])
            if int(meta["n_docs"]) != n_docs:
                raise ValueError(f"attributes of {meta['n_docs']} documents, the index has {n_docs}")
        except FileNotFoundError as e:
            raise InputError("index is missing its attribute columns", path=e.filename) from None
        except (KeyError, ValueError, TypeError, IndexError, OSError) as e:
            raise InputError(f"corrupt attribute columns ({e})".splitlines()[0], path=d) from None
        return cls(meta["types"], columns, n_docs)
