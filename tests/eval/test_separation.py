"""Score separation: AUC by hand, per-level stats, judged@k, latency summaries."""

from __future__ import annotations

import pytest

from mrs.data.levels import ESCI
from mrs.eval.judged import judged_at_k
from mrs.eval.latency import latency_summary
from mrs.eval.separation import ScoredPair, auc, level_pairs, pairs_from_run, separation


def test_auc_counts_ties_as_half():
    # hi [3, 2, 2] vs lo [2, 1]: pairs (3,2)=1 (3,1)=1 (2,2)=½ (2,1)=1 (2,2)=½ (2,1)=1 → 5/6
    assert auc([3, 2, 2], [2, 1]) == pytest.approx(5 / 6)
    assert auc([5, 6], [1, 2]) == 1.0
    assert auc([1, 2], [5, 6]) == 0.0
    assert auc([1], []) is None


def test_separation_per_level_stats_and_aucs():
    pairs = [
        ScoredPair("q1", "a", 3, 0.9), ScoredPair("q1", "b", 2, 0.8), ScoredPair("q1", "c", 0, 0.1),
        ScoredPair("q2", "d", 3, 0.5), ScoredPair("q2", "e", 2, 0.6), ScoredPair("q2", "f", 0, 0.2),
    ]
    sep = separation(pairs, ESCI)
    assert sep["n_pairs"] == 6
    assert list(sep["levels"]) == ["exact", "substitute", "complement", "irrelevant"]
    assert sep["levels"]["exact"]["n"] == 2 and sep["levels"]["exact"]["mean"] == pytest.approx(0.7)
    assert sep["levels"]["complement"]["n"] == 0 and sep["levels"]["complement"]["mean"] is None
    # exact {0.9, 0.5} vs substitute {0.8, 0.6}: (0.9>0.8)(0.9>0.6)(0.5<0.8)(0.5<0.6) → pooled 2/4 = 0.5
    # per query: q1 0.9>0.8 → 1; q2 0.5<0.6 → 0; mean 0.5
    es = sep["auc"]["exact>substitute"]
    assert (es["pooled"], es["per_query"], es["n_queries"]) == (0.5, 0.5, 2)
    assert sep["auc"]["exact>irrelevant"]["pooled"] == 1.0
    assert sep["auc"]["complement>irrelevant"]["pooled"] is None  # no complement pair


def test_level_pairs_are_adjacent_then_top_vs_bottom():
    assert level_pairs(ESCI) == [(3, 2), (2, 1), (1, 0), (3, 0)]


def test_pairs_from_run_takes_only_retrieved_judged_products():
    qrels = {"q1": {"a": 3, "b": 0}}
    assert pairs_from_run({"q1": {"a": 0.5, "z": 0.9}}, qrels) == [ScoredPair("q1", "a", 3, 0.5)]


def test_judged_at_k_counts_unjudged_and_missing_positions():
    qrels = {"q1": {"a": 3, "b": 0}, "q2": {"c": 1}}
    run = {"q1": {"a": 3.0, "x": 2.0, "b": 1.0, "y": 0.5}, "q2": {"c": 1.0}}
    mean, per = judged_at_k(run, qrels, 3)
    # q1 top-3 a, x, b → 2 judged of 3; q2 returned one product → 1 of 3 (empty positions are unjudged)
    assert per == pytest.approx({"q1": 2 / 3, "q2": 1 / 3})
    assert mean == pytest.approx(0.5)


def test_latency_summary_percentiles():
    s = latency_summary([1.0, 2.0, 3.0, 4.0])
    # numpy linear interpolation: p50 = 2.5, p95 = 3 + 0.85 × 1 = 3.85
    assert (s["n"], s["p50"], s["p95"], s["mean"], s["max"]) == (4, 2.5, pytest.approx(3.85), 2.5, 4.0)
    assert latency_summary([])["n"] == 0
