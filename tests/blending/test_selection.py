"""The one-standard-error blend choice: a richer blend must beat the simpler one by more than the noise."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mrs.blending.candidates import QueryCandidates
from mrs.blending.grid import default_config, search_blends
from mrs.blending.objective import parse_metric
from mrs.blending.selection import choose_blend, complexity, per_query_scores

METRIC = parse_metric("ndcg@10")


def _query(qid: str, lexical_order: list[str], dense_order: list[str], qrels: dict[str, int]) -> QueryCandidates:
    n = len(lexical_order)
    return QueryCandidates.from_lists(qid, {
        "lexical": (lexical_order, [float(n - i) for i in range(n)]),
        "dense": (dense_order, [1.0 - 0.05 * i for i in range(n)]),
    }, qrels)


def test_per_query_scores_match_a_hand_ndcg():
    # dense ranks d1 (grade 3) first, d0 (grade 0) second; ideal DCG = 3; DCG of [0, 3] = 3 / log2(3)
    qc = _query("q", ["d0", "d1"], ["d1", "d0"], {"d1": 3, "d0": 0})
    lexical_only = default_config(("lexical", "dense")).__class__(
        default_config(("lexical", "dense")).normalization, "arithmetic_mean", (1.0, 0.0))
    assert per_query_scores([qc], lexical_only, METRIC)[0] == pytest.approx(1 / math.log2(3))


def test_equal_blends_choose_the_default_pipeline():
    # both sub-queries return the same perfect ranking: every blend scores 1.0, the default is simplest
    order = [f"d{i}" for i in range(6)]
    qrels = {"d0": 3, "d1": 2, "d2": 1}
    train = [_query(f"q{i}", order, order, qrels) for i in range(8)]
    grid = search_blends(train, [], METRIC)
    choice = choose_blend(grid, train, METRIC)
    assert choice.chosen.config == default_config(("lexical", "dense"))
    assert choice.to_dict()["rule"] == "one standard error"


def test_a_consistent_win_of_the_dense_side_is_kept():
    # lexical is reversed on every query, dense is perfect: leaning on dense wins on every query, far
    # beyond one standard error, so the default 0.7 / 0.3 must not be chosen
    order = [f"d{i}" for i in range(6)]
    qrels = {"d0": 3, "d1": 2, "d2": 1}
    train = [_query(f"q{i}", order[::-1], order, qrels) for i in range(8)]
    grid = search_blends(train, [], METRIC)
    choice = choose_blend(grid, train, METRIC)
    assert choice.chosen.config != grid.default.config
    assert choice.chosen.train > grid.default.train + 0.1
    default_row = next(r for r in choice.candidates if r["complexity"] == 0)
    assert default_row["within_one_se"] is False


def test_a_noisy_richer_win_falls_back_to_the_simpler_blend():
    # the richer blend wins a lot on one query and loses a little on the others: mean gap < SE
    rng = np.random.default_rng(0)
    order = [f"d{i}" for i in range(8)]
    train = []
    for i in range(10):
        qrels = {d: int(g) for d, g in zip(order, rng.integers(0, 4, 8), strict=True)}
        lex = list(rng.permutation(order))
        den = list(rng.permutation(order))
        train.append(_query(f"q{i}", lex, den, qrels))
    grid = search_blends(train, [], METRIC)
    choice = choose_blend(grid, train, METRIC)
    chosen_row = next(r for r in choice.candidates if r["name"] == choice.chosen.config.name)
    assert chosen_row["within_one_se"]
    # nothing simpler than the chosen one is within one SE
    assert not any(r["within_one_se"] and r["complexity"] < chosen_row["complexity"] for r in choice.candidates)


def test_complexity_ranks_default_then_reweighted_then_others():
    d = default_config(("lexical", "dense"))
    re = d.__class__(d.normalization, "arithmetic_mean", (0.5, 0.5))
    rrf = d.__class__(None, "rrf", (0.5, 0.5), 60)
    assert (complexity(d, d), complexity(re, d), complexity(rrf, d)) == (0, 1, 2)
