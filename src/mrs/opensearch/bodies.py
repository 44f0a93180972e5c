"""Pure builders of OpenSearch request bodies: k-NN / radial queries, the hybrid query, search requests. No client,
no I/O. The bodies both clusters share (multi_match, vectors, filters, ids) are mrs.cluster.bodies', re-exported
here for the OpenSearch callers.

Each function returns the dict OpenSearch documents for that request, so tests compare them with the
documented shapes and the backend/templates send exactly these.

Documentation relied on (OpenSearch docs, docs.opensearch.org):
- k-NN query (vector-search/querying-data, "approximate k-NN"): ``{"knn": {FIELD: {"vector": [...], "k": K,
  "filter": {...}}}}``; radial search (vector-search/specialized-operations/radial-search): exactly one of
  ``k``, ``min_score``, ``max_distance``.
- hybrid query (query-dsl/compound/hybrid): ``{"hybrid": {"queries": [...≤5], "pagination_depth": N}}``,
  used with ``?search_pipeline=NAME`` or a temporary ``"search_pipeline": {...}`` in the request body.
- filters: a k-NN query takes the filter inside (efficient filtering); a hybrid query gets the filter in every sub-query,
  which is what the hybrid query's own top-level ``filter`` (OpenSearch ≥ 3.0) rewrites to.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from mrs.cluster.bodies import boosted_fields, filtered, ids_filtered, lexical_query, vector_list
from mrs.errors import InputError

__all__ = ["boosted_fields", "filtered", "hybrid_query", "ids_filtered", "knn_query", "lexical_query",
           "search_request", "vector_list"]

MAX_HYBRID_SUBQUERIES = 5


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
