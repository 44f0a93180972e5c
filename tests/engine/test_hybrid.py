"""Hybrid combination end to end on hand-made sub-query results (OpenSearch hybrid query semantics)."""

from __future__ import annotations

import numpy as np
import pytest

from mrs.engine.hybrid import SubqueryResult, combine
from mrs.engine.pipeline import HybridPipeline, default_pipeline
from mrs.engine.techniques.min_max import ScoreBound
from mrs.errors import InputError

LEX = SubqueryResult("lexical", ["a", "b", "c"], np.array([3.0, 2.0, 1.0]))
DENSE = SubqueryResult("dense", ["b", "d"], np.array([0.9, 0.8]))


def by_id(hits):
    return {h.id: h for h in hits}


def test_default_pipeline_min_max_arithmetic():
    # lexical min_max over [3, 2, 1]: a 1.0, b 0.5, c 0 → 0.001; dense over [0.9, 0.8]: b 1.0, d 0 → 0.001
    # weights 0.7 / 0.3, missing = 0 with weight kept:
    #   a = 0.7·1.0 = 0.7; b = 0.7·0.5 + 0.3·1.0 = 0.65; c = 0.7·0.001 = 0.0007; d = 0.3·0.001 = 0.0003
    hits = combine([LEX, DENSE], default_pipeline(), size=10)
    assert [h.id for h in hits] == ["a", "b", "c", "d"]
    np.testing.assert_allclose([h.score for h in hits], [0.7, 0.65, 0.0007, 0.0003], rtol=1e-6)
    h = by_id(hits)
    assert h["a"].raw == {"lexical": 3.0, "dense": None}
    assert h["a"].normalized == {"lexical": 1.0, "dense": None}
    assert h["b"].raw["dense"] == pytest.approx(0.9) and h["b"].normalized["lexical"] == pytest.approx(0.5)


def test_size_and_min_score_after_combination():
    hits = combine([LEX, DENSE], default_pipeline(), size=10, min_score=0.5)
    assert [h.id for h in hits] == ["a", "b"]
    # size 2: OpenSearch keeps from + size = 2 candidates per sub-query → lexical [a 3, b 2], dense [b, d]
    #   lexical min_max over [3, 2]: a 1.0, b 0.001 → a = 0.7, b = 0.7·0.001 + 0.3·1.0 = 0.3007
    hits2 = combine([LEX, DENSE], default_pipeline(), size=2)
    assert [h.id for h in hits2] == ["a", "b"]
    assert hits2[1].score == pytest.approx(0.3007, rel=1e-6)


def test_pagination_depth_sets_statistics_window():
    lex = SubqueryResult("lexical", ["a", "b", "c", "e"], np.array([4.0, 3.0, 2.0, 1.0]))
    dense = SubqueryResult("dense", ["e"], np.array([0.5]))
    # depth 2: lexical keeps a, b only: a 1.0, b 0.001; e is a dense-only document (single score → 1.0)
    #   a 0.7, e 0.3·1.0 = 0.3, b 0.0007; c is not a candidate at all
    hits = combine([lex, dense], default_pipeline(), size=10, pagination_depth=2)
    assert [h.id for h in hits] == ["a", "e", "b"]
    np.testing.assert_allclose([h.score for h in hits], [0.7, 0.3, 0.0007], rtol=1e-6)
    # depth 4: e's lexical 1.0 → (1 − 1)/3 = 0 → 0.001 → e = 0.7·0.001 + 0.3 = 0.3007
    deep = by_id(combine([lex, dense], default_pipeline(), size=10, pagination_depth=4))
    assert deep["e"].score == pytest.approx(0.3007, rel=1e-6)


def test_unsorted_input_is_ranked_by_score_and_ties_by_id():
    lex = SubqueryResult("lexical", ["y", "x", "z"], np.array([1.0, 5.0, 5.0]))
    hits = combine([lex], HybridPipeline(weights=(1.0,)), size=3)
    # x and z both normalize to 1.0 → id order; y → 0.001
    assert [h.id for h in hits] == ["x", "z", "y"]


def test_ties_follow_index_order_when_doc_ids_are_known():
    # z (doc 0) and x (doc 7) tie at 5.0 → both normalize to 1.0; index order puts z first although "x" < "z"
    lex = SubqueryResult("lexical", ["y", "x", "z"], np.array([1.0, 5.0, 5.0]), doc_ids=[3, 7, 0])
    hits = combine([lex], HybridPipeline(weights=(1.0,)), size=3)
    assert [h.id for h in hits] == ["z", "x", "y"]
    # a tie across sub-queries: b (doc 9) lexical-only 0.5·1.0, c (doc 2) dense-only 0.5·1.0 → c first
    lex = SubqueryResult("lexical", ["b"], np.array([3.0]), doc_ids=[9])
    dense = SubqueryResult("dense", ["c"], np.array([0.8]), doc_ids=[2])
    hits = combine([lex, dense], HybridPipeline(weights=(0.5, 0.5)), size=2)
    assert [h.id for h in hits] == ["c", "b"] and hits[0].score == hits[1].score == 0.5


def test_pagination_depth_cut_keeps_the_lower_doc_id_among_tied_scores():
    # depth 1 over two tied candidates: Lucene's top-1 is the lower doc id (q, doc 1), not the first given
    lex = SubqueryResult("lexical", ["p", "q"], np.array([2.0, 2.0]), doc_ids=[5, 1])
    assert [h.id for h in combine([lex], HybridPipeline(weights=(1.0,)), size=1, pagination_depth=1)] == ["q"]


def test_geometric_and_harmonic_skip_missing():
    # normalized: a (1.0, —), b (0.5, 1.0), c (0.001, —), d (—, 0.001)
    geo = by_id(combine([LEX, DENSE], HybridPipeline("min_max", "geometric_mean", (0.7, 0.3)), size=10))
    # a: only lexical present → exp(0.7·ln 1 / 0.7) = 1.0; b: exp(0.7·ln 0.5 + 0.3·ln 1) = 0.5^0.7 = 0.6155722
    assert geo["a"].score == pytest.approx(1.0)
    assert geo["b"].score == pytest.approx(0.5**0.7, rel=1e-6)
    harm = by_id(combine([LEX, DENSE], HybridPipeline("min_max", "harmonic_mean", (0.7, 0.3)), size=10))
    # b: 1/(0.7/0.5 + 0.3/1.0) = 1/1.7 = 0.5882353; d: 0.3/(0.3/0.001) = 0.001
    assert harm["b"].score == pytest.approx(1 / 1.7, rel=1e-6)
    assert harm["d"].score == pytest.approx(0.001, rel=1e-6)


def test_rrf_pipeline_uses_ranks():
    p = HybridPipeline("rrf", "rrf", (0.5, 0.5), rank_constant=60)
    h = by_id(combine([LEX, DENSE], p, size=10))
    # b: 0.5/(60 + 2) + 0.5/(60 + 1) = 0.5·0.0161290323 + 0.5·0.0163934426 = 0.0162612375
    # a: 0.5·0.0163934426 = 0.0081967213
    assert h["b"].score == pytest.approx(0.0162612375, rel=1e-6)
    assert h["a"].score == pytest.approx(0.0081967213, rel=1e-6)
    assert h["b"].normalized["dense"] == pytest.approx(0.0163934426, rel=1e-7)


def test_bounds_per_subquery_in_combine():
    p = HybridPipeline("min_max", "arithmetic_mean", (0.5, 0.5),
                       lower_bounds=(ScoreBound("clip", 2.5), ScoreBound("ignore", 0.0)))
    h = by_id(combine([LEX, DENSE], p, size=10))
    # lexical clip 2.5 over [3, 2, 1]: b 2 < 2.5 → 0.001, c → 0.001, a → (3 − 2.5)/(3 − 2.5) = 1
    assert h["b"].normalized["lexical"] == pytest.approx(0.001)
    # b = 0.5·0.001 + 0.5·1.0 = 0.5005
    assert h["b"].score == pytest.approx(0.5005, rel=1e-6)


def test_z_score_in_combine():
    lex = SubqueryResult("lexical", ["a", "b", "c", "d"], np.array([1.0, 2.0, 3.0, 6.0]))
    h = by_id(combine([lex], HybridPipeline("z_score", "arithmetic_mean"), size=10))
    # z of d = 3/sqrt(14/3) = 1.3887301; c equals the mean → the raw max 6.0
    assert h["d"].score == pytest.approx(1.3887301, rel=1e-6)
    assert h["c"].score == pytest.approx(6.0)


def test_up_to_five_subqueries_and_validation():
    subs = [SubqueryResult(f"q{i}", [f"d{i}"], np.array([1.0])) for i in range(5)]
    assert len(combine(subs, HybridPipeline(), size=10)) == 5
    subs6 = subs + [SubqueryResult("q5", ["x"], np.array([1.0]))]
    with pytest.raises(InputError, match="1 to 5"):
        combine(subs6, HybridPipeline(), size=10)
    with pytest.raises(InputError, match="number of weights"):
        combine([LEX], default_pipeline(), size=10)
    with pytest.raises(InputError, match="size"):
        combine([LEX, DENSE], default_pipeline(), size=0)
    with pytest.raises(InputError, match="twice"):
        SubqueryResult("lexical", ["a", "a"], np.array([1.0, 2.0]))
    with pytest.raises(InputError, match="unique"):
        combine([LEX, LEX], HybridPipeline(), size=10)
    assert combine([SubqueryResult("lexical", [], np.array([])), DENSE], default_pipeline(), size=5)[0].id == "b"
