"""Per-level threshold selection: hand-made score/label sets with the arithmetic in comments."""

from __future__ import annotations

import numpy as np
import pytest

from mrs.blending.thresholds import (
    LevelThreshold,
    bootstrap_thresholds,
    fit_thresholds,
    parse_targets,
    precision_recall_at,
    select_threshold,
)
from mrs.data.levels import ESCI
from mrs.errors import InputError

SCORES = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
POSITIVE = np.array([1, 1, 0, 1, 0, 0], dtype=bool)


def test_smallest_threshold_reaching_target_even_when_precision_dips_above_it():
    # cumulative precision, top down: 0.9 → 1/1, 0.8 → 2/2, 0.7 → 2/3 = .667, 0.6 → 3/4 = .75, 0.5 → 3/5, 0.4 → 3/6
    # target .75: the smallest t with precision ≥ .75 is 0.6 (0.7 dips to .667 but is not the cut we choose)
    sel = select_threshold(SCORES, POSITIVE, 0.75, min_support=1)
    assert sel["threshold"] == pytest.approx(0.6)
    assert sel["precision"] == pytest.approx(0.75)
    assert sel["recall"] == pytest.approx(1.0)  # 3 of 3 positives kept
    assert sel["support"] == 4
    assert sel["reachable"]


def test_higher_target_gives_higher_threshold_and_lower_recall():
    # target .95: only 0.9 (1/1) and 0.8 (2/2) qualify → 0.8, recall 2/3
    sel = select_threshold(SCORES, POSITIVE, 0.95, min_support=1)
    assert sel["threshold"] == pytest.approx(0.8)
    assert sel["recall"] == pytest.approx(2 / 3)


def test_min_support_makes_a_lucky_top_unreachable():
    # support ≥ 5 leaves t = 0.5 (3/5 = .6) and t = 0.4 (3/6 = .5): target .75 unreachable, best .6
    sel = select_threshold(SCORES, POSITIVE, 0.75, min_support=5)
    assert not sel["reachable"]
    assert sel["threshold"] is None
    assert sel["best_precision"] == pytest.approx(0.6)


def test_tied_scores_are_kept_or_dropped_together():
    # 0.9 → 1/1; the 0.8 group (one positive, one not) enters at once → 2/3; 0.7 → 3/4
    scores = np.array([0.9, 0.8, 0.8, 0.7])
    positive = np.array([1, 1, 0, 1], dtype=bool)
    assert select_threshold(scores, positive, 0.9, min_support=1)["threshold"] == pytest.approx(0.9)
    assert select_threshold(scores, positive, 0.7, min_support=1)["threshold"] == pytest.approx(0.7)


def test_precision_recall_at_a_cut():
    # score ≥ 0.65 keeps 0.9, 0.8, 0.7: 2 positives of 3 kept, of 3 positives in all
    p, r, n = precision_recall_at(SCORES, POSITIVE, 0.65)
    assert (p, r, n) == (pytest.approx(2 / 3), pytest.approx(2 / 3), 3)
    assert precision_recall_at(SCORES, POSITIVE, 0.95)[0] is None


def _two_level_queries(n_queries: int, rng: np.random.Generator):
    scores, grades, qids = [], [], []
    for q in range(n_queries):
        # exact pairs score in [0.8, 0.9], irrelevant ones in [0.5, 0.6]: perfectly separated
        scores += list(rng.uniform(0.8, 0.9, 4)) + list(rng.uniform(0.5, 0.6, 4))
        grades += [3] * 4 + [0] * 4
        qids += [f"q{q}"] * 8
    return np.array(scores), np.array(grades), np.array(qids)


def test_fit_thresholds_per_level_with_bootstrap_ci_and_dev_check():
    rng = np.random.default_rng(1)
    scores, grades, qids = _two_level_queries(10, rng)
    out = fit_thresholds(scores, grades, qids, ESCI, {"exact": 1.0}, bootstrap=50, seed=3,
                         dev=(np.array([0.85, 0.55, 0.7]), np.array([3, 0, 0])))
    assert list(out) == ["exact", "substitute", "complement"]
    exact = out["exact"]
    # perfectly separated → the smallest exact score is the threshold, precision 1, recall 1
    lowest_exact = scores[grades == 3].min()
    assert exact.threshold == pytest.approx(lowest_exact)
    assert (exact.precision, exact.recall) == (1.0, 1.0)
    # every resample picks the lowest exact score of the queries it drew, never below the full-data one
    assert exact.threshold <= exact.ci[0] <= exact.ci[1] <= 0.9
    assert exact.ci_reachable_share == 1.0
    # dev: 0.85 kept (exact), 0.7 and 0.55 below the threshold → precision 1, recall 1, support 1
    assert (exact.dev_precision, exact.dev_recall, exact.dev_support) == (1.0, 1.0, 1)
    # substitute/complement: "grade ≥ L" positives are the same exact pairs here, default target 0.9
    assert out["complement"].target_precision == 0.9
    assert out["complement"].reachable


def test_bootstrap_is_seeded_and_resamples_queries():
    rng = np.random.default_rng(0)
    scores = rng.uniform(0, 1, 60)
    positive = scores + rng.normal(0, 0.2, 60) > 0.5
    qidx = np.repeat(np.arange(10), 6)
    a = bootstrap_thresholds(scores, positive, qidx, 0.8, 40, seed=7, min_support=3)
    b = bootstrap_thresholds(scores, positive, qidx, 0.8, 40, seed=7, min_support=3)
    np.testing.assert_array_equal(a, b)
    # thresholds are observed scores of the pairs
    ok = a[~np.isnan(a)]
    assert ok.size > 0 and np.isin(ok, scores).all()


def test_unreachable_level_is_said_plainly():
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
    grades = np.array([3, 0, 3, 0, 3, 0])
    out = fit_thresholds(scores, grades, ["a"] * 3 + ["b"] * 3, ESCI, {"exact": 0.95}, bootstrap=20)
    exact = out["exact"]
    assert not exact.reachable and exact.threshold is None
    assert "UNREACHABLE" in exact.describe() and "UNREACHABLE" in exact.warning()
    # round trip through the file form
    again = LevelThreshold.from_dict("exact", exact.to_dict())
    assert again.reachable is False and again.threshold is None


def test_parse_targets_defaults_and_errors():
    t = parse_targets(["exact=0.95", "S=0.8"], ESCI)
    assert t == {"exact": 0.95, "substitute": 0.8, "complement": 0.9}
    with pytest.raises(InputError, match="unknown level"):
        parse_targets(["perfect=0.9"], ESCI)
    with pytest.raises(InputError, match="lowest level"):
        parse_targets(["irrelevant=0.9"], ESCI)
    with pytest.raises(InputError, match=r"\(0, 1\]"):
        parse_targets(["exact=1.5"], ESCI)
    with pytest.raises(InputError, match="LEVEL=PRECISION"):
        parse_targets(["exact"], ESCI)


def test_a_sliver_of_recall_is_flagged():
    # 5 exact pairs on top, then 195 pairs where the even positions 6, 8, …, 198 (97 pairs) are exact
    scores = np.linspace(1.0, 0.0, 200)
    grades = np.where(np.arange(200) < 5, 3, np.where(np.arange(200) % 2 == 0, 3, 0))
    t = fit_thresholds(scores, grades, [f"q{i % 20}" for i in range(200)], ESCI, {"exact": 0.95}, bootstrap=0)["exact"]
    # top 5 all exact → precision 1; the 6th pair (index 5, odd) is irrelevant → 5/6 = .83 < .95; at index 6
    # (exact) 6/7 = .857 …: the cumulative precision never climbs back to .95, so t = scores[4], recall 5/(5+97)
    assert t.reachable and t.threshold == pytest.approx(scores[4])
    assert t.recall == pytest.approx(5 / 102)
    assert "only at the very top" in t.warning()
    assert fit_thresholds(scores, grades, ["q"] * 200, ESCI, {"exact": 0.5}, bootstrap=0)["exact"].warning() is None
