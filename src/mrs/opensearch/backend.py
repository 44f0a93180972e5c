"""OpenSearchBackend: the SearchBackend protocol (lexical / knn / hybrid / score_documents / count) and the
index lifecycle (create / write / delete) on a cluster, so ``mrs eval`` and ``mrs calibrate`` run unchanged
against OpenSearch.

Request bodies come from mrs.opensearch.bodies; every call goes through ``call`` (mrs.cluster.backend.ClusterBackend:
retries on 429/5xx/connection errors with exponential backoff + jitter; errors redacted), which this backend shares
with the Elasticsearch one along with filters, the lexical query, stored sources, count and bulk writes. Scores are OpenSearch's own:
lexical = multi_match best_fields BM25, dense = k-NN score of the space (cosinesimil: (1 + cos)/2), hybrid =
the search pipeline's combined score.

score_documents uses (a) the lexical query with an ``ids`` *filter* (filters do not change scores) and
(b) a k-NN query with the same ids as its efficient filter and k = len(ids): when the filtered set is no larger
than k, the faiss and lucene engines score every filtered document exactly (OpenSearch "Vector search with
filters", efficient filtering), so judged pairs get the exact k-NN score whether retrieved or not.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from mrs.cluster.backend import ClusterBackend
from mrs.engine.facets import DEFAULT_FACET_SIZE, facets_from_aggregations, terms_aggregations
from mrs.errors import InputError
from mrs.indexer.backend import SUBQUERY_DENSE, SUBQUERY_LEXICAL, Hit
from mrs.opensearch import bodies
from mrs.opensearch.bulk import OpenSearchBulkWriter
from mrs.opensearch.connection import ConnectionSettings, describe_error
from mrs.opensearch.mapping import IndexSpec, index_body
from mrs.opensearch.pipelines import check_pipeline, default_pipeline


def cluster_major_version(client: Any) -> int | None:
    """Major version of the cluster (``GET /``), None when it cannot be read."""
    try:
        number = str(client.info()["version"]["number"])
        return int(number.split(".")[0])
    except Exception:  # noqa: BLE001 — version is advisory
        return None


class OpenSearchBackend(ClusterBackend):
    """A cluster index (or alias) seen through the backend protocol.

    client: opensearchpy.OpenSearch. index: index or alias name. spec: the IndexSpec the index was built
    with (text fields and boosts, vector field, space type). pipeline: default hybrid pipeline — a name of
    an installed pipeline (str) or a body (dict, sent as a temporary pipeline); None → min_max +
    arithmetic_mean 0.7/0.3. pagination_depth: candidates per sub-query in hybrid (and k of its dense
    sub-query); None → k, as the embedded engine (and OpenSearch without pagination_depth: from + size).
    max_radial: size cap of a radial (min_score) search. Other arguments: mrs.cluster.backend.ClusterBackend.
    """

    bulk_writer = OpenSearchBulkWriter

    def __init__(
        self,
        client: Any,
        index: str,
        spec: IndexSpec,
        *,
        pipeline: str | Mapping[str, Any] | None = None,
        pagination_depth: int | None = None,
        max_radial: int = 10000,
        tie_breaker: float = 0.0,
        max_retries: int = 3,
        settings: ConnectionSettings | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rand: Callable[[], float] | None = None,
        hybrid_raw_scores: bool = True,
    ) -> None:
        super().__init__(client, index, spec, tie_breaker=tie_breaker, max_retries=max_retries, settings=settings,
                         sleep=sleep, rand=rand, hybrid_raw_scores=hybrid_raw_scores)
        self.pipeline = pipeline if pipeline is not None else default_pipeline()
        self.pagination_depth = int(pagination_depth) if pagination_depth else None
        self.max_radial = int(max_radial)
        self.meta: dict[str, Any] = {}

    # ------------------------------------------------------------------ the client's errors
    def transport_errors(self) -> tuple[type[BaseException], ...]:
        from opensearchpy.exceptions import TransportError

        return (TransportError,)

    def status_of(self, err: BaseException) -> Any:
        return getattr(err, "status_code", "N/A")

    def describe(self, err: BaseException) -> str:
        return describe_error(err, self.settings)

    def _search(self, body: dict[str, Any], params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        return super()._search(body, params=params or None)

    # ------------------------------------------------------------------ SearchBackend
    def lexical(self, text: str, k: int, *, filter: Any = None) -> list[Hit]:
        """Top-k by multi_match best_fields (raw BM25), within the filter (non-scoring)."""
        hits = self._search(bodies.search_request(self.lexical_query(text, self.filter_dsl(filter)), k))
        return [Hit(id=h["_id"], score=float(h["_score"]), scores={SUBQUERY_LEXICAL: float(h["_score"]),
                                                                    SUBQUERY_DENSE: None}) for h in hits]

    def knn(self, vector: np.ndarray, k: int | None = None, min_score: float | None = None, *,
            filter: Any = None) -> list[Hit]:
        """Top-k approximate k-NN, or radial search (all with score ≥ min_score, at most max_radial); a filter
        is the k-NN query's efficient filter."""
        query = bodies.knn_query(self.spec.vector_field, vector, k=k, min_score=min_score,
                                 filter=self.filter_dsl(filter))
        size = int(k) if k is not None else self.max_radial
        hits = self._search(bodies.search_request(query, size))
        return [Hit(id=h["_id"], score=float(h["_score"]), scores={SUBQUERY_LEXICAL: None,
                                                                    SUBQUERY_DENSE: float(h["_score"])}) for h in hits]

    def hybrid_body(self, text: str, vector: np.ndarray, k: int,
                    pipeline: str | Mapping[str, Any] | None = None, *,
                    filter: Any = None) -> tuple[dict[str, Any], dict[str, Any]]:
        """(body, query-string params) of a hybrid search: [lexical, dense k=depth] + pipeline, where
        depth = pagination_depth or k (sent as the hybrid query's pagination_depth only when configured);
        a filter goes into both sub-queries (before normalization)."""
        depth = self.depth(k)
        dsl = self.filter_dsl(filter)
        query = bodies.hybrid_query(
            [self.lexical_query(text, dsl),
             bodies.knn_query(self.spec.vector_field, vector, k=depth, filter=dsl)],
            pagination_depth=self.pagination_depth,
        )
        chosen = self.pipeline if pipeline is None else pipeline
        if not isinstance(chosen, (str, Mapping)):  # a parsed mrs.engine.pipeline.HybridPipeline
            from mrs.engine.pipeline import pipeline_body

            chosen = pipeline_body(chosen)
        if isinstance(chosen, str):
            return bodies.search_request(query, k), {"search_pipeline": chosen}
        return bodies.search_request(query, k, search_pipeline=check_pipeline(chosen, 2)), {}

    def depth(self, k: int) -> int:
        """Candidates per hybrid sub-query: pagination_depth, else k."""
        return int(self.pagination_depth or k)

    def hybrid(self, text: str, vector: np.ndarray, k: int, pipeline: Any = None, *,
               filter: Any = None, knn_min_score: float | None = None) -> list[Hit]:
        """Top-k of the hybrid query combined by ``pipeline`` (name, body, or the backend's default).

        With hybrid_raw_scores, each hit's ``scores`` holds its raw score in each sub-query's candidate list
        (the lexical and k-NN top-depth, fetched alongside), None when it was not among that sub-query's
        candidates — the same meaning as the embedded engine's Hit.scores. knn_min_score (a radial dense
        sub-query): InputError, the embedded engine's alone.
        """
        self.check_no_radial(knn_min_score)
        body, params = self.hybrid_body(text, vector, k, pipeline, filter=filter)
        hits = self._search(body, params)
        out = [Hit(id=h["_id"], score=float(h["_score"])) for h in hits]
        if self.hybrid_raw_scores and out:
            depth = self.depth(k)
            lexical = {h.id: h.score for h in self.lexical(text, depth, filter=filter)}
            dense = {h.id: h.score for h in self.knn(vector, k=depth, filter=filter)}
            for h in out:
                h.scores = {SUBQUERY_LEXICAL: lexical.get(h.id), SUBQUERY_DENSE: dense.get(h.id)}
        return out

    def facets(self, text: str, vector: np.ndarray | None, mode: str, fields: Sequence[str], *, k: int,
               size: int = DEFAULT_FACET_SIZE, min_score: float | None = None, filter: Any = None) -> dict[str, dict]:
        """Terms aggregations of ``fields`` over what the query matches (as EmbeddedEngine.matched_documents:
        lexical matches, the k-NN query's k hits (radial: ≥ min_score), or in hybrid both sub-queries' matches),
        within the filter; in facet_counts' shape (mrs.engine.facets)."""
        aggs = terms_aggregations(fields, self.spec.attributes, size)
        dsl = self.filter_dsl(filter)
        lexical = self.lexical_query(text, dsl)
        if mode == "lexical":
            query = lexical
        else:
            depth = k if mode == "dense" else self.depth(k)
            knn = bodies.knn_query(self.spec.vector_field, vector, k=None if min_score is not None else depth,
                                   min_score=min_score, filter=dsl)
            query = knn if mode == "dense" else {"bool": {"should": [lexical, knn]}}
        body = {**bodies.search_request(query, 0), "aggs": aggs}
        resp = self.call(self.client.search, index=self.index, body=body)
        return facets_from_aggregations(resp.get("aggregations") or {}, fields, self.spec.attributes)

    def score_documents(self, text: str, vector: np.ndarray | None,
                        ids: Sequence[str]) -> dict[str, dict[str, float | None]]:
        """Raw lexical and dense scores of ``ids`` for one query (see module doc for the exactness argument);
        vector None: no k-NN query, dense None."""
        ids = list(dict.fromkeys(str(i) for i in ids))
        out: dict[str, dict[str, float | None]] = {i: {SUBQUERY_LEXICAL: None, SUBQUERY_DENSE: None} for i in ids}
        if not ids:
            return out
        lexical = bodies.ids_filtered(bodies.lexical_query(text, self.spec.text_fields, self.tie_breaker), ids)
        for h in self._search(bodies.search_request(lexical, len(ids))):
            out[h["_id"]][SUBQUERY_LEXICAL] = float(h["_score"])
        if vector is None:
            return out
        dense = bodies.knn_query(self.spec.vector_field, vector, k=len(ids),
                                 filter={"ids": {"values": ids}})
        for h in self._search(bodies.search_request(dense, len(ids))):
            out[h["_id"]][SUBQUERY_DENSE] = float(h["_score"])
        return out

    def index_manifest(self, model: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The index described in the embedded manifest's shape (mrs.engine.manifest): what run_calibration records
        and check_index compares (model sha256, dimension, space_type). model: the model identity [default: the
        mapping's ``_meta.mrs_model``]."""
        spec = self.spec
        identity = dict(model if model is not None else self.meta.get("mrs_model") or {})
        return {
            "model": dict(identity, dimension=spec.dimension),
            "vectors": {"space_type": spec.space_type, "dimension": spec.dimension},
            "bm25": {"similarity": spec.similarity, "fields": dict(spec.text_fields), "analyzer": spec.analyzer,
                     "k1": spec.k1, "b": spec.b},
            "text_template": self.meta.get("mrs_text_template"),
            "opensearch": {"index": self.index, "engine": spec.engine, "m": spec.m,
                           "ef_construction": spec.ef_construction, "ef_search": spec.ef_search},
        }

    # ------------------------------------------------------------------ WritableBackend
    def create(self, spec: dict[str, Any] | IndexSpec | None = None) -> None:
        """Create the index with the mapping of ``spec`` (default: this backend's spec)."""
        if spec is not None:
            self.spec = spec if isinstance(spec, IndexSpec) else IndexSpec.from_dict(spec)
        body = index_body(self.spec, cluster_major_version(self.client))
        self.call(self.client.indices.create, index=self.index, body=body)


def backend_from_index(client: Any, index: str, **kwargs: Any) -> OpenSearchBackend:
    """Open an existing index/alias: its IndexSpec is read back from the mapping's ``_meta.mrs``; ``backend.meta``
    holds the whole ``_meta`` (``mrs_model``: the model identity the vectors were made with)."""
    resp = OpenSearchBackend(client, index, IndexSpec(dimension=1), **kwargs).call(
        client.indices.get_mapping, index=index)
    if not resp:
        raise InputError(f"index {index!r} not found on the cluster")
    mapping = next(iter(resp.values()))["mappings"]
    meta = (mapping.get("_meta") or {}).get("mrs")
    if not meta:
        raise InputError(f"index {index!r} was not created by mrs (no _meta.mrs in its mapping)")
    backend = OpenSearchBackend(client, index, IndexSpec.from_dict(meta), **kwargs)
    backend.meta = dict(mapping.get("_meta") or {})  # mrs_model (identity), mrs_text_template when written by mrs
    return backend
