"""The embedded reproduction of Elasticsearch's linear and rrf retrievers (mrs.engine.retriever_combine), checked
against hand-computed numbers, and selectable in the engine's hybrid search by a retriever JSON body.

Reference: Elasticsearch "Linear retriever" / "RRF retriever" docs and x-pack rank-rrf's MinMaxScoreNormalizer,
L2ScoreNormalizer and LinearRetrieverBuilder.combineInnerRetrieverResults."""

from __future__ import annotations

import numpy as np
import pytest

from mrs.engine.pipeline import parse_pipeline
from mrs.engine.retriever import RetrieverSpec, SubRetriever, default_linear, parse_retriever, retriever_body
from mrs.engine.retriever_combine import combine_retriever
from mrs.engine.techniques.l2 import l2_norm
from mrs.engine.techniques.min_max import minmax
from mrs.engine.techniques.rrf import rrf_scores
from mrs.engine.translation import linear_from_pipeline
from mrs.errors import InputError

RESULTS = {"lexical": (["a", "b", "c"], [3.0, 1.0, 2.0]), "dense": (["b", "d"], [0.9, 0.7])}


def test_minmax_by_hand():
    # min 1, max 3: (3−1)/2 = 1, (1−1)/2 = 0, (2−1)/2 = 0.5 — the lowest keeps 0 (OpenSearch would give 0.001)
    assert minmax([3.0, 1.0, 2.0]).tolist() == [1.0, 0.0, 0.5]


def test_minmax_all_equal_and_single_give_one():
    # |max − min| < 1e-6 → every doc gets 1.0 (MinMaxScoreNormalizer: "assign every doc the max normalized score")
    assert minmax([2.0, 2.0]).tolist() == [1.0, 1.0]
    assert minmax([5.0]).tolist() == [1.0]
    assert minmax([1.0, 1.0 + 5e-7]).tolist() == [1.0, 1.0]
    assert minmax([]).size == 0


def test_l2_norm_by_hand():
    # sqrt(3² + 4²) = 5 → 3/5, 4/5
    assert l2_norm([3.0, 4.0]) == pytest.approx([0.6, 0.8])
    # norm < 1e-6 → scores unchanged
    assert l2_norm([0.0, 0.0]).tolist() == [0.0, 0.0]


def test_rrf_scores_float_no_rounding():
    assert rrf_scores(2, 60) == pytest.approx([1 / 61, 1 / 62])


def test_linear_weighted_sum_missing_docs_add_nothing():
    spec = RetrieverSpec("linear", (SubRetriever("lexical", 0.7, "minmax"), SubRetriever("dense", 0.3, "minmax")),
                         rank_window_size=10)
    hits = combine_retriever(RESULTS, spec, size=10)
    # lexical minmax: a 1, b 0, c 0.5; dense minmax: b (0.9−0.7)/0.2 = 1, d 0
    # a = 0.7·1 = 0.7; c = 0.7·0.5 = 0.35; b = 0.7·0 + 0.3·1 = 0.3; d = 0.3·0 = 0 (missing from lexical: no term)
    assert [h.id for h in hits] == ["a", "c", "b", "d"]
    assert [h.score for h in hits] == pytest.approx([0.7, 0.35, 0.3, 0.0])
    assert hits[0].raw == {"lexical": 3.0, "dense": None}
    assert hits[2].normalized == pytest.approx({"lexical": 0.0, "dense": 1.0})


def test_linear_is_a_sum_not_a_mean():
    # weights 2 and 1 (ES allows any w ≥ 0): b = 2·0 + 1·1 = 1; a = 2·1 = 2 — no division by Σw = 3
    spec = RetrieverSpec("linear", (SubRetriever("lexical", 2.0, "minmax"), SubRetriever("dense", 1.0, "minmax")), 10)
    hits = {h.id: h.score for h in combine_retriever(RESULTS, spec, 10)}
    assert hits["a"] == pytest.approx(2.0) and hits["b"] == pytest.approx(1.0)


def test_linear_l2_norm_and_none():
    spec = RetrieverSpec("linear", (SubRetriever("lexical", 1.0, "l2_norm"), SubRetriever("dense", 1.0, "none")), 10)
    hits = {h.id: h.score for h in combine_retriever(RESULTS, spec, 10)}
    # lexical l2: norm sqrt(9 + 1 + 4) = sqrt(14) = 3.7417; b = 1/3.7417 + 0.9 (raw dense) = 0.2673 + 0.9
    assert hits["b"] == pytest.approx(1 / np.sqrt(14) + 0.9, rel=1e-6)
    assert hits["a"] == pytest.approx(3 / np.sqrt(14), rel=1e-6)
    assert hits["d"] == pytest.approx(0.7)


def test_min_score_and_rank_window_size():
    spec = RetrieverSpec("linear", (SubRetriever("lexical", 0.7, "minmax"), SubRetriever("dense", 0.3, "minmax")),
                         10, min_score=0.3)
    assert [h.id for h in combine_retriever(RESULTS, spec, 10)] == ["a", "c", "b"]  # d (0.0) dropped
    # window 2: lexical top-2 = a 3, c 2 → a 1, c 0; dense b 1, d 0 → a .7, b .3, c 0, d 0 → top 2
    small = RetrieverSpec("linear", spec.subretrievers, 2)
    hits = combine_retriever(RESULTS, small, 2)
    assert [(h.id, round(h.score, 6)) for h in hits] == [("a", 0.7), ("b", 0.3)]
    with pytest.raises(InputError, match="rank_window_size"):
        combine_retriever(RESULTS, small, 3)


def test_rrf_by_hand():
    spec = RetrieverSpec("rrf", (SubRetriever("lexical"), SubRetriever("dense")), 10, rank_constant=60)
    hits = combine_retriever(RESULTS, spec, 10)
    # lexical ranks a 1, c 2, b 3; dense b 1, d 2 → b = 1/63 + 1/61; a = 1/61; c = d = 1/62 (tie → id asc)
    assert [h.id for h in hits] == ["b", "a", "c", "d"]
    assert hits[0].score == pytest.approx(1 / 63 + 1 / 61, rel=1e-6)
    assert hits[2].score == pytest.approx(1 / 62, rel=1e-6)


def test_parse_real_es_body_and_names():
    body = {"retriever": {"linear": {"retrievers": [
        {"retriever": {"standard": {"query": {"match_all": {}}}}, "weight": 0.6, "normalizer": "minmax"},
        {"retriever": {"knn": {"field": "embedding", "query_vector": [1, 0], "k": 5, "num_candidates": 10}},
         "weight": 0.4, "normalizer": "l2_norm"}], "rank_window_size": 50}}}
    spec = parse_retriever(body)
    assert spec.method == "linear" and spec.rank_window_size == 50
    assert spec.subretrievers == (SubRetriever("lexical", 0.6, "minmax"), SubRetriever("dense", 0.4, "l2_norm"))
    assert parse_retriever(retriever_body(spec)) == spec
    rrf = parse_retriever({"rrf": {"retrievers": ["lexical", "dense"], "rank_constant": 20, "rank_window_size": 30}})
    assert rrf.rank_constant == 20 and rrf.kinds() == ["lexical", "dense"]
    top = parse_retriever({"linear": {"retrievers": [{"retriever": "lexical"}, {"retriever": "dense"}],
                                      "normalizer": "minmax"}})
    assert [s.normalizer for s in top.subretrievers] == ["minmax", "minmax"]  # top-level normalizer default
    assert [s.weight for s in top.subretrievers] == [1.0, 1.0] and top.rank_window_size == 10


@pytest.mark.parametrize("body, message", [
    ({"linear": {"retrievers": [{"retriever": "lexical", "weight": -1}]}}, "non-negative"),
    ({"linear": {"retrievers": [{"retriever": "lexical", "normalizer": "z_score"}]}}, "unknown normalizer"),
    ({"linear": {"retrievers": []}}, "non-empty"),
    ({"linear": {"retrievers": [{"retriever": {"text_similarity_reranker": {}}}]}}, "not supported"),
    ({"rrf": {"retrievers": ["lexical"], "rank_constant": 0}}, "rank_constant"),
    ({"linear": {"retrievers": ["lexical"], "bogus": 1}}, "unknown field"),
])
def test_parse_rejects(body, message):
    with pytest.raises(InputError, match=message):
        parse_retriever(body)


def test_linear_from_opensearch_pipeline():
    p = parse_pipeline({"phase_results_processors": [{"normalization-processor": {
        "normalization": {"technique": "l2"},
        "combination": {"technique": "arithmetic_mean", "parameters": {"weights": [0.4, 0.6]}}}}]})
    spec = linear_from_pipeline(p, 100)
    assert spec.subretrievers == (SubRetriever("lexical", 0.4, "l2_norm"), SubRetriever("dense", 0.6, "l2_norm"))
    with pytest.raises(InputError, match="z_score"):
        linear_from_pipeline({"phase_results_processors": [{"normalization-processor": {
            "normalization": {"technique": "z_score"}, "combination": {"technique": "arithmetic_mean"}}}]}, 10)
    with pytest.raises(InputError, match="geometric_mean"):
        linear_from_pipeline({"phase_results_processors": [{"normalization-processor": {
            "normalization": {"technique": "min_max"}, "combination": {"technique": "geometric_mean"}}}]}, 10)
    rrf = linear_from_pipeline({"phase_results_processors": [{"score-ranker-processor": {
        "combination": {"technique": "rrf", "rank_constant": 40}}}]}, 10)
    assert rrf.method == "rrf" and rrf.rank_constant == 40
    assert default_linear(100).subretrievers[0] == SubRetriever("lexical", 0.7, "minmax")


class TinyEncoder:
    """2-d unit vectors: 'red' words lean on axis 0, others on axis 1."""

    backend = "torch"
    normalize = True
    space_type = "cosinesimil"
    dimension = 2
    identity = {"name": "tiny", "sha256": "0" * 64}

    def encode(self, texts, progress=None):
        out = []
        for t in texts:
            v = np.array([1.0 + t.lower().count("red"), 1.0 + t.lower().count("blue")], dtype=np.float32)
            out.append(v / np.linalg.norm(v))
        if progress:
            progress(len(texts))
        return np.stack(out)

    def encode_query(self, text):
        return self.encode([text])[0]


def test_engine_hybrid_accepts_a_retriever_body(tmp_path):
    from mrs.data.catalog import Product
    from mrs.engine.engine import EmbeddedEngine

    products = [Product(id=f"p{i}", fields={"title": t}) for i, t in
                enumerate(["red shirt", "blue shirt", "red red dress", "green hat", "blue red scarf"])]
    EmbeddedEngine.build(tmp_path / "idx", products, encoder=TinyEncoder(), fields={"title": 1.0})
    engine = EmbeddedEngine.open(tmp_path / "idx")
    vec = TinyEncoder().encode_query("red shirt")
    body = {"linear": {"retrievers": [{"retriever": "lexical", "weight": 0.7, "normalizer": "minmax"},
                                      {"retriever": "dense", "weight": 0.3, "normalizer": "minmax"}],
                       "rank_window_size": 5}}
    hits = engine.hybrid("red shirt", vec, 5, body)
    # the same numbers from the engine's own sub-query results through combine_retriever
    lex = engine.lexical("red shirt", 5)
    dense = engine.knn(vec, 5)
    expected = combine_retriever({"lexical": ([h.id for h in lex], [h.score for h in lex]),
                                  "dense": ([h.id for h in dense], [h.score for h in dense])},
                                 parse_retriever(body), 5)
    assert [(h.id, h.score) for h in hits] == [(e.id, e.score) for e in expected]
    assert hits[0].id == "p0"  # "red shirt" matches both terms and the red direction
    assert hits[0].normalized["lexical"] == 1.0
    missing = [h for h in hits if h.scores["lexical"] is None]
    assert all(h.score == pytest.approx(0.3 * h.normalized["dense"]) for h in missing)


def test_weighted_rrf_by_hand_and_round_trip():
    # Elasticsearch ≥ 9.2: score += weight · (1f / (k + rank)); lexical a 1, c 2, b 3; dense b 1, d 2
    body = {"rrf": {"retrievers": [{"retriever": "lexical", "weight": 2.0}, {"retriever": "dense", "weight": 0.5}],
                    "rank_constant": 60, "rank_window_size": 10}}
    spec = parse_retriever(body)
    assert [s.weight for s in spec.subretrievers] == [2.0, 0.5]
    hits = {h.id: h.score for h in combine_retriever(RESULTS, spec, 10)}
    f = np.float32
    assert hits["a"] == f(f(2.0) * f(f(1) / f(61)))  # 2/61 = 0.0327869
    assert hits["b"] == f(f(f(2.0) * f(f(1) / f(63))) + f(f(0.5) * f(f(1) / f(61))))  # 2/63 + 0.5/61
    assert hits["d"] == f(f(0.5) * f(f(1) / f(62)))
    assert retriever_body(spec) == body  # weighted format written back
    # all weights 1.0: the plain format any rrf retriever version reads
    plain = RetrieverSpec("rrf", (SubRetriever("lexical"), SubRetriever("dense")), 10)
    assert retriever_body(plain)["rrf"]["retrievers"] == ["lexical", "dense"]
    with pytest.raises(InputError, match="non-negative"):
        parse_retriever({"rrf": {"retrievers": [{"retriever": "lexical", "weight": -1}]}})


def test_rrf_pipeline_weights_become_retriever_weights():
    rrf = linear_from_pipeline({"phase_results_processors": [{"score-ranker-processor": {
        "combination": {"technique": "rrf", "rank_constant": 20, "parameters": {"weights": [0.7, 0.3]}}}}]}, 10)
    assert rrf.subretrievers == (SubRetriever("lexical", 0.7), SubRetriever("dense", 0.3))
    with pytest.raises(InputError, match="no lower/upper score bounds"):
        linear_from_pipeline({"phase_results_processors": [{"normalization-processor": {
            "normalization": {"technique": "min_max", "parameters": {
                "lower_bounds": [{"mode": "apply", "min_score": 0.0}, {"mode": "clip", "min_score": 0.7}]}},
            "combination": {"technique": "arithmetic_mean", "parameters": {"weights": [0.5, 0.5]}}}}]}, 10)


def test_ties_follow_doc_ids_when_given():
    # c and d tie at 1/62 (rrf); with doc ids d (doc 3) precedes c (doc 8) — Elasticsearch's RankDoc order
    results = {"lexical": (["a", "c", "b"], [3.0, 2.0, 1.0], [0, 8, 5]), "dense": (["b", "d"], [0.9, 0.7], [5, 3])}
    spec = RetrieverSpec("rrf", (SubRetriever("lexical"), SubRetriever("dense")), 10)
    assert [h.id for h in combine_retriever(results, spec, 10)] == ["b", "a", "d", "c"]


def test_engine_hybrid_ties_follow_index_order_not_id(tmp_path):
    from mrs.data.catalog import Product
    from mrs.engine.engine import EmbeddedEngine

    # two identical products (same BM25, same vector: every blend ties them); "z-twin" is indexed first
    products = [Product(id=i, fields={"title": t}) for i, t in
                [("z-twin", "red shirt"), ("a-twin", "red shirt"), ("m", "blue shirt"), ("q", "green hat")]]
    EmbeddedEngine.build(tmp_path / "idx", products, encoder=TinyEncoder(), fields={"title": 1.0})
    engine = EmbeddedEngine.open(tmp_path / "idx")
    vec = TinyEncoder().encode_query("red shirt")
    linear = {"linear": {"retrievers": [{"retriever": "lexical", "weight": 0.5, "normalizer": "minmax"},
                                        {"retriever": "dense", "weight": 0.5, "normalizer": "minmax"}],
                         "rank_window_size": 4}}
    for blend in (None, linear):  # OpenSearch min_max 0.7/0.3 and Elasticsearch linear: both twins score 1.0
        hits = engine.hybrid("red shirt", vec, 4, blend)
        assert [h.id for h in hits[:2]] == ["z-twin", "a-twin"], blend


def test_engine_hybrid_is_told_the_semantics(tmp_path):
    from mrs.data.catalog import Product
    from mrs.engine.engine import EmbeddedEngine

    products = [Product(id=f"p{i}", fields={"title": t}) for i, t in
                enumerate(["red shirt", "blue shirt", "red red dress", "green hat"])]
    EmbeddedEngine.build(tmp_path / "idx", products, encoder=TinyEncoder(), fields={"title": 1.0})
    engine = EmbeddedEngine.open(tmp_path / "idx")
    vec = TinyEncoder().encode_query("red shirt")
    body = {"linear": {"retrievers": [{"retriever": "lexical", "weight": 0.7, "normalizer": "minmax"},
                                      {"retriever": "dense", "weight": 0.3, "normalizer": "minmax"}],
                       "rank_window_size": 4}}
    told = engine.hybrid("red shirt", vec, 4, body, semantics="elasticsearch")
    assert [(h.id, h.score) for h in told] == [(h.id, h.score) for h in engine.hybrid("red shirt", vec, 4, body)]
    # no body + Elasticsearch semantics: the default linear retriever (minmax, lexical 0.7 / dense 0.3)
    default = engine.hybrid("red shirt", vec, 4, semantics="elasticsearch")
    lex, dense = engine.lexical("red shirt", 100), engine.knn(vec, 100)
    expected = combine_retriever({"lexical": ([h.id for h in lex], [h.score for h in lex]),
                                  "dense": ([h.id for h in dense], [h.score for h in dense])}, default_linear(), 4)
    assert [(h.id, h.score) for h in default] == [(e.id, e.score) for e in expected]
    with pytest.raises(InputError, match="OpenSearch takes a search-pipeline body"):
        engine.hybrid("red shirt", vec, 4, body, semantics="opensearch")
