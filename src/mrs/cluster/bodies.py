"""Pure builders of the request bodies OpenSearch and Elasticsearch accept in the same shape: the lexical
multi_match, query vectors as JSON, filters and id restrictions. No client, no I/O.

What differs per cluster (k-NN / knn search, hybrid query / retrievers, the ``_search`` body) is built in
mrs.opensearch.bodies and mrs.elasticsearch.bodies on top of these.

Documentation relied on:
- multi_match (OpenSearch query-dsl/full-text/multi-match; Elasticsearch query-dsl-multi-match-query):
  ``{"multi_match": {"query", "type": "best_fields", "fields": ["title^3", ...], "tie_breaker", "operator"}}``
  — score = max of the boosted field scores + tie_breaker × the others.
- ids query (query-dsl/term/ids): ``{"ids": {"values": [...]}}`` — in a bool filter it does not change scores.
- filters (query-dsl/compound/bool, filter context): a lexical query is filtered as ``bool {must, filter}``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from mrs.errors import InputError


def boosted_fields(fields: Mapping[str, float]) -> list[str]:
    """{"title": 3.0, "color": 1.0} → ["title^3", "color"] (multi_match field syntax)."""
    return [name if float(boost) == 1.0 else f"{name}^{float(boost):g}" for name, boost in fields.items()]


def lexical_query(text: str, fields: Mapping[str, float], tie_breaker: float = 0.0,
                  operator: str = "or") -> dict[str, Any]:
    """multi_match best_fields over the BM25 fields with boosts.

    text: the user's query. fields: {field: boost}. tie_breaker: weight of the non-best fields (0 = pure max,
    what the embedded engine computes by default). Returns ``{"multi_match": {...}}``.
    """
    if not fields:
        raise InputError("lexical query needs at least one BM25 field")
    if not 0.0 <= tie_breaker <= 1.0:
        raise InputError(f"tie_breaker must be in [0, 1] (got {tie_breaker})")
    return {
        "multi_match": {
            "query": text,
            "type": "best_fields",
            "fields": boosted_fields(fields),
            "tie_breaker": float(tie_breaker),
            "operator": operator,
        }
    }


def vector_list(vector: np.ndarray | Sequence[float]) -> list[float]:
    """A vector as a JSON list of floats: each float32 written with 9 significant digits, the fewest that
    always parse back to the same float32 (both clusters store float32), so requests are ~1/3 smaller than with
    float64 reprs and the cluster sees exactly the local vector."""
    arr = np.asarray(vector, dtype=np.float32).reshape(-1)
    if arr.size == 0 or not np.all(np.isfinite(arr)):
        raise InputError("query vector is empty or holds NaN/inf")
    return [float(f"{x:.9g}") for x in arr.tolist()]


def filtered(query: Mapping[str, Any], filter: Mapping[str, Any] | None) -> dict[str, Any]:
    """``query`` with a non-scoring ``filter`` clause (bool query filter context: scores are the query's own,
    statistics still over the whole index); ``query`` itself when filter is None."""
    if not filter:
        return dict(query)
    return {"bool": {"must": [dict(query)], "filter": [dict(filter)]}}


def ids_filtered(query: Mapping[str, Any], ids: Sequence[str]) -> dict[str, Any]:
    """``query`` restricted to documents ``ids``; the ids clause is a filter so scores are the query's own."""
    return {"bool": {"must": [dict(query)], "filter": [{"ids": {"values": [str(i) for i in ids]}}]}}
