"""Blend search: the fast numpy path equals the engine's hybrid.combine, and the search finds the known best."""

from __future__ import annotations

import numpy as np
import pytest

from mrs.blending.candidates import QueryCandidates
from mrs.blending.grid import (
    BlendConfig,
    Normalization,
    blend_query,
    combine_batch,
    default_config,
    normalization_variants,
    rrf_config,
    search_blends,
    verify_with_engine,
    weight_grid,
)
from mrs.blending.objective import parse_metric
from mrs.engine.pipeline import parse_pipeline
from mrs.engine.techniques.arithmetic_mean import arithmetic_mean
from mrs.engine.techniques.geometric_mean import geometric_mean
from mrs.engine.techniques.harmonic_mean import harmonic_mean
from mrs.engine.techniques.min_max import ScoreBound as Bound
from mrs.indexer.backend import SUBQUERY_DENSE, SUBQUERY_LEXICAL


def test_weight_grid_steps_of_a_tenth():
    w2 = weight_grid(2)
    assert w2.shape == (11, 2) and np.allclose(w2.sum(axis=1), 1.0)
    assert [0.3, 0.7] in w2.tolist()
    assert weight_grid(3).shape == (66, 3)  # compositions of 10 into 3 parts: C(12, 2)


def test_combine_batch_hand_computed_missing_doc_semantics():
    # doc A: lexical 0.5, dense 1.0; doc B: lexical 0.2, missing from dense; weights (0.7, 0.3)
    norm = np.array([[0.5, 0.2], [1.0, np.nan]])
    w = np.array([[0.7, 0.3]])
    # arithmetic: A = 0.7·0.5 + 0.3·1.0 = 0.65; B = 0.7·0.2 + 0.3·0 = 0.14 (missing counts 0, weight kept)
    np.testing.assert_allclose(combine_batch(norm, w, "arithmetic_mean")[0], [0.65, 0.14], rtol=1e-6)
    # geometric: A = exp((0.7 ln 0.5 + 0.3 ln 1)/1) = 0.5^0.7 = 0.615572; B over present only = 0.2
    np.testing.assert_allclose(combine_batch(norm, w, "geometric_mean")[0], [0.5 ** 0.7, 0.2], rtol=1e-6)
    # harmonic: A = 1 / (0.7/0.5 + 0.3/1) = 1/1.7 = 0.588235; B = 0.7 / (0.7/0.2) = 0.2
    np.testing.assert_allclose(combine_batch(norm, w, "harmonic_mean")[0], [1 / 1.7, 0.2], rtol=1e-6)


@pytest.mark.parametrize("combo,fn", [("arithmetic_mean", arithmetic_mean), ("geometric_mean", geometric_mean),
                                      ("harmonic_mean", harmonic_mean)])
def test_combine_batch_equals_engine_combination_for_three_subqueries(combo, fn):
    rng = np.random.default_rng(5)
    norm = rng.uniform(0.001, 1, (3, 40))
    norm[rng.random((3, 40)) < 0.3] = np.nan
    weights = weight_grid(3)
    batch = combine_batch(norm, weights, combo)
    for j, w in enumerate(weights):
        np.testing.assert_allclose(batch[j], fn(norm.T, list(w)), rtol=2e-6, atol=1e-7)


def _random_candidates(n_queries: int, names=("lexical", "dense"), seed: int = 0, qrels_out: dict | None = None):
    rng = np.random.default_rng(seed)
    out = []
    for q in range(n_queries):
        pool = [f"p{i}" for i in range(30)]
        qrels = {p: int(rng.integers(0, 4)) for p in rng.choice(pool, 15, replace=False)}
        lists = {}
        for name in names:
            ids = list(rng.choice(pool, 12, replace=False))
            scores = np.sort(rng.uniform(0.5, 1.0, 12) if name == "dense" else rng.uniform(0.5, 20, 12))[::-1]
            lists[name] = (ids, scores.astype(np.float32).tolist())
        out.append(QueryCandidates.from_lists(f"q{q}", lists, qrels))
        if qrels_out is not None:
            qrels_out[f"q{q}"] = qrels
    return out


@pytest.mark.parametrize("names", [("lexical", "dense"), ("title", "lexical", "dense")])
def test_fast_path_ranks_exactly_as_engine_combine_for_every_family(names):
    cands = _random_candidates(6, names, seed=len(names))
    variants = normalization_variants(names, {"exact": 0.8, "substitute": 0.7})
    assert any(v.lower_bounds for v in variants)
    weights = weight_grid(len(names))[[1, len(weight_grid(len(names))) // 2, -2]]
    for norm in variants:
        combos = ("arithmetic_mean",) if norm.technique == "z_score" else ("arithmetic_mean", "geometric_mean",
                                                                           "harmonic_mean")
        for combo in combos:
            for w in weights:
                cfg = BlendConfig(norm, combo, tuple(float(x) for x in w))
                parse_pipeline(cfg.pipeline_body(), n_subqueries=len(names))  # deployable as is
                assert verify_with_engine(cands, cfg, depth=10), cfg.name
    for rc in (1, 60):
        assert verify_with_engine(cands, BlendConfig(None, "rrf", tuple(float(x) for x in weights[1]), rc))


def _known_case() -> list[QueryCandidates]:
    # One query, one relevant product d (grade 3). Normalized by min_max:
    #   lexical: c 10 → 1, d 5.5 → 0.55, f 0 → 0.001;  dense: e 0.9 → 1, d 0.765 → (0.765−0.6)/0.3 = 0.55, g 0.6 → 0.001
    # arithmetic_mean with lexical weight w: d = 0.55w + 0.55(1−w) = 0.55, c = w, e = 1 − w
    # → d ranks first only when w < 0.55 and 1 − w < 0.55, i.e. w = 0.5 on the 0.1 grid.
    lists = {"lexical": (["c", "d", "f"], [10.0, 5.5, 0.0]), "dense": (["e", "d", "g"], [0.9, 0.765, 0.6])}
    return [QueryCandidates.from_lists("q", lists, {"d": 3, "c": 0, "e": 0})]


def test_search_picks_the_known_best_blend():
    cands = _known_case()
    result = search_blends(cands, cands, parse_metric("ndcg@1"))
    # the first (simplest) family reaching the optimum, at the only weight that works
    assert result.best.config.name == "min_max+arithmetic_mean w=[0.5,0.5]"
    assert result.best.train == pytest.approx(1.0) and result.best.dev == pytest.approx(1.0)
    curve = result.curves(max_families=50)["min_max+arithmetic_mean"]
    assert curve[1] == [0.0] * 5 + [1.0] + [0.0] * 5  # metric vs dense weight 0.0 … 1.0
    # default 0.7/0.3: c = 0.7 > d = 0.55 → nDCG@1 = 0
    assert result.default.train == 0.0
    # RRF k=60 equal weights: d = 0.5/62 + 0.5/62 = 0.016129 > c = e = 0.5/61 = 0.008197 → 1.0
    assert result.rrf.config == rrf_config(("lexical", "dense")) and result.rrf.train == pytest.approx(1.0)
    # the chosen blend deploys as an OpenSearch pipeline the engine accepts
    p = parse_pipeline(result.best.config.pipeline_body())
    assert (p.normalization, p.combination, p.weights) == ("min_max", "arithmetic_mean", (0.5, 0.5))


def test_lower_bound_pipeline_body_round_trips():
    cfg = BlendConfig(Normalization("min_max", (Bound("ignore"), Bound("apply", 0.81)), "dense≥exact"),
                      "arithmetic_mean", (0.4, 0.6))
    body = cfg.pipeline_body()
    bounds = body["phase_results_processors"][0]["normalization-processor"]["normalization"]["parameters"]
    assert bounds == {"lower_bounds": [{"mode": "ignore"}, {"mode": "apply", "min_score": 0.81}]}
    p = parse_pipeline(body)
    assert p.lower_bounds[1].mode == "apply" and p.lower_bounds[1].score == pytest.approx(0.81)


def test_grid_scores_agree_with_engine_ranking_plus_ranx_metric_on_random_queries():
    from ranx import Qrels, Run, evaluate

    from mrs.blending.grid import blend_query

    qrels: dict = {}
    cands = _random_candidates(8, seed=11, qrels_out=qrels)  # judged products retrieved or not
    result = search_blends(cands, [], parse_metric("ndcg@10"), {"exact": 0.8})
    assert result.n_train == 8 and result.best.dev is None
    rng = np.random.default_rng(0)
    picks = [result.scores[i] for i in rng.choice(len(result.scores), 12, replace=False)] + [result.best]
    for cs in picks:
        run = {}
        for qc in cands:
            hits = blend_query(qc, cs.config)
            run[qc.query_id] = {h.id: float(len(hits) - i) for i, h in enumerate(hits)}  # rank-preserving scores
        expected = float(evaluate(Qrels(qrels), Run(run), "ndcg@10"))
        assert cs.train == pytest.approx(expected, abs=1e-9), cs.config.name


def test_grid_ties_follow_index_order_like_the_engine():
    # two docs tie in every configuration (same lexical score, no dense hit); "b" sorts first by id but sits
    # later in the index: with doc positions the grid and the engine both put "a" (doc 1) first
    lists = {SUBQUERY_LEXICAL: (["b", "a"], [2.0, 2.0]), SUBQUERY_DENSE: (["c"], [0.9])}
    qc = QueryCandidates.from_lists("q", lists, {"a": 2, "b": 0}, doc_positions={"a": 1, "b": 8, "c": 4})
    assert qc.id_order.tolist() == [2, 0, 1]  # b, a, c → places by doc id 8, 1, 4
    config = default_config([SUBQUERY_LEXICAL, SUBQUERY_DENSE])
    # min_max: a, b both 1.0 (equal scores) → 0.7 each; c dense-only 1.0 → 0.3
    hits = blend_query(qc, config)
    assert [h.id for h in hits] == ["a", "b", "c"]
    assert verify_with_engine([qc], config, depth=3)
    no_positions = QueryCandidates.from_lists("q", lists, {"a": 2, "b": 0})
    assert no_positions.id_order.tolist() == [1, 0, 2]  # by product id: a, b, c


def test_elasticsearch_target_searches_only_what_it_runs_with_its_semantics():
    cands = _known_case()
    result = search_blends(cands, cands, parse_metric("ndcg@1"), {"exact": 0.8}, target="elasticsearch")
    families = {cs.config.family for cs in result.scores}
    # no z_score, no bounds, no geometric/harmonic: linear minmax / l2_norm and rrf
    assert families == {"linear minmax", "linear l2_norm"} | {f"rrf k={k}" for k in (1, 5, 10, 20, 60)}
    assert len(result.scores) == 7 * 11 and result.target == "elasticsearch"
    # Elasticsearch's minmax keeps the lowest at 0 (no 0.001): lexical c 1, d 0.55, f 0; dense e 1, d 0.55, g 0
    # → d = 0.55 w + 0.55 (1 − w) = 0.55 leads only at w = 0.5, as on OpenSearch
    assert result.best.config.name == "linear minmax w=[0.5,0.5]"
    spec = result.best.config.retriever_spec(100)
    assert [(s.normalizer, s.weight) for s in spec.subretrievers] == [("minmax", 0.5), ("minmax", 0.5)]


def test_elasticsearch_fast_path_equals_combine_retriever():
    cands = _random_candidates(6, seed=3)
    for w in weight_grid(2)[[1, 5, 9]]:
        weights = tuple(float(x) for x in w)
        for norm in ("min_max", "l2"):
            cfg = BlendConfig(Normalization(norm), "arithmetic_mean", weights, target="elasticsearch")
            assert verify_with_engine(cands, cfg, depth=10), cfg.name
        assert verify_with_engine(cands, BlendConfig(None, "rrf", weights, 20, "elasticsearch"))
    # the weighted-sum kernel by hand: minmax scores 1.0 / absent, weights 0.3 / 0.7 → 0.3; both 1.0 → 1.0
    from mrs.engine.techniques.arithmetic_mean import linear_kernel
    from mrs.engine.techniques.rrf import rrf_kernel

    out = linear_kernel(np.array([[1.0, np.nan], [1.0, 1.0]]), np.array([[0.3, 0.7]]))
    assert out.tolist() == [[np.float32(0.3), np.float32(np.float32(0.3) + np.float32(0.7))]]
    # rrf: ranks (1, absent) and (2, 1) with k 60, weights 2, 1 → 2/61; 2/62 + 1/61 (float, no rounding)
    f = np.float32
    out = rrf_kernel(np.array([[1, 2], [0, 1]]), np.array([[2.0, 1.0]]), 60)
    assert out[0, 0] == f(2) * f(f(1) / f(61)) and out[0, 1] == f(f(2) * f(f(1) / f(62))) + f(f(1) / f(61))
