"""Request bodies, mapping and pipeline bodies against the shapes in the OpenSearch documentation.

Pages (docs.opensearch.org): query-dsl/full-text/multi-match, vector-search/querying-data (approximate k-NN,
filter), vector-search/specialized-operations/radial-search, query-dsl/compound/hybrid,
api-reference/index-apis/alias, im-plugin/similarity, field-types/supported-field-types/knn-vector,
search-plugins/search-pipelines/normalization-processor, .../score-ranker-processor, .../explanation-processor.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from mrs.blending.deployment import deployment_from_dict as calibration_from_dict
from mrs.blending.deployment import read_deployment as read_calibration
from mrs.cluster.aliases import alias_swap_actions
from mrs.errors import InputError
from mrs.opensearch import bodies
from mrs.opensearch.mapping import IndexSpec, index_body, similarity_type_for_cluster, spec_from_manifest
from mrs.opensearch.pipelines import (
    check_pipeline,
    normalization_pipeline,
    rrf_pipeline,
)


def test_multi_match_best_fields_with_boosts():
    q = bodies.lexical_query('red "cotton"', {"title": 3.0, "brand": 2.0, "color": 1.0})
    assert q == {"multi_match": {"query": 'red "cotton"', "type": "best_fields",
                                 "fields": ["title^3", "brand^2", "color"], "tie_breaker": 0.0, "operator": "or"}}


def test_knn_query_k_radial_and_filter():
    v = np.array([0.5, -0.25], dtype=np.float32)
    assert bodies.knn_query("embedding", v, k=10) == {"knn": {"embedding": {"vector": [0.5, -0.25], "k": 10}}}
    radial = bodies.knn_query("embedding", v, min_score=0.82, filter={"term": {"brand.keyword": "Acme"}})
    assert radial == {"knn": {"embedding": {"vector": [0.5, -0.25], "min_score": 0.82,
                                            "filter": {"term": {"brand.keyword": "Acme"}}}}}
    assert bodies.knn_query("e", v, max_distance=2.0)["knn"]["e"]["max_distance"] == 2.0


@pytest.mark.parametrize("kwargs", [{}, {"k": 5, "min_score": 0.5}, {"min_score": 0.5, "max_distance": 1.0}])
def test_radial_search_takes_exactly_one_limit(kwargs):
    with pytest.raises(InputError, match="exactly one"):
        bodies.knn_query("embedding", [1.0, 0.0], **kwargs)


def test_vectors_travel_as_the_same_float32_values():
    rng = np.random.default_rng(0)
    v = rng.standard_normal(512).astype(np.float32) * np.float32(1e-3)
    sent = json.loads(json.dumps(bodies.vector_list(v)))
    assert np.array_equal(np.asarray(sent, dtype=np.float32), v)  # bit-exact after the cluster parses float32
    assert len(json.dumps(bodies.vector_list(v))) < len(json.dumps([float(x) for x in v]))


def test_knn_rejects_nan_vector():
    with pytest.raises(InputError, match="NaN"):
        bodies.knn_query("embedding", [float("nan"), 1.0], k=3)


def test_hybrid_query_shape_and_limits():
    lex = bodies.lexical_query("shirt", {"title": 1.0})
    dense = bodies.knn_query("embedding", [1.0, 0.0], k=100)
    assert bodies.hybrid_query([lex, dense], pagination_depth=100) == {
        "hybrid": {"queries": [lex, dense], "pagination_depth": 100}}
    with pytest.raises(InputError, match="1 to 5"):
        bodies.hybrid_query([lex] * 6)


def test_ids_filter_keeps_the_query_score():
    q = bodies.ids_filtered({"match_all": {}}, ["a", 7])
    # the ids clause sits in filter context: it restricts, it does not score
    assert q == {"bool": {"must": [{"match_all": {}}], "filter": [{"ids": {"values": ["a", "7"]}}]}}


def test_search_request_with_temporary_pipeline():
    body = bodies.search_request({"match_all": {}}, 10, search_pipeline={"phase_results_processors": []})
    assert body == {"size": 10, "query": {"match_all": {}}, "_source": False,
                    "search_pipeline": {"phase_results_processors": []}}


def test_alias_swap_is_one_atomic_request_removing_old_and_adding_new():
    body = alias_swap_actions("products", "products-2", ["products-1"])
    assert body == {"actions": [
        {"remove": {"index": "products-1", "alias": "products"}},
        {"add": {"index": "products-2", "alias": "products", "is_write_index": True}},
    ]}


def test_index_body_declares_similarity_knn_and_keyword_subfields():
    spec = IndexSpec(dimension=384, text_fields={"title": 3.0, "description": 1.0}, similarity="LegacyBM25",
                     k1=1.5, b=0.6, engine="faiss", m=24, ef_construction=200, ef_search=64)
    body = index_body(spec)
    settings = body["settings"]["index"]
    assert settings["knn"] is True and settings["knn.algo_param.ef_search"] == 64
    assert settings["similarity"] == {"mrs_bm25": {"type": "LegacyBM25", "k1": 1.5, "b": 0.6}}
    title = body["mappings"]["properties"]["title"]
    assert title["similarity"] == "mrs_bm25" and title["type"] == "text" and title["analyzer"] == "english"
    assert title["fields"]["keyword"]["type"] == "keyword"
    assert body["mappings"]["properties"]["embedding"] == {
        "type": "knn_vector", "dimension": 384,
        "method": {"name": "hnsw", "engine": "faiss", "space_type": "cosinesimil",
                   "parameters": {"m": 24, "ef_construction": 200}}}
    assert body["mappings"]["properties"]["product"] == {"type": "object", "enabled": False}
    assert body["mappings"]["_meta"]["mrs"]["text_fields"] == {"title": 3.0, "description": 1.0}
    json.dumps(body)  # plain JSON


def test_lucene_engine_has_no_faiss_ef_search_setting():
    body = index_body(IndexSpec(dimension=8, engine="lucene"))
    assert "knn.algo_param.ef_search" not in body["settings"]["index"]
    assert body["mappings"]["properties"]["embedding"]["method"]["engine"] == "lucene"


def test_similarity_on_an_opensearch_2_cluster():
    # 2.x's type "BM25" is Lucene's LegacyBM25Similarity (× (k1 + 1)); 3.x names it LegacyBM25.
    assert similarity_type_for_cluster("LegacyBM25", 2) == "BM25"
    assert similarity_type_for_cluster("LegacyBM25", 3) == "LegacyBM25"
    assert similarity_type_for_cluster("BM25", None) == "BM25"
    with pytest.raises(InputError, match="LegacyBM25"):
        similarity_type_for_cluster("BM25", 2)


@pytest.mark.parametrize("bad", [{"similarity": "TFIDF"}, {"engine": "nmslib"}, {"space_type": "hamming"},
                                 {"dimension": 0}, {"b": 1.5}, {"text_fields": {}}])
def test_index_spec_rejects_bad_settings(bad):
    with pytest.raises(InputError):
        IndexSpec(**{"dimension": 4, **bad})


def test_spec_from_embedded_manifest():
    manifest = {"model": {"dimension": 384}, "vectors": {"space_type": "innerproduct", "m": 32,
                                                         "ef_construction": 100, "ef_search": 50},
                "bm25": {"fields": {"title": 3.0}, "analyzer": {"name": "english", "max_token_length": 255},
                         "similarity": "LegacyBM25", "k1": 1.2, "b": 0.75}}
    spec = spec_from_manifest(manifest, engine="lucene")
    assert (spec.dimension, spec.space_type, spec.m, spec.analyzer, spec.similarity, spec.engine) == (
        384, "innerproduct", 32, "english", "LegacyBM25", "lucene")


def test_normalization_pipeline_matches_documented_shape():
    body = normalization_pipeline("min_max", "arithmetic_mean", [0.3, 0.7],
                                  lower_bounds=[{"mode": "apply", "min_score": 0.5}, None])
    assert body["phase_results_processors"] == [{"normalization-processor": {
        "normalization": {"technique": "min_max",
                          "parameters": {"lower_bounds": [{"mode": "apply", "min_score": 0.5}, {"mode": "ignore"}]}},
        "combination": {"technique": "arithmetic_mean", "parameters": {"weights": [0.3, 0.7]}},
    }}]
    assert body["response_processors"] == [{"hybrid_score_explanation": {}}]


@pytest.mark.parametrize("args,match", [
    (("z_score", "geometric_mean", [0.5, 0.5]), "z_score"),
    (("min_max", "arithmetic_mean", [0.5, 0.6]), "sum to 1"),
    (("min_max", "arithmetic_mean", [1.5, -0.5]), r"\[0, 1\]"),
    (("softmax", "arithmetic_mean", [0.5, 0.5]), "technique"),
])
def test_normalization_pipeline_rejects_what_opensearch_rejects(args, match):
    with pytest.raises(InputError, match=match):
        normalization_pipeline(*args)


def test_lower_bounds_only_with_min_max_and_within_limits():
    with pytest.raises(InputError, match="min_max"):
        normalization_pipeline("l2", "arithmetic_mean", [0.5, 0.5], lower_bounds=[None, None])
    with pytest.raises(InputError, match="10000"):
        normalization_pipeline("min_max", "arithmetic_mean", [0.5, 0.5],
                               lower_bounds=[{"mode": "clip", "min_score": 20000}, None])


def test_rrf_pipeline_shape():
    body = rrf_pipeline([0.7, 0.3], rank_constant=40)
    assert body["phase_results_processors"] == [{"score-ranker-processor": {"combination": {
        "technique": "rrf", "rank_constant": 40, "parameters": {"weights": [0.7, 0.3]}}}}]
    with pytest.raises(InputError, match="rank_constant"):
        rrf_pipeline(rank_constant=0)


def test_rendered_pipelines_are_accepted_by_the_embedded_engine():
    """The same pipeline file drives offline eval: the engine's parser must accept what we deploy."""
    parse = pytest.importorskip("mrs.engine.pipeline").parse_pipeline
    for body in (normalization_pipeline("min_max", "arithmetic_mean", [0.6, 0.4],
                                        lower_bounds=[{"mode": "clip", "min_score": 0.0}, None]),
                 normalization_pipeline("z_score", "arithmetic_mean", [0.5, 0.5]),
                 rrf_pipeline([0.5, 0.5], 60)):
        parse(body, 2)


def test_calibration_defaults_when_keys_are_missing(tmp_path):
    cal = calibration_from_dict({})
    assert cal.pipeline["phase_results_processors"][0]["normalization-processor"]["combination"] == {
        "technique": "arithmetic_mean", "parameters": {"weights": [0.7, 0.3]}}
    assert cal.thresholds == {} and cal.subqueries == ["lexical", "dense"]
    assert read_calibration(None).pipeline == cal.pipeline


def test_calibration_reads_thresholds_and_pipeline(tmp_path):
    data = {"format": "mrs-calibration/1", "model": {"dimension": 8},
            "index": {"space_type": "cosinesimil", "similarity": "BM25"},
            "thresholds": {"dense": {"exact": {"threshold": 0.82, "precision": 0.9},
                                     "substitute": {"threshold": 0.74}, "broken": {"threshold": None}}},
            "blend": {"subqueries": ["lexical", "dense"],
                      "pipeline": normalization_pipeline("l2", "harmonic_mean", [0.4, 0.6])}}
    path = tmp_path / "calibration.json"
    path.write_text(json.dumps(data))
    cal = read_calibration(path)
    assert cal.thresholds == {"exact": 0.82, "substitute": 0.74}
    assert cal.threshold("exact") == 0.82 and cal.dimension == 8
    with pytest.raises(InputError, match="calibrated: exact, substitute"):
        cal.threshold("complement")


def test_calibration_errors_name_the_file(tmp_path):
    bad = tmp_path / "cal.json"
    bad.write_text('{"blend": \n {"pipeline": {"phase_results_processors": [{"rerank": {}}]}}}')
    with pytest.raises(InputError, match="cal.json.*rerank"):
        read_calibration(bad)
    broken = tmp_path / "broken.json"
    broken.write_text('{\n"a": 1,\n}')
    with pytest.raises(InputError, match=r"broken.json:3"):
        read_calibration(broken)


def test_check_pipeline_rejects_two_processors():
    body = normalization_pipeline()
    body["phase_results_processors"].append({"score-ranker-processor": {}})
    with pytest.raises(InputError, match="exactly one"):
        check_pipeline(body)


def test_check_pipeline_validates_upper_bounds():
    # OpenSearch's min_max upper_bounds: one per sub-query, mode apply|clip|ignore, max_score in [-10000, 10000]
    def body(upper, technique="min_max"):
        return {"phase_results_processors": [{"normalization-processor": {
            "normalization": {"technique": technique, "parameters": {"upper_bounds": upper}},
            "combination": {"technique": "arithmetic_mean", "parameters": {"weights": [0.5, 0.5]}}}}]}

    good = body([{"mode": "clip", "max_score": 0.9}, {"mode": "ignore"}])
    assert check_pipeline(good, 2) == good
    with pytest.raises(InputError, match="10000"):
        check_pipeline(body([{"mode": "apply", "max_score": 10000.5}, {"mode": "ignore"}]), 2)
    with pytest.raises(InputError, match="floor"):
        check_pipeline(body([{"mode": "floor", "max_score": 0.5}, {"mode": "ignore"}]), 2)
    with pytest.raises(InputError, match="3 upper_bounds for 2 sub-queries"):
        check_pipeline(body([{"mode": "ignore"}] * 3), 2)
    with pytest.raises(InputError, match="min_max"):
        check_pipeline(body([{"mode": "ignore"}] * 2, technique="l2"), 2)
    # the rendered body carries the bounds as given (max_score defaults to OpenSearch's 1.0 when omitted)
    rendered = normalization_pipeline("min_max", "arithmetic_mean", [0.5, 0.5],
                                      upper_bounds=[{"mode": "apply"}, None])
    bounds = rendered["phase_results_processors"][0]["normalization-processor"]["normalization"]["parameters"]
    assert bounds == {"upper_bounds": [{"mode": "apply", "max_score": 1.0}, {"mode": "ignore"}]}
