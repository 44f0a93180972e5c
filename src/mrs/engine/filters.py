"""The filter language: a subset of the OpenSearch query DSL, parsed into a small typed tree.

Supported clauses (OpenSearch "Term-level queries" and "Boolean query" reference pages; Elasticsearch reads
the same JSON):
- ``{"term": {"brand": "Apple"}}`` or ``{"term": {"brand": {"value": "Apple"}}}``
- ``{"terms": {"brand": ["Apple", "Samsung"]}}``
- ``{"range": {"price": {"gte": 10, "lt": 100}}}`` (gt / gte / lt / lte; keyword ranges compare strings)
- ``{"exists": {"field": "rating"}}``
- ``{"prefix": {"category_path": "Electronics > Computers"}}`` (keyword fields only)
- ``{"bool": {"filter": [...], "must": [...], "must_not": [...], "should": [...], "minimum_should_match": 1}}``
  (in a filter every clause is non-scoring, so ``must`` = ``filter``). minimum_should_match: an integer,
  a negative integer (all but n), or a percentage "50%" (rounded down, as OpenSearch); default 1 when the
  bool has should clauses and no filter / must clause, else 0.
- a JSON list of clauses = ``bool.filter`` of them.
Anything else (match, wildcard, regexp, script, a misspelt key) is one InputError naming the clause.

``parse_filter(json_or_dict)`` → Node; ``bind(node, fields)`` checks fields and coerces values against an
index's attribute types (mrs.engine.attributes.filter_fields); ``evaluate(node, columns)`` → a bool bitset
over the documents; ``to_dsl(node, field_path)`` renders it back as query DSL for a cluster (field names
mapped, e.g. ``brand`` → ``attr.brand``). The ``--where`` short form lives in mrs.engine.where.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from mrs.data.query_filters import filter_json
from mrs.engine.attributes import AttributeColumns, BooleanColumn, KeywordColumn, NumericColumn
from mrs.errors import InputError

CLAUSES = ("term", "terms", "range", "exists", "prefix", "bool")
RANGE_KEYS = ("gt", "gte", "lt", "lte")
BOOL_KEYS = ("filter", "must", "must_not", "should", "minimum_should_match")


@dataclass(frozen=True)
class Term:
    field: str
    value: Any


@dataclass(frozen=True)
class Terms:
    field: str
    values: tuple


@dataclass(frozen=True)
class Range:
    field: str
    gt: Any = None
    gte: Any = None
    lt: Any = None
    lte: Any = None


@dataclass(frozen=True)
class Exists:
    field: str


@dataclass(frozen=True)
class Prefix:
    field: str
    value: str


@dataclass(frozen=True)
class Bool:
    """must: every clause (filter and must); must_not: none; should: at least minimum_should_match."""

    must: tuple = ()
    must_not: tuple = ()
    should: tuple = ()
    minimum_should_match: Any = None


Node = Term | Terms | Range | Exists | Prefix | Bool


def _err(message: str) -> InputError:
    return InputError(f"filter: {message}")


# ---- parsing ----------------------------------------------------------------------------------------------

def parse_filter(value: str | Mapping | Sequence | None) -> Node | None:
    """A filter from JSON text, a dict or a list of clauses; None/empty → None. InputError naming the clause."""
    if value is None:
        return None
    if isinstance(value, (Term, Terms, Range, Exists, Prefix, Bool)):
        return value
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            value = filter_json(value)
        except ValueError as e:
            raise _err(str(e)) from None
    if isinstance(value, (list, tuple)):
        return Bool(must=tuple(_parse_clause(c, f"[{i}]") for i, c in enumerate(value)))
    return _parse_clause(value, "")


def _single(obj: Any, where: str, what: str) -> tuple[str, Any]:
    if not isinstance(obj, Mapping) or len(obj) != 1:
        raise _err(f"{where or 'top level'}: {what} must be an object with exactly one key")
    return next(iter(obj.items()))


def _parse_clause(obj: Any, where: str) -> Node:
    kind, body = _single(obj, where, "a clause")
    here = f"{where}.{kind}" if where else kind
    if kind not in CLAUSES:
        raise _err(f"{here}: unsupported clause {kind!r} (supported: {', '.join(CLAUSES)})")
    if kind == "bool":
        return _parse_bool(body, here)
    if kind == "exists":
        if not isinstance(body, Mapping) or set(body) != {"field"} or not isinstance(body["field"], str):
            raise _err(f"{here}: expected {{\"field\": NAME}}")
        return Exists(body["field"])
    field, spec = _single(body, here, f"{kind}")
    here = f"{here}.{field}"
    if kind == "terms":
        if not isinstance(spec, list) or not spec:
            raise _err(f"{here}: expected a non-empty list of values")
        return Terms(field, tuple(_scalar(v, here) for v in spec))
    if kind == "range":
        if not isinstance(spec, Mapping) or not spec:
            raise _err(f"{here}: expected an object with gt / gte / lt / lte")
        bad = sorted(set(spec) - set(RANGE_KEYS))
        if bad:
            raise _err(f"{here}: unsupported range parameter(s) {', '.join(bad)} (supported: {', '.join(RANGE_KEYS)})")
        return Range(field, **{k: _scalar(v, f"{here}.{k}") for k, v in spec.items()})
    if isinstance(spec, Mapping):
        bad = sorted(set(spec) - {"value"})
        if bad or "value" not in spec:
            raise _err(f"{here}: expected a value or {{\"value\": ...}} (unsupported: {', '.join(bad) or 'no value'})")
        spec = spec["value"]
    value = _scalar(spec, here)
    if kind == "prefix":
        if not isinstance(value, str):
            raise _err(f"{here}: a prefix is a string")
        return Prefix(field, value)
    return Term(field, value)


def _scalar(value: Any, where: str) -> Any:
    if value is None or isinstance(value, (Mapping, list, tuple)):
        raise _err(f"{where}: expected a string, number or boolean, got {json.dumps(value)}")
    return value


def _parse_bool(body: Any, where: str) -> Bool:
    if not isinstance(body, Mapping):
        raise _err(f"{where}: expected an object")
    bad = sorted(set(body) - set(BOOL_KEYS))
    if bad:
        raise _err(f"{where}: unsupported bool parameter(s) {', '.join(bad)} (supported: {', '.join(BOOL_KEYS)})")

    def clauses(key: str) -> tuple:
        items = body.get(key, [])
        items = items if isinstance(items, list) else [items]
        return tuple(_parse_clause(c, f"{where}.{key}[{i}]") for i, c in enumerate(items))

    msm = body.get("minimum_should_match")
    if msm is not None and not (isinstance(msm, int) and not isinstance(msm, bool)) and not (
            isinstance(msm, str) and re.fullmatch(r"-?\d+%?", msm.strip())):
        raise _err(f"{where}.minimum_should_match: expected an integer or a percentage such as \"50%\"")
    return Bool(must=clauses("filter") + clauses("must"), must_not=clauses("must_not"), should=clauses("should"),
                minimum_should_match=msm)


def required_should(node: Bool) -> int:
    """How many should clauses must match (OpenSearch's minimum_should_match rules, see module doc)."""
    n = len(node.should)
    msm = node.minimum_should_match
    if msm is None:
        return 1 if n and not node.must else 0
    text = str(msm).strip()
    if text.endswith("%"):
        pct = int(text[:-1])
        count = math.floor(n * abs(pct) / 100)
        count = count if pct >= 0 else n - count
    else:
        count = int(text)
        count = count if count >= 0 else n + count
    return max(0, count)  # more than n should clauses: nothing matches, as in OpenSearch


# ---- binding: fields and value types -------------------------------------------------------------------

def bind(node: Node | None, fields: Mapping[str, str]) -> Node | None:
    """``node`` with each field checked against ``fields`` ({filter field: keyword | numeric | boolean}) and
    each value coerced to the field's type (numbers for numeric, true/false for boolean, strings for
    keyword). InputError naming the field when it is unknown or the clause does not fit its type."""
    if node is None:
        return None
    if isinstance(node, Bool):
        return Bool(tuple(bind(c, fields) for c in node.must), tuple(bind(c, fields) for c in node.must_not),
                    tuple(bind(c, fields) for c in node.should), node.minimum_should_match)
    kind = fields.get(node.field)
    if kind is None:
        known = ", ".join(sorted(fields)) or "none: the index has no typed attributes (mrs index catalog --field-types)"
        raise _err(f"unknown field {node.field!r} (filterable fields: {known})")
    if isinstance(node, Exists):
        return node
    if isinstance(node, Prefix):
        if kind != "keyword":
            raise _err(f"prefix on {node.field!r}: a prefix applies to keyword fields, {node.field!r} is {kind}")
        return node
    if isinstance(node, Range):
        if kind == "boolean":
            raise _err(f"range on {node.field!r}: {node.field!r} is boolean")
        return replace(node, **{k: _coerce(getattr(node, k), kind, node.field) for k in RANGE_KEYS
                                if getattr(node, k) is not None})
    if isinstance(node, Terms):
        return Terms(node.field, tuple(_coerce(v, kind, node.field) for v in node.values))
    return Term(node.field, _coerce(node.value, kind, node.field))


def _coerce(value: Any, kind: str, field: str) -> Any:
    if kind == "keyword":
        return value if isinstance(value, str) else json.dumps(value)
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise _err(f"{field!r} is boolean: {value!r} is not true or false")
    if isinstance(value, bool):
        raise _err(f"{field!r} is numeric: {value!r} is not a number")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise _err(f"{field!r} is numeric: {value!r} is not a number") from None
    if not math.isfinite(number):
        raise _err(f"{field!r} is numeric: {value!r} is not a finite number")
    return number


# ---- evaluation -------------------------------------------------------------------------------------------

def evaluate(node: Node | None, columns: AttributeColumns) -> np.ndarray | None:
    """The documents ``node`` (bound) accepts: bool array of n_docs, or None for no filter (all pass)."""
    if node is None:
        return None
    return _eval(node, columns)


def _keyword_docs(column: KeywordColumn, lo: int, hi: int, n: int) -> np.ndarray:
    """Documents holding any of the values lo..hi-1 (a run of sorted values)."""
    mask = np.zeros(n, dtype=bool)
    if hi > lo:
        mask[column.value_docs[column.value_ptr[lo]:column.value_ptr[hi]]] = True
    return mask


def _value_run(values: list[str], node: Node) -> tuple[int, int]:
    import bisect

    if isinstance(node, Term):
        i = bisect.bisect_left(values, node.value)
        return (i, i + 1) if i < len(values) and values[i] == node.value else (i, i)
    if isinstance(node, Prefix):
        lo = bisect.bisect_left(values, node.value)
        hi = lo
        while hi < len(values) and values[hi].startswith(node.value):
            hi += 1
        return lo, hi
    lo, hi = 0, len(values)
    if node.gte is not None:
        lo = max(lo, bisect.bisect_left(values, node.gte))
    if node.gt is not None:
        lo = max(lo, bisect.bisect_right(values, node.gt))
    if node.lte is not None:
        hi = min(hi, bisect.bisect_right(values, node.lte))
    if node.lt is not None:
        hi = min(hi, bisect.bisect_left(values, node.lt))
    return lo, max(lo, hi)


def _numeric_docs(column: NumericColumn, node: Node, n: int) -> np.ndarray:
    sv = column.sorted_values
    if isinstance(node, Term):
        lo, hi = np.searchsorted(sv, node.value, "left"), np.searchsorted(sv, node.value, "right")
    else:
        lo, hi = 0, sv.size
        if node.gte is not None:
            lo = max(lo, int(np.searchsorted(sv, node.gte, "left")))
        if node.gt is not None:
            lo = max(lo, int(np.searchsorted(sv, node.gt, "right")))
        if node.lte is not None:
            hi = min(hi, int(np.searchsorted(sv, node.lte, "right")))
        if node.lt is not None:
            hi = min(hi, int(np.searchsorted(sv, node.lt, "left")))
    mask = np.zeros(n, dtype=bool)
    if hi > lo:
        mask[column.order[lo:hi]] = True
    return mask


def _eval(node: Node, columns: AttributeColumns) -> np.ndarray:
    n = columns.n_docs
    if isinstance(node, Bool):
        mask = np.ones(n, dtype=bool)
        for c in node.must:
            mask &= _eval(c, columns)
        for c in node.must_not:
            mask &= ~_eval(c, columns)
        need = required_should(node)
        if need:
            hits = np.zeros(n, dtype=np.int32)
            for c in node.should:
                hits += _eval(c, columns)
            mask &= hits >= need
        return mask
    column = columns.columns[node.field]
    if isinstance(node, Terms):
        mask = np.zeros(n, dtype=bool)
        for v in node.values:
            mask |= _eval(Term(node.field, v), columns)
        return mask
    if isinstance(column, KeywordColumn):
        if isinstance(node, Exists):
            return column.has_value.copy()
        return _keyword_docs(column, *_value_run(column.values, node), n)
    if isinstance(column, NumericColumn):
        if isinstance(node, Exists):
            return ~np.isnan(column.values)
        return _numeric_docs(column, node, n)
    assert isinstance(column, BooleanColumn)
    if isinstance(node, Exists):
        return column.values >= 0
    return column.values == (1 if node.value else 0)


# ---- rendering for a cluster ------------------------------------------------------------------------------

def to_dsl(node: Node | None, field_path: Callable[[str], str] = lambda f: f) -> dict[str, Any] | None:
    """The query DSL of ``node`` (OpenSearch and Elasticsearch read the same), with ``field_path`` mapping a
    filter field to the cluster's field (e.g. ``attr.brand``); None for no filter."""
    if node is None:
        return None
    if isinstance(node, Bool):
        body: dict[str, Any] = {}
        for key, items in (("filter", node.must), ("must_not", node.must_not), ("should", node.should)):
            if items:
                body[key] = [to_dsl(c, field_path) for c in items]
        if node.minimum_should_match is not None:
            body["minimum_should_match"] = node.minimum_should_match
        elif node.should:  # make the default explicit: inside a cluster's filter context it would be 0
            body["minimum_should_match"] = required_should(node)
        return {"bool": body}
    path = field_path(node.field)
    if isinstance(node, Exists):
        return {"exists": {"field": path}}
    if isinstance(node, Term):
        return {"term": {path: node.value}}
    if isinstance(node, Terms):
        return {"terms": {path: list(node.values)}}
    if isinstance(node, Prefix):
        return {"prefix": {path: node.value}}
    return {"range": {path: {k: getattr(node, k) for k in RANGE_KEYS if getattr(node, k) is not None}}}


def cluster_filter(filter: Any, types: Mapping[str, str]) -> dict[str, Any] | None:
    """A filter (JSON text, dict, list or node) bound to a cluster index's attribute types and rendered as the
    query DSL the cluster runs (fields under ``attr``, mrs.engine.attributes.cluster_field); None when none.
    InputError as ``bind`` when it does not fit the index."""
    from mrs.engine.attributes import cluster_field, filter_fields

    node = parse_filter(filter)
    if node is None:
        return None
    return to_dsl(bind(node, filter_fields(types)), cluster_field)


def combine(*nodes: Node | None) -> Node | None:
    """All of the given filters (None entries skipped): None, the one filter, or a bool.filter of them."""
    present = [n for n in nodes if n is not None]
    if not present:
        return None
    return present[0] if len(present) == 1 else Bool(must=tuple(present))
