"""Pure builders of OpenSearch request bodies: queries, search requests, alias actions. No client, no I/O.

Each function returns the dict OpenSearch documents for that request, so tests compare them with the
documented shapes and the backend/templates send exactly these.

Documentation relied on (OpenSearch docs, docs.opensearch.org):
- multi_match (query-dsl/full-text/multi-match): ``{"multi_match": {"query", "type": "best_fields",
  "fields": ["title^3", ...], "tie_breaker"}}`` — score = max of the boosted field scores + tie_breaker × others.
- k-NN query (vector-search/querying-data, "approximate k-NN"): ``{"knn": {FIELD: {"vector": [...], "k": K,
  "filter": {...}}}}``; radial search (vector-search/specialized-operations/radial-search): exactly one of
  ``k``, ``min_score``, ``max_distance``.
- hybrid query (query-dsl/compound/hybrid): ``{"hybrid": {"queries": [...≤5], "pagination_depth": N}}``,
  used with ``?search_pipeline=NAME`` or a temporary ``"search_pipeline": {...}`` in the request body.
- ids query (query-dsl/term/ids): ``{"ids": {"values": [...]}}`` — in a bool filter it does not change scores.
- filters (query-dsl/compound/bool, filter context): a lexical query is filtered as ``bool {must, filter}``; a
  k-NN query takes the filter inside (efficient filtering); a hybrid query gets the filter in every sub-query,
  which is what the hybrid query's own top-level ``filter`` (OpenSearch ≥ 3.0) rewrites to.
- aliases API (api-reference/index-apis/alias): ``POST _aliases {"actions": [{"remove": ...}, {"add": ...}]}``
  applied atomically.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from mrs.errors import InputError

MAX_HYBRID_SUBQUERIES = 5


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
    always parse back to the same float32 (OpenSearch stores float32), so requests are ~1/3 smaller than with
    float64 reprs and the cluster sees exactly the local vector."""
    arr = np.asarray(vector, dtype=np.float32).reshape(-1)
    if arr.size == 0 or not np.all(np.isfinite(arr)):
        raise InputError("query vector is empty or holds NaN/inf")
    return [float(f"{x:.9g}") for x in arr.tolist()]


def knn_query(
    field: str,
    vector: np.ndarray | Sequence[float],
    *,
    k: int | None = None,
    min_score: float | None = None,
    max_distance: float | None = None,
    filter: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Approximate k-NN (``k``) or radial search (``min_score`` / ``max_distance``) on a knn_vector field.

    Exactly one of k, min_score, max_distance (radial search rule). min_score is in the k-NN score space of
    the index (cosinesimil: (1 + cos)/2) — e.g. a calibrated level threshold. filter: any query used as an
    efficient k-NN filter (faiss/lucene engines). Returns ``{"knn": {field: {...}}}``.
    """
    given = [name for name, v in (("k", k), ("min_score", min_score), ("max_distance", max_distance)) if v is not None]
    if len(given) != 1:
        raise InputError(f"k-NN query takes exactly one of k, min_score, max_distance (got {given or 'none'})")
    body: dict[str, Any] = {"vector": vector_list(vector)}
    if k is not None:
        if int(k) < 1:
            raise InputError(f"k must be ≥ 1 (got {k})")
        body["k"] = int(k)
    elif min_score is not None:
        body["min_score"] = float(min_score)
    else:
        body["max_distance"] = float(max_distance)  # type: ignore[arg-type]
    if filter:
        body["filter"] = dict(filter)
    return {"knn": {field: body}}


def hybrid_query(subqueries: Sequence[Mapping[str, Any]], pagination_depth: int | None = None) -> dict[str, Any]:
    """``{"hybrid": {"queries": [...]}}`` — 1 to 5 sub-queries, order = the pipeline's weights order.

    pagination_depth: how many results each sub-query collects per shard (OpenSearch ≥ 2.19; the
    normalization statistics are computed over these candidates).
    """
    if not 1 <= len(subqueries) <= MAX_HYBRID_SUBQUERIES:
        raise InputError(f"a hybrid query takes 1 to {MAX_HYBRID_SUBQUERIES} sub-queries (got {len(subqueries)})")
    body: dict[str, Any] = {"queries": [dict(q) for q in subqueries]}
    if pagination_depth is not None:
        if int(pagination_depth) < 1:
            raise InputError(f"pagination_depth must be ≥ 1 (got {pagination_depth})")
        body["pagination_depth"] = int(pagination_depth)
    return {"hybrid": body}


def filtered(query: Mapping[str, Any], filter: Mapping[str, Any] | None) -> dict[str, Any]:
    """``query`` with a non-scoring ``filter`` clause (bool query filter context: scores are the query's own,
    statistics still over the whole index); ``query`` itself when filter is None."""
    if not filter:
        return dict(query)
    return {"bool": {"must": [dict(query)], "filter": [dict(filter)]}}


def ids_filtered(query: Mapping[str, Any], ids: Sequence[str]) -> dict[str, Any]:
    """``query`` restricted to documents ``ids``; the ids clause is a filter so scores are the query's own."""
    return {"bool": {"must": [dict(query)], "filter": [{"ids": {"values": [str(i) for i in ids]}}]}}


def search_request(
    query: Mapping[str, Any],
    size: int,
    *,
    source: bool | Sequence[str] = False,
    search_pipeline: Mapping[str, Any] | None = None,
    explain: bool = False,
) -> dict[str, Any]:
    """A ``_search`` body: query, size, _source selection, optional temporary search pipeline.

    search_pipeline: a pipeline body sent inline (``"search_pipeline": {...}``, OpenSearch ≥ 2.8 temporary
    pipelines) so calibration can try blends without installing them.
    """
    if int(size) < 0:
        raise InputError(f"size must be ≥ 0 (got {size})")
    body: dict[str, Any] = {"size": int(size), "query": dict(query)}
    body["_source"] = list(source) if isinstance(source, (list, tuple)) else bool(source)
    if search_pipeline is not None:
        body["search_pipeline"] = dict(search_pipeline)
    if explain:
        body["explain"] = True
    return body


def alias_swap_actions(alias: str, new_index: str, current_indices: Sequence[str]) -> dict[str, Any]:
    """The ``POST _aliases`` body that moves ``alias`` to ``new_index`` in one atomic step.

    Removes the alias from every index that holds it now, then adds it to the new one; OpenSearch applies
    all actions of one request atomically, so readers never see zero or two indices behind the alias.
    """
    actions: list[dict[str, Any]] = [
        {"remove": {"index": old, "alias": alias}} for old in sorted(current_indices) if old != new_index
    ]
    actions.append({"add": {"index": new_index, "alias": alias, "is_write_index": True}})
    return {"actions": actions}


def count_request() -> dict[str, Any]:
    """``_count`` body over all documents."""
    return {"query": {"match_all": {}}}
