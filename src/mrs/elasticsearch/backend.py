"""ElasticsearchBackend: the SearchBackend protocol (lexical / knn / hybrid / score_documents / count) and the
index lifecycle (create / write / delete) on an Elasticsearch cluster, so ``mrs eval`` and ``mrs calibrate``
run unchanged against it.

Scores come back in the ENGINE's score spaces, so thresholds calibrated locally or on the cluster mean the same:
- lexical: ``_score`` of multi_match best_fields ÷ ``spec.bm25_factor`` (1 for LegacyBM25 indexes, k1 + 1 for
  BM25 ones: Elasticsearch's BM25 keeps the (k1 + 1) factor — mrs.elasticsearch.spaces);
- dense: the knn ``_score`` mapped to the engine's k-NN score (identity except dot_product);
  ``knn(min_score=t)`` sends ``similarity`` = the RAW similarity equivalent to t (knn_similarity_threshold);
- hybrid: the linear / rrf retriever's ``_score`` as the cluster computes it (mrs.engine.retriever_combine
  reproduces it offline). minmax and l2_norm are invariant to the BM25 factor, so rankings match the engine.

Every call goes through ``call`` (mrs.cluster.backend.ClusterBackend, shared with the OpenSearch backend): 429 /
5xx / connection errors are retried with the exponential backoff + jitter of mrs.cluster.bulk; failures raise
ClusterError with a redacted message.

score_documents: the lexical query with an ``ids`` filter (filters do not change scores) and a knn search whose
``filter`` is the same ids with k = num_candidates = len(ids): when the filter matches no more documents than
k, Lucene's kNN query scores every filtered document exactly (approximate search falls back to exact search).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from mrs.cluster.backend import ClusterBackend
from mrs.elasticsearch import bodies
from mrs.elasticsearch.bulk import ElasticsearchBulkWriter
from mrs.elasticsearch.connection import ElasticsearchSettings, describe_error, status_of
from mrs.elasticsearch.mapping import MAX_NUM_CANDIDATES, ElasticIndexSpec, index_body
from mrs.elasticsearch.spaces import engine_score_from_es, knn_similarity_threshold
from mrs.engine.facets import DEFAULT_FACET_SIZE, facets_from_aggregations, terms_aggregations
from mrs.engine.retriever import RetrieverSpec, default_linear, is_retriever_body, parse_retriever
from mrs.engine.translation import linear_from_pipeline
from mrs.errors import InputError
from mrs.indexer.backend import SUBQUERY_DENSE, SUBQUERY_LEXICAL, Hit


class ElasticsearchBackend(ClusterBackend):
    """An Elasticsearch index (or alias) seen through the backend protocol.

    client: elasticsearch.Elasticsearch. index: index or alias name. spec: the ElasticIndexSpec the index was
    built with. retriever: default hybrid blend — a RetrieverSpec, a linear/rrf retriever body, an OpenSearch
    pipeline body (converted: mrs.engine.translation.linear_from_pipeline), or None (linear minmax
    0.7/0.3). rank_window_size: candidates per sub-retriever (raised to k when smaller). num_candidates: knn
    candidates per shard (at least 1.5·k, at most 10,000). max_radial: k of a thresholded knn search. Other
    arguments: mrs.cluster.backend.ClusterBackend.
    """

    bulk_writer = ElasticsearchBulkWriter

    def __init__(
        self,
        client: Any,
        index: str,
        spec: ElasticIndexSpec,
        *,
        retriever: Any = None,
        rank_window_size: int = 100,
        num_candidates: int = 100,
        max_radial: int = MAX_NUM_CANDIDATES,
        tie_breaker: float = 0.0,
        max_retries: int = 3,
        settings: ElasticsearchSettings | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rand: Callable[[], float] | None = None,
        hybrid_raw_scores: bool = True,
    ) -> None:
        super().__init__(client, index, spec, tie_breaker=tie_breaker, max_retries=max_retries, settings=settings,
                         sleep=sleep, rand=rand, hybrid_raw_scores=hybrid_raw_scores)
        self.rank_window_size = int(rank_window_size)
        self.retriever = self.resolve_retriever(retriever)
        self.num_candidates = int(num_candidates)
        self.max_radial = min(int(max_radial), MAX_NUM_CANDIDATES)

    # ------------------------------------------------------------------ the client's errors
    def transport_errors(self) -> tuple[type[BaseException], ...]:
        from elastic_transport import TransportError
        from elasticsearch import ApiError

        return (ApiError, TransportError)

    def status_of(self, err: BaseException) -> Any:
        return status_of(err)

    def describe(self, err: BaseException) -> str:
        return describe_error(err, self.settings)

    # ------------------------------------------------------------------ score spaces
    def _lexical_score(self, es_score: float) -> float:
        return float(es_score) / self.spec.bm25_factor

    def _dense_score(self, es_score: float) -> float:
        return float(engine_score_from_es(float(es_score), self.spec.similarity, self.spec.space_type))

    def _candidates(self, k: int) -> int:
        return min(MAX_NUM_CANDIDATES, max(int(k), int(1.5 * k), self.num_candidates))

    # ------------------------------------------------------------------ SearchBackend
    def lexical(self, text: str, k: int, *, filter: Any = None) -> list[Hit]:
        """Top-k by multi_match best_fields, within the filter (non-scoring); scores in the engine's BM25 space."""
        query = self.lexical_query(text, self.filter_dsl(filter))
        out = []
        for h in self._search(bodies.search_request(k, query=query)):
            s = self._lexical_score(h["_score"])
            out.append(Hit(id=h["_id"], score=s, scores={SUBQUERY_LEXICAL: s, SUBQUERY_DENSE: None}))
        return out

    def knn_body(self, vector: np.ndarray, k: int | None = None, min_score: float | None = None,
                 filter: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The ``_search`` body of a knn search: top-k, or every document with engine k-NN score ≥ min_score
        (``similarity`` = the raw threshold, k = num_candidates = max_radial)."""
        if (k is None) == (min_score is None):
            raise InputError("k-NN search takes exactly one of k, min_score")
        if min_score is not None:
            similarity = knn_similarity_threshold(float(min_score), self.spec.space_type, self.spec.similarity)
            section = bodies.knn_section(self.spec.vector_field, vector, self.max_radial, self.max_radial,
                                         similarity=similarity, filter=filter)
            return bodies.search_request(self.max_radial, knn=section)
        section = bodies.knn_section(self.spec.vector_field, vector, int(k), self._candidates(int(k)),
                                     filter=filter)
        return bodies.search_request(int(k), knn=section)

    def knn(self, vector: np.ndarray, k: int | None = None, min_score: float | None = None, *,
            filter: Any = None) -> list[Hit]:
        """Top-k approximate kNN, or all with engine k-NN score ≥ min_score (at most max_radial), within the
        filter (the knn search's own ``filter``: applied during the search, k hits whenever k pass)."""
        out = []
        for h in self._search(self.knn_body(vector, k, min_score, filter=self.filter_dsl(filter))):
            s = self._dense_score(h["_score"])
            if min_score is not None and s < float(min_score) - 1e-6:
                continue  # float rounding at the boundary: keep the engine's rule score ≥ min_score
            out.append(Hit(id=h["_id"], score=s, scores={SUBQUERY_LEXICAL: None, SUBQUERY_DENSE: s}))
        return out

    def resolve_retriever(self, blend: Any) -> RetrieverSpec:
        """A RetrieverSpec from a spec, a retriever body, an OpenSearch pipeline body / HybridPipeline, or None."""
        if blend is None:
            return default_linear(self.rank_window_size)
        if isinstance(blend, RetrieverSpec):
            return blend
        if isinstance(blend, Mapping) and is_retriever_body(blend):
            return parse_retriever(blend)
        return linear_from_pipeline(blend, self.rank_window_size)

    def hybrid_body(self, text: str, vector: np.ndarray, k: int, retriever: Any = None, *,
                    filter: Any = None) -> dict[str, Any]:
        """The ``_search`` body of a hybrid search: a linear/rrf retriever over [standard multi_match, knn];
        a filter applies to both sub-retrievers (before normalization)."""
        spec = self.retriever if retriever is None else self.resolve_retriever(retriever)
        if spec.rank_window_size < int(k):
            spec = replace(spec, rank_window_size=int(k))
        window = spec.rank_window_size
        if window > MAX_NUM_CANDIDATES:
            raise InputError(f"rank_window_size {window} exceeds the knn limit of {MAX_NUM_CANDIDATES} candidates")
        dsl = self.filter_dsl(filter)
        lexical = self.lexical_query(text, dsl)
        knn = bodies.knn_section(self.spec.vector_field, vector, window, self._candidates(window), filter=dsl)
        return bodies.search_request(k, retriever=bodies.hybrid_retriever(spec, lexical, knn))

    def hybrid(self, text: str, vector: np.ndarray, k: int, pipeline: Any = None, *,
               filter: Any = None, knn_min_score: float | None = None) -> list[Hit]:
        """Top-k of the hybrid retriever (``pipeline``: anything resolve_retriever takes; None = the default).
        With hybrid_raw_scores each hit's ``scores`` holds its exact lexical and dense scores (engine spaces).
        knn_min_score (a radial dense sub-retriever): InputError, the embedded engine's alone."""
        self.check_no_radial(knn_min_score)
        hits = self._search(self.hybrid_body(text, vector, k, pipeline, filter=filter))
        out = [Hit(id=h["_id"], score=float(h["_score"])) for h in hits]
        if self.hybrid_raw_scores and out:
            raw = self.score_documents(text, vector, [h.id for h in out])
            for h in out:
                h.scores = raw.get(h.id, {SUBQUERY_LEXICAL: None, SUBQUERY_DENSE: None})
        return out

    def facets(self, text: str, vector: np.ndarray | None, mode: str, fields: Sequence[str], *, k: int,
               size: int = DEFAULT_FACET_SIZE, min_score: float | None = None, filter: Any = None) -> dict[str, dict]:
        """Terms aggregations of ``fields`` over what the query matches (lexical matches, the knn search's k
        hits (radial: ≥ min_score), or in hybrid the union of both — a search with ``query`` and ``knn``
        aggregates over their union), within the filter; in facet_counts' shape (mrs.engine.facets)."""
        aggs = terms_aggregations(fields, self.spec.attributes, size)
        dsl = self.filter_dsl(filter)
        body: dict[str, Any] = {"size": 0, "aggs": aggs, "_source": False}
        if mode in ("lexical", "hybrid"):
            body["query"] = self.lexical_query(text, dsl)
        if mode in ("dense", "hybrid"):
            depth = int(k) if mode == "dense" else max(int(k), int(self.retriever.rank_window_size))
            body["knn"] = self.knn_body(vector, None if min_score is not None else depth, min_score, filter=dsl)["knn"]
        resp = self.call(self.client.search, index=self.index, body=body)
        data = resp.body if hasattr(resp, "body") else resp
        return facets_from_aggregations(data.get("aggregations") or {}, fields, self.spec.attributes)

    def score_documents(self, text: str, vector: np.ndarray | None,
                        ids: Sequence[str]) -> dict[str, dict[str, float | None]]:
        """Lexical and dense scores (engine spaces) of ``ids`` for one query, retrieved or not (module doc);
        vector None: no kNN search, dense None."""
        ids = list(dict.fromkeys(str(i) for i in ids))
        out: dict[str, dict[str, float | None]] = {i: {SUBQUERY_LEXICAL: None, SUBQUERY_DENSE: None} for i in ids}
        for start in range(0, len(ids), MAX_NUM_CANDIDATES):
            part = ids[start:start + MAX_NUM_CANDIDATES]
            lexical = bodies.ids_filtered(bodies.lexical_query(text, self.spec.text_fields, self.tie_breaker), part)
            for h in self._search(bodies.search_request(len(part), query=lexical)):
                out[h["_id"]][SUBQUERY_LEXICAL] = self._lexical_score(h["_score"])
            if vector is None:
                continue
            section = bodies.knn_section(self.spec.vector_field, vector, len(part), len(part),
                                         filter={"ids": {"values": part}})
            for h in self._search(bodies.search_request(len(part), knn=section)):
                out[h["_id"]][SUBQUERY_DENSE] = self._dense_score(h["_score"])
        return out

    def index_manifest(self, model: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """What a calibration records about the index, in the embedded manifest's shape (mrs.engine.manifest)."""
        return {"model": dict(model or {}, dimension=self.spec.dimension),
                "vectors": {"space_type": self.spec.space_type, "dimension": self.spec.dimension},
                "bm25": {"similarity": self.spec.bm25_similarity, "fields": self.spec.text_fields,
                         "analyzer": self.spec.analyzer, "k1": self.spec.k1, "b": self.spec.b},
                "elasticsearch": {"index": self.index, "similarity": self.spec.similarity,
                                  "index_type": self.spec.index_type}}

    # ------------------------------------------------------------------ WritableBackend
    def create(self, spec: dict[str, Any] | ElasticIndexSpec | None = None) -> None:
        """Create the index with the mapping of ``spec`` (default: this backend's spec)."""
        if spec is not None:
            self.spec = spec if isinstance(spec, ElasticIndexSpec) else ElasticIndexSpec.from_dict(spec)
        self.call(self.client.indices.create, index=self.index, body=index_body(self.spec))


def read_index_meta(client: Any, index: str, **kwargs: Any) -> tuple[ElasticIndexSpec, dict[str, Any]]:
    """(spec, model identity) stored in the mapping's ``_meta`` of an index/alias created by mrs."""
    settings = kwargs.get("settings")
    if settings is not None:
        kwargs.setdefault("max_retries", settings.max_retries)
    resp = ElasticsearchBackend(client, index, ElasticIndexSpec(dimension=1), **kwargs).call(
        client.indices.get_mapping, index=index)
    body = resp.body if hasattr(resp, "body") else resp
    if not body:
        raise InputError(f"index {index!r} not found on the cluster")
    mapping = next(iter(body.values()))["mappings"]
    meta = mapping.get("_meta") or {}
    if not meta.get("mrs"):
        raise InputError(f"index {index!r} was not created by mrs (no _meta.mrs in its mapping)")
    return ElasticIndexSpec.from_dict(meta["mrs"]), dict(meta.get("mrs_model") or {})


def backend_from_index(client: Any, index: str, **kwargs: Any) -> ElasticsearchBackend:
    """Open an existing index/alias: its ElasticIndexSpec is read back from ``_meta.mrs``."""
    spec, _ = read_index_meta(client, index, settings=kwargs.get("settings"))
    return ElasticsearchBackend(client, index, spec, **kwargs)
