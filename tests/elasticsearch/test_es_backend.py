"""ElasticsearchBackend: the request bodies it sends, the score spaces it returns (BM25 ÷ (k1 + 1), knn.similarity
on the raw similarity, dot_product → engine score), retries with backoff at the transport layer, redacted errors."""

from __future__ import annotations

import numpy as np
import pytest

from mrs.elasticsearch.backend import ElasticsearchBackend, backend_from_index
from mrs.elasticsearch.connection import ClusterError, ElasticsearchSettings
from mrs.elasticsearch.mapping import ElasticIndexSpec, index_body
from mrs.indexer.backend import SearchBackend

SPEC = ElasticIndexSpec(dimension=3, text_fields={"title": 3.0, "brand": 1.0})  # BM25 → ES score × 2.2
VEC = np.array([1.0, 0.0, 0.0], dtype=np.float32)


def backend(es, sleeps, spec=SPEC, **kw):
    es.indices.setdefault("shop", {"body": index_body(spec), "docs": {"a": {}, "b": {}}})
    return ElasticsearchBackend(es.client(), "shop", spec, sleep=sleeps, rand=lambda: 0.0, **kw)


def respond(scores):
    def responder(index, req):
        return [{"_index": index, "_id": i, "_score": s} for i, s in scores.items()][: req.get("size", 10)]
    return responder


def test_is_a_search_backend(es, sleeps):
    assert isinstance(backend(es, sleeps), SearchBackend)


def test_lexical_body_and_bm25_factor(es, sleeps):
    es.search_responder = respond({"a": 4.4, "b": 2.2})
    hits = backend(es, sleeps).lexical('red "shirt"', 5)
    # ES BM25 keeps (k1 + 1) = 2.2: 4.4 / 2.2 = 2.0 in the engine's BM25 (Lucene ≥ 8) space
    assert [(h.id, h.score) for h in hits] == [("a", pytest.approx(2.0)), ("b", pytest.approx(1.0))]
    assert hits[0].scores == {"lexical": pytest.approx(2.0), "dense": None}
    body = es.searches()[-1]
    assert body == {"size": 5, "_source": False, "query": {"multi_match": {
        "query": 'red "shirt"', "type": "best_fields", "fields": ["title^3", "brand"], "tie_breaker": 0.0,
        "operator": "or"}}}
    legacy = ElasticIndexSpec(dimension=3, text_fields={"title": 1.0}, bm25_similarity="LegacyBM25")
    assert backend(es, sleeps, spec=legacy).lexical("x", 5)[0].score == pytest.approx(4.4)


def test_knn_top_k_and_threshold_on_raw_similarity(es, sleeps):
    es.search_responder = respond({"a": 0.9, "b": 0.8})
    b = backend(es, sleeps, num_candidates=100)
    hits = b.knn(VEC, k=2)
    assert [h.score for h in hits] == [0.9, 0.8]
    assert es.searches()[-1]["knn"] == {"field": "embedding", "query_vector": [1.0, 0.0, 0.0], "k": 2,
                                        "num_candidates": 100}
    b.knn(VEC, min_score=0.8)
    knn = es.searches()[-1]["knn"]
    # engine cosinesimil score 0.8 → raw cosine 0.6 (NOT 0.8: similarity is not _score); k = num_candidates = 10000
    assert knn["similarity"] == pytest.approx(0.6) and knn["k"] == knn["num_candidates"] == 10000


def test_dot_product_scores_come_back_in_engine_space(es, sleeps):
    spec = ElasticIndexSpec(dimension=3, space_type="innerproduct", similarity="dot_product")
    es.search_responder = respond({"a": 0.75})
    # _score 0.75 = (1 + ip)/2 → ip 0.5 → innerproduct score ip + 1 = 1.5
    assert backend(es, sleeps, spec=spec).knn(VEC, k=1)[0].score == pytest.approx(1.5)


def test_hybrid_body_from_opensearch_pipeline_and_raw_scores(es, sleeps):
    es.search_responder = respond({"a": 0.9, "b": 0.4})
    b = backend(es, sleeps, rank_window_size=20)
    pipeline = {"phase_results_processors": [{"normalization-processor": {
        "normalization": {"technique": "min_max"},
        "combination": {"technique": "arithmetic_mean", "parameters": {"weights": [0.6, 0.4]}}}}]}
    hits = b.hybrid("red shirt", VEC, 10, pipeline)
    assert [h.id for h in hits] == ["a", "b"] and hits[0].score == 0.9
    hybrid_body, lexical_body, knn_body = es.searches()[-3:]
    linear = hybrid_body["retriever"]["linear"]
    assert [(r["weight"], r["normalizer"]) for r in linear["retrievers"]] == [(0.6, "minmax"), (0.4, "minmax")]
    assert linear["rank_window_size"] == 20
    assert linear["retrievers"][1]["retriever"]["knn"]["k"] == 20
    # raw scores for the hits: lexical with an ids filter, knn with the same ids as filter and k = len(ids)
    assert lexical_body["query"]["bool"]["filter"] == [{"ids": {"values": ["a", "b"]}}]
    assert knn_body["knn"]["filter"] == {"ids": {"values": ["a", "b"]}} and knn_body["knn"]["k"] == 2
    assert hits[0].scores["lexical"] == pytest.approx(0.9 / 2.2)
    rrf = b.hybrid_body("x", VEC, 50, {"rrf": {"retrievers": ["lexical", "dense"], "rank_constant": 10}})
    assert rrf["retriever"]["rrf"]["rank_window_size"] == 50  # raised to k (ES requires window ≥ size)


def test_retries_on_503_and_connection_errors_then_succeeds(es, sleeps):
    es.search_responder = respond({"a": 1.0})
    es.fault("POST", "/shop/_search", [503, "conn"])
    hits = backend(es, sleeps, max_retries=3).knn(VEC, k=1)
    assert [h.id for h in hits] == ["a"]
    # backoff 0.5·2^attempt × (1 − jitter 0.5 + 0.5 × draw 0): 0.5·1·0.5 = 0.25, then 0.5·2·0.5 = 0.5
    assert sleeps.calls == [0.25, 0.5]


def test_non_retryable_error_is_redacted(es, sleeps):
    secret = "s3cr3t-api-key"
    settings = ElasticsearchSettings(url="http://fake:9200", api_key=secret)
    es.fault("POST", "/shop/_search", [(401, f"unable to authenticate with provided credentials [ApiKey {secret}]")])
    b = backend(es, sleeps, settings=settings)
    with pytest.raises(ClusterError) as err:
        b.lexical("x", 1)
    assert "HTTP 401" in str(err.value) and secret not in str(err.value)
    assert sleeps.calls == []


def test_backend_from_index_reads_meta(es, sleeps):
    es.indices["shop-1"] = {"body": index_body(SPEC, model={"name": "m", "dimension": 3}), "docs": {}}
    es.aliases["shop"] = {"shop-1"}
    b = backend_from_index(es.client(), "shop")
    assert b.spec == SPEC and b.count() == 0
    es.indices["plain"] = {"body": {"mappings": {}}, "docs": {}}
    from mrs.errors import InputError

    with pytest.raises(InputError, match="not created by mrs"):
        backend_from_index(es.client(), "plain")


def test_weighted_rrf_pipeline_is_sent_with_per_retriever_weights(es, sleeps):
    es.search_responder = respond({"a": 0.03, "b": 0.02})
    b = backend(es, sleeps, rank_window_size=20)
    pipeline = {"phase_results_processors": [{"score-ranker-processor": {"combination": {
        "technique": "rrf", "rank_constant": 40, "parameters": {"weights": [0.7, 0.3]}}}}]}
    b.hybrid("red shirt", VEC, 10, pipeline)
    rrf = es.searches()[-3]["retriever"]["rrf"]
    assert rrf["rank_constant"] == 40 and [r["weight"] for r in rrf["retrievers"]] == [0.7, 0.3]
    assert "multi_match" in rrf["retrievers"][0]["retriever"]["standard"]["query"]
    assert rrf["retrievers"][1]["retriever"]["knn"]["k"] == 20


ATTR_SPEC = ElasticIndexSpec(dimension=3, text_fields={"title": 1.0},
                             attributes={"brand": "keyword", "in_stock": "boolean", "price": "numeric"})


def test_filters_go_into_every_sub_query_on_the_attr_fields(es, sleeps):
    es.search_responder = respond({"a": 0.9})
    b = backend(es, sleeps, spec=ATTR_SPEC, rank_window_size=10)
    where = [{"term": {"brand": "Acme"}}, {"range": {"price": {"lte": 60}}}]
    dsl = {"bool": {"filter": [{"term": {"attr.brand": "Acme"}}, {"range": {"attr.price": {"lte": 60.0}}}]}}
    b.lexical("red", 5, filter=where)
    assert es.searches()[-1]["query"]["bool"]["filter"] == [dsl]
    b.knn(VEC, k=3, filter=where)
    assert es.searches()[-1]["knn"]["filter"] == dsl
    b.hybrid("red", VEC, 5, filter=where)
    linear = es.searches()[-3]["retriever"]["linear"]["retrievers"]
    assert linear[0]["retriever"]["standard"]["query"]["bool"]["filter"] == [dsl]
    assert linear[1]["retriever"]["knn"]["filter"] == dsl
    from mrs.errors import InputError

    with pytest.raises(InputError, match="unknown field 'colour'"):
        b.lexical("red", 5, filter={"term": {"colour": "red"}})


def test_facets_are_terms_aggregations_read_back_in_the_engine_shape(es, sleeps):
    from fakes.query_dsl import matches, terms_aggregation

    es.indices["shop"] = {"body": index_body(ATTR_SPEC), "docs": {
        "a": {"attr": {"brand": ["Acme"], "in_stock": True, "price": 10.0}},
        "b": {"attr": {"brand": ["Bolt"], "in_stock": False, "price": 80.0}},
        "c": {"attr": {"brand": ["Acme"], "in_stock": False}}}}

    def aggregate(index, req, params):
        docs = es.indices[index]["docs"]
        flt = req["query"]["bool"]["filter"][0]
        matched = [d for i, d in docs.items() if matches(i, d, flt)]  # the fake's multi_match matches all
        return {n: terms_aggregation(matched, a["terms"]["field"], a["terms"]["size"]) for n, a in req["aggs"].items()}

    es.aggregation_responder = aggregate
    b = ElasticsearchBackend(es.client(), "shop", ATTR_SPEC, sleep=sleeps, rand=lambda: 0.0)
    out = b.facets("red", None, "lexical", ["brand", "in_stock"], k=10, size=1,
                   filter={"bool": {"must_not": [{"range": {"price": {"gt": 50}}}]}})
    # a (10.0) and c (no price) pass: brand Acme 2; in_stock true 1, false 1 → false first (key order), 1 other
    assert out == {"brand": {"buckets": [{"key": "Acme", "doc_count": 2}], "sum_other_doc_count": 0},
                   "in_stock": {"buckets": [{"key": False, "doc_count": 1}], "sum_other_doc_count": 1}}
    sent = es.searches()[-1]
    assert sent["size"] == 0 and sent["aggs"]["brand"] == {"terms": {"field": "attr.brand", "size": 1}}
