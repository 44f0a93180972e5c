"""Pure builders of Elasticsearch request bodies: lexical query, knn search, retrievers (standard, knn, linear,
rrf), search requests. No client, no I/O: tests compare them with the documented shapes.

Documentation relied on (Elasticsearch reference, www.elastic.co/docs/reference/elasticsearch):
- multi_match (query-dsl-multi-match-query): ``{"multi_match": {"query", "type": "best_fields", "fields":
  ["title^3", ...], "tie_breaker", "operator"}}`` — the same shape OpenSearch takes, so it is shared
  (mrs.cluster.bodies.lexical_query, re-exported here with ids_filtered and vector_list).
- kNN search (knn-search; search API ``knn`` option) and the knn retriever (rest-apis/retrievers/knn-retriever):
  ``{"field", "query_vector", "k", "num_candidates", "similarity", "filter"}``; k ≤ num_candidates ≤ 10,000;
  ``similarity`` = minimum raw similarity (l2_norm: maximum distance), not ``_score``.
- standard retriever: ``{"standard": {"query": {...}}}``; linear retriever: ``{"linear": {"retrievers":
  [{"retriever", "weight", "normalizer"}], "rank_window_size", "min_score"}}``; rrf retriever: ``{"rrf":
  {"retrievers": [...], "rank_constant", "rank_window_size"}}`` (rest-apis/retrievers/linear-retriever,
  rrf-retriever). A search body with ``retriever`` takes no top-level ``query``/``knn``.
- ids query in a bool filter does not change scores (query-dsl-ids-query, query filter context).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from mrs.cluster.bodies import ids_filtered, lexical_query, vector_list
from mrs.elasticsearch.mapping import MAX_NUM_CANDIDATES
from mrs.engine.retriever import RetrieverSpec, retriever_body
from mrs.errors import InputError

__all__ = ["ids_filtered", "knn_section", "hybrid_retriever", "knn_retriever", "lexical_query",
           "search_request", "standard_retriever", "vector_list"]


def knn_section(
    field: str,
    vector: np.ndarray | Sequence[float],
    k: int,
    num_candidates: int | None = None,
    *,
    similarity: float | None = None,
    filter: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """The knn object (top-level ``knn`` or inside a knn retriever).

    k: nearest neighbours returned. num_candidates: candidates per shard (default max(k, min(1.5·k, 10000)));
    must lie in [k, 10000]. similarity: minimum RAW similarity (mrs.elasticsearch.spaces.knn_similarity_threshold
    converts a calibrated score). filter: a query (or list) applied during the search.
    """
    if isinstance(k, bool) or int(k) < 1:
        raise InputError(f"k must be ≥ 1 (got {k})")
    k = int(k)
    if num_candidates is None:
        num_candidates = max(k, min(int(1.5 * k), MAX_NUM_CANDIDATES))
    if not k <= int(num_candidates) <= MAX_NUM_CANDIDATES:
        raise InputError(f"num_candidates must lie in [k={k}, {MAX_NUM_CANDIDATES}] (got {num_candidates})")
    body: dict[str, Any] = {"field": field, "query_vector": vector_list(vector), "k": k,
                            "num_candidates": int(num_candidates)}
    if similarity is not None:
        if not np.isfinite(similarity):
            raise InputError(f"knn similarity must be finite (got {similarity})")
        body["similarity"] = float(similarity)
    if filter:
        body["filter"] = [dict(f) for f in filter] if isinstance(filter, Sequence) else dict(filter)
    return body


def standard_retriever(query: Mapping[str, Any]) -> dict[str, Any]:
    """``{"standard": {"query": query}}``."""
    return {"standard": {"query": dict(query)}}


def knn_retriever(section: Mapping[str, Any]) -> dict[str, Any]:
    """``{"knn": section}`` (a knn_section)."""
    return {"knn": dict(section)}


def hybrid_retriever(spec: RetrieverSpec, lexical: Mapping[str, Any], knn: Mapping[str, Any]) -> dict[str, Any]:
    """A linear or rrf retriever over [standard(lexical), knn(knn)] in the spec's sub-retriever order."""
    spec.validate()
    return retriever_body(spec, {"lexical": standard_retriever(lexical), "dense": knn_retriever(knn)})


def search_request(
    size: int,
    *,
    query: Mapping[str, Any] | None = None,
    knn: Mapping[str, Any] | None = None,
    retriever: Mapping[str, Any] | None = None,
    source: bool | Sequence[str] = False,
) -> dict[str, Any]:
    """A ``_search`` body with exactly one of query, knn or retriever; ``_source`` off by default (the vector
    is never returned)."""
    given = [n for n, v in (("query", query), ("knn", knn), ("retriever", retriever)) if v is not None]
    if len(given) != 1:
        raise InputError(f"a search takes exactly one of query, knn, retriever (got {given or 'none'})")
    if isinstance(size, bool) or int(size) < 0:
        raise InputError(f"size must be ≥ 0 (got {size})")
    body: dict[str, Any] = {"size": int(size), given[0]: dict(query or knn or retriever)}  # type: ignore[arg-type]
    body["_source"] = source if isinstance(source, bool) else list(source)
    return body
