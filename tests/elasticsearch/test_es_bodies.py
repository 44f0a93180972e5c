"""Request bodies and the index body against the Elasticsearch reference docs.

Shapes checked (Elasticsearch reference, www.elastic.co/docs/reference/elasticsearch):
- "Dense vector field type": {"type": "dense_vector", "dims", "index": true, "similarity",
  "index_options": {"type": "hnsw" | "int8_hnsw" | "bbq_hnsw", "m", "ef_construction"}}; bbq needs dims ≥ 64.
- "Similarity module": index.similarity.<name> = {"type": "BM25", "k1", "b"}; a text field names it.
- "kNN search" / knn retriever: {"field", "query_vector", "k", "num_candidates", "similarity", "filter"},
  k ≤ num_candidates ≤ 10,000.
- "Retrievers": {"linear": {"retrievers": [{"retriever", "weight", "normalizer"}], "rank_window_size"}},
  {"rrf": {"retrievers": [...], "rank_constant", "rank_window_size"}}, {"standard": {"query"}}, {"knn": {...}}.
"""

from __future__ import annotations

import pytest

from mrs.elasticsearch import bodies
from mrs.elasticsearch.mapping import ElasticIndexSpec, index_body, spec_from_manifest
from mrs.engine.retriever import RetrieverSpec, SubRetriever
from mrs.errors import InputError
from mrs.opensearch.mapping import IndexSpec

SPEC = ElasticIndexSpec(dimension=3, text_fields={"title": 3.0, "brand": 1.0})


def test_index_body_dense_vector_and_bm25_similarity():
    body = index_body(SPEC, model={"name": "m", "sha256": "ab", "dimension": 3, "secret": "x"})
    props = body["mappings"]["properties"]
    assert props["embedding"] == {"type": "dense_vector", "dims": 3, "index": True, "similarity": "cosine",
                                  "index_options": {"type": "hnsw", "m": 16, "ef_construction": 100}}
    assert props["title"]["similarity"] == "mrs_bm25" and props["title"]["fields"]["keyword"]["type"] == "keyword"
    assert body["settings"]["index"]["similarity"] == {"mrs_bm25": {"type": "BM25", "k1": 1.2, "b": 0.75}}
    assert body["settings"]["index"]["number_of_shards"] == 1
    assert body["mappings"]["dynamic"] is False
    assert body["mappings"]["_meta"]["mrs"]["similarity"] == "cosine"
    assert body["mappings"]["_meta"]["mrs_model"] == {"name": "m", "sha256": "ab", "dimension": 3}
    assert props["product"] == {"type": "object", "enabled": False}


def test_spec_validation_and_variants():
    assert ElasticIndexSpec(dimension=3, space_type="l2").similarity == "l2_norm"
    assert ElasticIndexSpec(dimension=3, space_type="innerproduct").similarity == "max_inner_product"
    assert ElasticIndexSpec(dimension=3, similarity="dot_product").similarity == "dot_product"
    with pytest.raises(InputError, match="dims ≥ 64"):
        ElasticIndexSpec(dimension=32, index_type="bbq_hnsw")
    assert ElasticIndexSpec(dimension=384, index_type="bbq_hnsw").index_type == "bbq_hnsw"
    with pytest.raises(InputError):
        ElasticIndexSpec(dimension=3, index_type="flat_disk")
    with pytest.raises(InputError):
        ElasticIndexSpec(dimension=3, space_type="l2", similarity="cosine")
    # BM25 (Lucene ≥ 8) locally → ES score ×2.2; LegacyBM25 → identical
    assert SPEC.bm25_factor == pytest.approx(2.2)
    assert ElasticIndexSpec(dimension=3, bm25_similarity="LegacyBM25").bm25_factor == 1.0


def test_spec_from_embedded_manifest():
    manifest = {"model": {"dimension": 384}, "bm25": {"fields": {"title": 3.0}, "similarity": "LegacyBM25",
                                                      "k1": 0.9, "b": 0.4, "analyzer": "english"},
                "vectors": {"space_type": "l2", "m": 24, "ef_construction": 200}}
    spec = spec_from_manifest(manifest, index_type="int8_hnsw")
    assert (spec.dimension, spec.bm25_similarity, spec.k1, spec.b, spec.analyzer) == (384, "LegacyBM25", 0.9, 0.4,
                                                                                       "english")
    assert (spec.similarity, spec.m, spec.ef_construction, spec.index_type) == ("l2_norm", 24, 200, "int8_hnsw")
    assert ElasticIndexSpec.from_opensearch(IndexSpec(dimension=5)).dimension == 5


def test_knn_section_shape_and_limits():
    s = bodies.knn_section("embedding", [1, 0, 0], 10, similarity=0.6, filter={"term": {"brand": "acme"}})
    assert s == {"field": "embedding", "query_vector": [1.0, 0.0, 0.0], "k": 10, "num_candidates": 15,
                 "similarity": 0.6, "filter": {"term": {"brand": "acme"}}}
    assert bodies.knn_section("embedding", [1, 0], 10000)["num_candidates"] == 10000
    with pytest.raises(InputError, match="num_candidates"):
        bodies.knn_section("embedding", [1, 0], 10, 5)
    with pytest.raises(InputError, match="num_candidates"):
        bodies.knn_section("embedding", [1, 0], 10, 10001)
    with pytest.raises(InputError):
        bodies.knn_section("embedding", [float("nan"), 0], 10)


def test_hybrid_retriever_shapes():
    lexical = bodies.lexical_query("red shirt", {"title": 3.0})
    knn = bodies.knn_section("embedding", [1, 0, 0], 50, 75)
    linear = RetrieverSpec("linear", (SubRetriever("lexical", 0.7, "minmax"), SubRetriever("dense", 0.3, "minmax")),
                           50)
    body = bodies.search_request(10, retriever=bodies.hybrid_retriever(linear, lexical, knn))
    assert body == {"size": 10, "_source": False, "retriever": {"linear": {"retrievers": [
        {"retriever": {"standard": {"query": lexical}}, "weight": 0.7, "normalizer": "minmax"},
        {"retriever": {"knn": knn}, "weight": 0.3, "normalizer": "minmax"}], "rank_window_size": 50}}}
    rrf = RetrieverSpec("rrf", (SubRetriever("lexical"), SubRetriever("dense")), 50, 20)
    assert bodies.hybrid_retriever(rrf, lexical, knn) == {"rrf": {
        "retrievers": [{"standard": {"query": lexical}}, {"knn": knn}], "rank_window_size": 50, "rank_constant": 20}}
    assert lexical == {"multi_match": {"query": "red shirt", "type": "best_fields", "fields": ["title^3"],
                                       "tie_breaker": 0.0, "operator": "or"}}


def test_search_request_takes_exactly_one_of_query_knn_retriever():
    with pytest.raises(InputError, match="exactly one"):
        bodies.search_request(5, query={"match_all": {}}, knn={"field": "e"})
    with pytest.raises(InputError, match="exactly one"):
        bodies.search_request(5)
    assert bodies.search_request(5, query={"match_all": {}}, source=["title"])["_source"] == ["title"]
