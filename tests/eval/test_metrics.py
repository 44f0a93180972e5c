"""Metric plumbing on a hand-checked toy case: gains, relevance thresholds, names, significance."""

from __future__ import annotations

import math

import pytest

from mrs.data.levels import ESCI, WANDS
from mrs.errors import InputError
from mrs.eval.metrics import (
    DEFAULT_METRICS,
    compare_runs,
    evaluate_run,
    gain_table,
    parse_metric,
    parse_metrics,
    ranx_names,
)

# q1 judged a=exact(3) b=substitute(2) c=irrelevant(0) d=complement(1); the run shows b, x (unjudged), a, c.
# q2 judged e=exact(3); the run shows f (unjudged), e.
QRELS = {"q1": {"a": 3, "b": 2, "c": 0, "d": 1}, "q2": {"e": 3}}
RUN = {"q1": {"b": 0.9, "x": 0.8, "a": 0.7, "c": 0.6}, "q2": {"f": 2.0, "e": 1.0}}


def test_ndcg_at_3_with_grade_gains_matches_hand_computation():
    # q1: DCG@3 = 2/log2(2) + 0/log2(3) + 3/log2(4) = 2 + 0 + 1.5 = 3.5
    #     IDCG@3 (ideal 3, 2, 1) = 3/1 + 2/log2(3) + 1/log2(4) = 3 + 1.26186 + 0.5 = 4.76186 → 0.735007
    # q2: DCG@3 = 3/log2(3) = 1.89279; IDCG@3 = 3/1 → 0.630930
    # mean = (0.735007 + 0.630930) / 2 = 0.682968
    means, per_query = evaluate_run(QRELS, RUN, parse_metrics("ndcg@3"), gain_table(ESCI, "grades"))
    assert per_query["ndcg@3"]["q1"] == pytest.approx(3.5 / (3 + 2 / math.log2(3) + 0.5), abs=1e-6)
    assert per_query["ndcg@3"]["q2"] == pytest.approx(1 / math.log2(3), abs=1e-6)
    assert means["ndcg@3"] == pytest.approx(0.682968, abs=1e-6)


def test_ndcg_with_esci_gains_uses_1_0_1_0_01():
    # ESCI gains ×100: a=100, b=10, d=1.
    # q1: DCG@3 = 10/1 + 0 + 100/log2(4) = 60; IDCG@3 = 100 + 10/log2(3) + 1/2 = 106.8093 → 0.561749
    # q2: one exact doc: 100/log2(3) / 100 = 0.630930 (scale-free); mean 0.596339
    table = gain_table(ESCI, "esci")
    assert table == {0: 0, 1: 1, 2: 10, 3: 100}
    means, per_query = evaluate_run(QRELS, RUN, parse_metrics("ndcg@3"), table)
    assert per_query["ndcg@3"]["q1"] == pytest.approx(0.561749, abs=1e-6)
    assert means["ndcg@3"] == pytest.approx(0.596339, abs=1e-6)


@pytest.mark.parametrize("gains", ["grades", "esci"])
def test_relevance_threshold_is_a_grade_on_both_gain_scales(gains):
    table = gain_table(ESCI, gains)
    metrics = parse_metrics("recall@3,precision@3,mrr,recall@3-l3")
    # relevant = grade ≥ 1 → q1 {a, b, d}: top-3 holds b, a → recall 2/3, precision 2/3, first hit rank 1 → mrr 1
    # q2 {e}: recall@3 1, precision@3 1/3, mrr 1/2.  recall@3-l3 (exact only): q1 {a} found → 1; q2 1.
    _, pq = evaluate_run(QRELS, RUN, metrics, table, relevant_grade=1)
    assert pq["recall@3"] == pytest.approx({"q1": 2 / 3, "q2": 1.0})
    assert pq["precision@3"] == pytest.approx({"q1": 2 / 3, "q2": 1 / 3})
    assert pq["mrr"] == pytest.approx({"q1": 1.0, "q2": 0.5})
    assert pq["recall@3-l3"] == pytest.approx({"q1": 1.0, "q2": 1.0})
    # relevant = exact only: q1's first exact (a) is at rank 3 → mrr 1/3; precision@3 1/3
    _, pq = evaluate_run(QRELS, RUN, metrics, table, relevant_grade=3)
    assert pq["mrr"] == pytest.approx({"q1": 1 / 3, "q2": 0.5})
    assert pq["precision@3"] == pytest.approx({"q1": 1 / 3, "q2": 1 / 3})


def test_ranx_names_translate_thresholds_to_the_esci_scale():
    ms = parse_metrics("ndcg@10,recall@100,recall@100-l2")
    assert ranx_names(ms, gain_table(ESCI, "grades"), 1) == {
        "ndcg@10": "ndcg@10", "recall@100": "recall@100", "recall@100-l2": "recall@100-l2"}
    # esci scale: grade 2 (substitute) is value 10; ≥ complement is value 1 (ranx's default, no suffix)
    assert ranx_names(ms, gain_table(ESCI, "esci"), 2) == {
        "ndcg@10": "ndcg@10", "recall@100": "recall@100-l10", "recall@100-l2": "recall@100-l10"}


def test_a_query_missing_from_the_run_scores_zero():
    means, pq = evaluate_run(QRELS, {"q1": RUN["q1"]}, parse_metrics("recall@3"), gain_table(ESCI, "grades"))
    assert pq["recall@3"]["q2"] == 0.0
    assert means["recall@3"] == pytest.approx((2 / 3 + 0) / 2)


def test_metric_names():
    assert [m.name for m in parse_metrics(None)] == list(DEFAULT_METRICS)
    assert [m.name for m in parse_metrics("NDCG@10, mrr,ndcg@10")] == ["ndcg@10", "mrr"]
    m = parse_metric("recall@100-l3")
    assert (m.base, m.k, m.level) == ("recall", 100, 3)
    for bad in ("ndgc@10", "recall@", "foo", "ndcg@0"):
        with pytest.raises(InputError):
            parse_metric(bad)


def test_esci_gains_need_a_scheme_with_gains():
    with pytest.raises(InputError, match="gains"):
        gain_table(WANDS, "esci")


def test_compare_reports_pairwise_p_values_and_the_better_run():
    qrels = {f"q{i}": {"good": 3, "bad": 0} for i in range(12)}
    strong = {q: {"good": 2.0, "bad": 1.0} for q in qrels}
    # weak ranks "good" first on every third query only: mrr 1 on 4 queries, ½ on 8
    weak = {q: ({"good": 2.0, "bad": 1.0} if i % 3 == 0 else {"bad": 2.0, "good": 1.0})
            for i, q in enumerate(qrels)}
    out = compare_runs(qrels, {"strong": strong, "weak": weak}, parse_metrics("mrr"), gain_table(ESCI, "grades"))
    [pair] = out["pairs"]
    # paired differences: 0 ×4, ½ ×8 → mean ⅓, sample sd 0.2462, t = ⅓ / (0.2462/√12) = 4.69, 11 df → p ≈ 0.0008
    assert (pair["a"], pair["b"], pair["metric"], pair["better"]) == ("strong", "weak", "mrr", "strong")
    assert pair["significant"] is True and 0.0001 < pair["p_value"] < 0.002
    same = compare_runs(qrels, {"a": strong, "b": dict(strong)}, parse_metrics("mrr"), gain_table(ESCI, "grades"),
                        stat_test="fisher")
    assert same["pairs"][0]["significant"] is False and same["pairs"][0]["better"] is None
    with pytest.raises(InputError):
        compare_runs(qrels, {"a": strong, "b": weak}, parse_metrics("mrr"), gain_table(ESCI, "grades"),
                     stat_test="wilcoxon")
