"""The blend search's vectorised metrics equal ranx's on the same rankings."""

from __future__ import annotations

import numpy as np
import pytest

from mrs.blending.objective import evaluate_rankings, parse_metric
from mrs.errors import InputError


def test_ndcg_hand_computed():
    # ranking by score: d1 (grade 2), d3 (0), d2 (1); all judged grades of the query: 2, 1, 1
    # DCG@3 = 2/log2(2) + 0/log2(3) + 1/log2(4) = 2 + 0 + 0.5 = 2.5
    # IDCG@3 = 2/1 + 1/log2(3) + 1/2 = 2 + 0.63093 + 0.5 = 3.13093 → nDCG@3 = 0.798484
    scores = np.array([[0.9, 0.1, 0.5]])
    grades = np.array([2.0, 1.0, 0.0])
    out = evaluate_rankings(parse_metric("ndcg@3"), scores, grades, np.arange(3), np.array([2.0, 1.0, 1.0]))
    assert out[0] == pytest.approx(2.5 / (3 + 1 / np.log2(3) - 0.5), rel=1e-9)
    assert out[0] == pytest.approx(0.798484, abs=1e-6)


def test_ties_break_by_id_order():
    # equal scores: the doc earlier in id order ranks first → d_b (grade 1, id order 0) before d_a (grade 0)
    out = evaluate_rankings(parse_metric("mrr"), np.array([[0.5, 0.5]]), np.array([0.0, 1.0]), np.array([1, 0]),
                            np.array([1.0]))
    assert out[0] == 1.0


@pytest.mark.parametrize("name", ["ndcg@10", "ndcg@5", "precision@10", "recall@10", "mrr", "map@10"])
def test_metrics_equal_ranx(name):
    from ranx import Qrels, Run, evaluate

    rng = np.random.default_rng(42)
    qrels, run, ours = {}, {}, []
    metric = parse_metric(name)
    for q in range(12):
        n_docs = int(rng.integers(5, 25))
        ids = [f"d{i}" for i in range(n_docs)]
        grades = rng.integers(0, 4, n_docs).astype(float)
        judged = rng.random(n_docs) < 0.7  # some retrieved docs are unjudged (count as irrelevant)
        extra = rng.integers(0, 4, 3).astype(float)  # judged docs that were not retrieved
        qrels[f"q{q}"] = {d: int(g) for d, g, j in zip(ids, grades, judged, strict=True) if j}
        qrels[f"q{q}"].update({f"x{i}": int(g) for i, g in enumerate(extra)})
        if not any(v > 0 for v in qrels[f"q{q}"].values()):
            qrels[f"q{q}"]["x0"] = 1
        scores = rng.permutation(n_docs).astype(float) / n_docs + 0.01  # distinct scores
        run[f"q{q}"] = dict(zip(ids, scores.tolist(), strict=True))
        g_ret = np.array([qrels[f"q{q}"].get(d, 0) for d in ids], dtype=float)
        ours.append(evaluate_rankings(metric, scores[None, :], g_ret, np.arange(n_docs),
                                      np.array(list(qrels[f"q{q}"].values()), dtype=float))[0])
    expected = evaluate(Qrels(qrels), Run(run), name)
    assert float(np.mean(ours)) == pytest.approx(float(expected), abs=1e-9)


def test_unknown_metric_is_bad_input():
    with pytest.raises(InputError, match="unknown metric"):
        parse_metric("ndcg")
    with pytest.raises(InputError, match="unknown metric"):
        parse_metric("f1@10")


def test_vectorised_ndcg_equals_ranx_on_a_hand_made_run_with_ties_short_lists_and_zero_gain_queries():
    """Hand-made run: ties (between docs of one grade, since ranx's order among equal scores is its sort's, not
    a rule), a query with fewer than k hits, a query whose judged docs all have gain 0, unjudged hits."""
    from mrs.measures.ranx_eval import ranx_evaluate

    qrels = {
        "ties": {"a": 2, "b": 2, "c": 1, "d": 0, "e": 1},
        "short": {"a": 3, "b": 1, "z": 2},  # z is judged but never retrieved
        "zero": {"a": 0, "b": 0},
        "unjudged": {"x": 1, "y": 3},
    }
    run = {
        "ties": {"a": 0.9, "b": 0.9, "c": 0.5, "e": 0.5, "d": 0.2, "u": 0.1},
        "short": {"b": 0.7, "a": 0.3},  # 2 hits for @5
        "zero": {"a": 0.8, "b": 0.4, "c": 0.1},
        "unjudged": {"u1": 0.9, "y": 0.8, "u2": 0.7, "x": 0.6},
    }
    for k in (1, 3, 5):
        name = f"ndcg@{k}"
        ours = []
        for q, docs in run.items():
            ids = list(docs)
            scores = np.array([[docs[d] for d in ids]])
            grades = np.array([qrels[q].get(d, 0) for d in ids], dtype=float)
            judged = np.array(list(qrels[q].values()), dtype=float)
            ours.append(evaluate_rankings(parse_metric(name), scores, grades, np.arange(len(ids)), judged)[0])
        means, per_query = ranx_evaluate(qrels, run, [name])
        assert ours == pytest.approx([per_query[name][q] for q in run], abs=1e-12)
        assert float(np.mean(ours)) == pytest.approx(means[name], abs=1e-12)
    # by hand, ndcg@5 of "short": DCG = 1/log2(2) + 3/log2(3) = 2.892789; IDCG = 3 + 2/log2(3) + 1/2 = 4.761860
    assert ranx_evaluate(qrels, run, ["ndcg@5"])[1]["ndcg@5"]["short"] == pytest.approx(0.607492, abs=1e-6)
    assert ranx_evaluate(qrels, run, ["ndcg@5"])[1]["ndcg@5"]["zero"] == 0.0
