"""Calibration warnings (issue 16 item 8): a target missed on dev queries, a dev split too small to check the
thresholds, and two levels whose thresholds cannot be told apart. Expected figures computed by hand."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mrs.blending.thresholds import (
    LevelThreshold,
    fit_thresholds,
    pairs_needed,
    threshold_warnings,
    wilson_interval,
)
from mrs.data.levels import ESCI


def level(name, grade, threshold, ci, dev_precision=None, dev_support=None, target=0.9):
    return LevelThreshold(level=name, grade=grade, target_precision=target, threshold=threshold, precision=0.92,
                          recall=0.6, support=50, reachable=True, best_precision=0.95, ci=ci,
                          dev_precision=dev_precision, dev_support=dev_support)


def test_pairs_needed_and_wilson_by_hand():
    # 1.96² · 0.9 · 0.1 / 0.05² = 138.3 → 139; at target 1 the rule of three: 3 / 0.05 = 60
    assert pairs_needed(0.9) == 139
    assert pairs_needed(1.0) == 60
    # Wilson 95%, 0 of 10: (0, z²/(n + z²)) = (0, 3.8415 / 13.8415) = (0, 0.2775)
    lo, hi = wilson_interval(0, 10)
    assert lo == 0.0 and hi == pytest.approx(0.27753, abs=1e-4)
    # 39 of 52 (p = .75): centre 0.7328, half-width 0.1149
    assert wilson_interval(39, 52) == pytest.approx((0.6179, 0.8477), abs=1e-3)


def test_missed_dev_target_is_a_warning_with_its_interval():
    ths = {"exact": level("exact", 3, 0.82, (0.80, 0.84), dev_precision=0.75, dev_support=200)}
    [missed] = threshold_warnings(ths, n_dev_queries=40)
    # 150 of 200: Wilson 0.686–0.805 excludes 0.90
    assert missed.startswith("exact: dev precision 0.750 misses the target 0.90 (200 dev pairs")
    assert "0.686–0.805; the interval excludes the target" in missed


def test_few_dev_queries_say_how_many_pairs_are_needed():
    ths = {"exact": level("exact", 3, 0.82, (0.80, 0.84), dev_precision=1.0, dev_support=6),
           "substitute": level("substitute", 2, 0.70, (0.60, 0.65), dev_precision=None)}
    warnings = threshold_warnings(ths, n_dev_queries=2)
    assert any(w.startswith("substitute: no pair of the 2 dev queries scores ≥ its threshold") for w in warnings)
    [thin] = [w for w in warnings if "too few" in w]
    assert "the 2 dev queries are too few" in thin and "exact 6 of ~139" in thin
    assert threshold_warnings(ths, n_dev_queries=0) == [
        "no dev queries (--dev-fraction 0): no threshold is checked on held-out queries"]


def test_overlapping_bootstrap_intervals_are_indistinguishable():
    ths = {"exact": level("exact", 3, 0.82, (0.78, 0.84), dev_precision=0.95, dev_support=500),
           "substitute": level("substitute", 2, 0.77, (0.72, 0.79), dev_precision=0.95, dev_support=500),
           "complement": level("complement", 1, 0.63, (0.60, 0.65), dev_precision=0.95, dev_support=500)}
    [w] = threshold_warnings(ths, n_dev_queries=40)
    assert w.startswith("exact and substitute thresholds are indistinguishable")
    assert "0.7800–0.8400 vs 0.7200–0.7900" in w


def test_fit_thresholds_then_warnings_on_separated_levels_is_quiet():
    rng = np.random.default_rng(0)
    scores, grades, qids = [], [], []
    for q in range(30):
        scores += list(rng.uniform(0.8, 0.9, 10)) + list(rng.uniform(0.3, 0.4, 10))
        grades += [3] * 10 + [0] * 10
        qids += [f"q{q}"] * 20
    scores, grades = np.array(scores), np.array(grades)
    dev = (np.r_[rng.uniform(0.8, 0.9, 200), rng.uniform(0.3, 0.4, 200)], np.r_[[3] * 200, [0] * 200])
    out = fit_thresholds(scores, grades, np.array(qids), ESCI, {"exact": 0.9, "substitute": 0.9, "complement": 0.9},
                         bootstrap=50, dev=dev)
    # the three levels share one gap (nothing between exact and irrelevant): their CIs coincide
    warnings = threshold_warnings(out, n_dev_queries=30)
    assert [w.split(" thresholds")[0] for w in warnings] == ["exact and substitute", "substitute and complement"]


def test_calibrate_writes_its_warnings_to_json_and_calibration_file(tmp_path):
    from mrs.blending.calibration import Calibration, read_calibration, write_calibration

    cal = Calibration(scheme=ESCI, warnings=["exact: dev precision 0.750 misses the target 0.90"])
    write_calibration(cal, tmp_path / "c.json")
    assert json.loads((tmp_path / "c.json").read_text())["warnings"] == cal.warnings
    assert read_calibration(tmp_path / "c.json").warnings == cal.warnings
