"""Facet counts: attribute value counts over the documents a query matched, as a ``terms`` aggregation.

``facet_counts(columns, matched, fields, size=10)`` → {field: {"buckets": [{"key", "doc_count"}, ...],
"sum_other_doc_count": n}} — OpenSearch's ``terms`` aggregation response shape and defaults: buckets ordered
by doc_count descending, ties by key ascending; ``size`` buckets (default 10); only values with a document
(min_doc_count 1); sum_other_doc_count = the documents' values left out of the returned buckets. A document
with several values (a category path, a list of colours) counts once in each value's bucket. Keyword keys are
strings, numeric keys floats, boolean keys true / false (OpenSearch returns 1 / 0 with key_as_string).
On a cluster the same counts come from ``terms`` aggregations on the ``attr`` fields (``terms_aggregations``
builds the request part, ``facets_from_aggregations`` reads the answer into the same shape).
Sources: OpenSearch "Terms aggregations" (aggregations/bucket/terms), Elasticsearch "Terms aggregation".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from mrs.engine.attributes import AttributeColumns, BooleanColumn, KeywordColumn, cluster_field, filter_fields
from mrs.errors import InputError

DEFAULT_FACET_SIZE = 10


def facet_counts(columns: AttributeColumns, matched: np.ndarray, fields: Sequence[str],
                 size: int = DEFAULT_FACET_SIZE) -> dict[str, dict[str, Any]]:
    """Value counts of each field in ``fields`` over the documents ``matched`` (bool per document).

    InputError when a field is not a typed attribute of the index, or size < 1."""
    if size < 1:
        raise InputError(f"facet size must be ≥ 1 (got {size})")
    known = columns.fields
    out: dict[str, dict[str, Any]] = {}
    for field in fields:
        if field not in known:
            raise InputError(f"facet: unknown field {field!r} (typed attributes: {', '.join(sorted(known)) or 'none'})")
        keys, counts = _value_counts(columns.columns[field], np.asarray(matched, dtype=bool))
        order = np.lexsort((np.arange(len(keys)), -counts))  # keys come sorted ascending: ties by key
        order = order[counts[order] > 0]
        top = order[:size]
        out[field] = {
            "buckets": [{"key": keys[i], "doc_count": int(counts[i])} for i in top],
            "sum_other_doc_count": int(counts[order[size:]].sum()),
        }
    return out


def _value_counts(column: Any, matched: np.ndarray) -> tuple[list[Any], np.ndarray]:
    """(distinct values ascending, documents of ``matched`` holding each)."""
    if isinstance(column, KeywordColumn):
        if not column.values:
            return [], np.zeros(0, dtype=np.int64)
        hits = matched[column.value_docs].astype(np.int64)
        counts = np.add.reduceat(hits, column.value_ptr[:-1]) if hits.size else np.zeros(len(column.values), np.int64)
        return list(column.values), counts
    if isinstance(column, BooleanColumn):
        values = column.values[matched]
        return [False, True], np.array([(values == 0).sum(), (values == 1).sum()], dtype=np.int64)
    values = column.values[matched]
    values = values[~np.isnan(values)]
    keys, counts = np.unique(values, return_counts=True)
    return [float(v) for v in keys], counts.astype(np.int64)


def check_facet_fields(fields: Sequence[str], types: dict[str, str]) -> None:
    """InputError naming the fields of ``fields`` that are not typed attributes (``types``: field → type)."""
    known = filter_fields(types)
    unknown = [f for f in fields if f not in known]
    if unknown:
        raise InputError(f"facet: unknown field(s) {', '.join(unknown)} "
                         f"(typed attributes: {', '.join(sorted(known)) or 'none'})")


def terms_aggregations(fields: Sequence[str], types: dict[str, str], size: int = DEFAULT_FACET_SIZE) -> dict[str, Any]:
    """The ``aggs`` of a cluster search: one ``terms`` aggregation per facet field on its ``attr`` field."""
    check_facet_fields(fields, types)
    if size < 1:
        raise InputError(f"facet size must be ≥ 1 (got {size})")
    return {field: {"terms": {"field": cluster_field(field), "size": int(size)}} for field in fields}


def facets_from_aggregations(aggregations: dict[str, Any], fields: Sequence[str],
                             types: dict[str, str]) -> dict[str, dict[str, Any]]:
    """A cluster's ``aggregations`` answer in facet_counts' shape: boolean keys (1 / 0 with key_as_string) as
    true / false, numeric keys as floats."""
    kinds = filter_fields(types)
    out: dict[str, dict[str, Any]] = {}
    for field in fields:
        agg = aggregations.get(field) or {}
        buckets = []
        for b in agg.get("buckets", []):
            key = b["key"]
            if kinds[field] == "boolean":
                key = str(b.get("key_as_string", key)).lower() in ("true", "1")
            elif kinds[field] == "numeric":
                key = float(key)
            buckets.append({"key": key, "doc_count": int(b["doc_count"])})
        out[field] = {"buckets": buckets, "sum_other_doc_count": int(agg.get("sum_other_doc_count", 0))}
    return out
