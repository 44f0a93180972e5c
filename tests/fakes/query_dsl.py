"""What a cluster node does with the filter clauses and terms aggregations mrs sends, over the JSON documents the
fake holds — written from the OpenSearch / Elasticsearch query DSL reference, independently of mrs.engine.filters,
so the embedded engine's bitsets are checked against a second reading of the same rules.

- term / terms: any of the field's values equals the value (keyword: exact string; numbers compare as numbers;
  booleans as booleans); range: any value inside the bounds; exists: the field has a value; prefix: any
  string value starts with it; ids: the document id is listed.
- bool: every filter / must clause, no must_not clause, and at least minimum_should_match should clauses
  (default 1 when there are should clauses and no filter / must, else 0; "N%" rounds down; negative = all but N).
- terms aggregation: doc_count per value over the matched documents, ordered by doc_count desc then key asc,
  ``size`` buckets, sum_other_doc_count; boolean keys are 1 / 0 with key_as_string "true" / "false".
"""

from __future__ import annotations

import math
from typing import Any


def field_values(source: dict, path: str) -> list[Any]:
    """The values of a dotted field in a document source (a list, empty when missing)."""
    value: Any = source
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return []
        value = value[part]
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _same(stored: Any, wanted: Any) -> bool:
    if isinstance(stored, bool) or isinstance(wanted, bool):
        return isinstance(stored, bool) and stored == (wanted if isinstance(wanted, bool) else str(wanted) == "true")
    if isinstance(stored, (int, float)):
        return float(stored) == float(wanted)
    return stored == wanted


def _in_range(value: Any, bounds: dict) -> bool:
    for op, bound in bounds.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value, bound = float(value), float(bound)
        ok = {"gt": value > bound, "gte": value >= bound, "lt": value < bound, "lte": value <= bound}[op]
        if not ok:
            return False
    return True


def matches(doc_id: str, source: dict, clause: dict) -> bool:
    """Whether a document passes one filter clause."""
    (kind, body), = clause.items()
    if kind == "ids":
        return doc_id in body["values"]
    if kind == "bool":
        musts = body.get("filter", []) + body.get("must", [])
        if not all(matches(doc_id, source, c) for c in musts):
            return False
        if any(matches(doc_id, source, c) for c in body.get("must_not", [])):
            return False
        should = body.get("should", [])
        need = body.get("minimum_should_match")
        if need is None:
            need = 1 if should and not musts else 0
        elif isinstance(need, str) and need.endswith("%"):
            pct = int(need[:-1])
            need = math.floor(len(should) * abs(pct) / 100) if pct >= 0 else len(should) - math.floor(
                len(should) * abs(pct) / 100)
        else:
            need = int(need) if int(need) >= 0 else len(should) + int(need)
        return sum(matches(doc_id, source, c) for c in should) >= need
    if kind == "exists":
        return bool(field_values(source, body["field"]))
    (field, spec), = body.items()
    values = field_values(source, field)
    if kind == "term":
        spec = spec["value"] if isinstance(spec, dict) else spec
        return any(_same(v, spec) for v in values)
    if kind == "terms":
        return any(_same(v, w) for v in values for w in spec)
    if kind == "prefix":
        spec = spec["value"] if isinstance(spec, dict) else spec
        return any(isinstance(v, str) and v.startswith(spec) for v in values)
    if kind == "range":
        return any(_in_range(v, spec) for v in values)
    raise AssertionError(f"the fake does not know {kind!r} filter clauses")


def terms_aggregation(sources: list[dict], field: str, size: int) -> dict:
    """A terms aggregation over ``sources`` (the matched documents)."""
    counts: dict[Any, int] = {}
    for source in sources:
        for v in dict.fromkeys(field_values(source, field)):
            counts[v] = counts.get(v, 0) + 1
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    buckets = []
    for key, n in ranked[:size]:
        if isinstance(key, bool):
            buckets.append({"key": int(key), "key_as_string": "true" if key else "false", "doc_count": n})
        else:
            buckets.append({"key": key, "doc_count": n})
    return {"doc_count_error_upper_bound": 0, "sum_other_doc_count": sum(n for _, n in ranked[size:]),
            "buckets": buckets}
