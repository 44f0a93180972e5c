"""Isotonic score → P(level ≥ L) maps, ECE, and hit labels."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.isotonic import IsotonicRegression

from mrs.blending.probability import (
    IsotonicMap,
    calibration_errors,
    expected_calibration_error,
    fit_isotonic,
    fit_probability_maps,
    label_scores,
)
from mrs.data.levels import ESCI, THREE_LEVEL


def _noisy(n=400, seed=0):
    rng = np.random.default_rng(seed)
    scores = rng.uniform(0.4, 1.0, n)
    grades = np.clip(np.round((scores - 0.4) / 0.6 * 3 + rng.normal(0, 0.7, n)), 0, 3).astype(int)
    return scores, grades


def test_isotonic_map_is_monotone_and_bounded_everywhere():
    scores, grades = _noisy()
    maps = fit_probability_maps(scores, grades, ESCI)
    grid = np.linspace(-1.0, 2.0, 301)  # far outside the fitted range too: clipped
    for m in maps.values():
        p = m.predict(grid)
        assert np.all(np.diff(p) >= -1e-12)
        assert p.min() >= 0.0 and p.max() <= 1.0


def test_knots_reproduce_sklearn_predictions():
    scores, grades = _noisy(seed=1)
    m = fit_isotonic(scores, grades >= 3, "exact")
    ref = IsotonicRegression(increasing=True, y_min=0, y_max=1, out_of_bounds="clip").fit(scores, grades >= 3)
    probe = np.linspace(0.3, 1.1, 97)
    np.testing.assert_allclose(m.predict(probe), ref.predict(probe), atol=1e-12)
    # file round trip keeps the function
    again = IsotonicMap.from_dict("exact", m.to_dict())
    np.testing.assert_allclose(again.predict(probe), m.predict(probe))


def test_ece_hand_computed():
    # bins of width 0.1: bin 0 {0.05: y 0} → |0 − 0.05| = 0.05; bin 1 {0.15, 0.15: y 0, 1} → |1 − 0.30| = 0.70;
    # bin 9 {0.95: y 1} → |1 − 0.95| = 0.05; ECE = (0.05 + 0.70 + 0.05) / 4 = 0.2
    assert expected_calibration_error([0.05, 0.15, 0.15, 0.95], [0, 0, 1, 1]) == pytest.approx(0.2)
    # p = 1.0 falls in the last bin; perfectly calibrated extremes → 0
    assert expected_calibration_error([0.0, 1.0], [0, 1]) == pytest.approx(0.0)
    assert expected_calibration_error([], []) is None


def test_calibration_errors_on_held_out_pairs_are_small_for_the_same_distribution():
    scores, grades = _noisy(2000, seed=2)
    maps = fit_probability_maps(scores[:1500], grades[:1500], ESCI)
    ece = calibration_errors(maps, scores[1500:], grades[1500:], ESCI)
    assert set(ece) == {"exact", "substitute", "complement"}
    assert all(0.0 <= v < 0.1 for v in ece.values())


def test_labels_take_the_most_probable_level_and_repair_crossing_maps():
    maps = {
        "relevant": IsotonicMap("relevant", np.array([0.5, 0.9]), np.array([0.0, 0.9])),
        # deliberately crossing: P(≥ moderate) below P(≥ relevant) at the top is capped to stay ≥ it
        "moderately relevant": IsotonicMap("moderately relevant", np.array([0.5, 0.9]), np.array([0.2, 0.8])),
    }
    lab = label_scores(maps, np.array([0.9, 0.5, 0.7]), THREE_LEVEL)
    # 0.9: P(≥ relevant) .9, P(≥ moderate) .8 → made non-increasing: min(.8, 1) = .8 and min(.9, .8) = .8:
    # P(=relevant) = .8, P(=moderate) = 0, P(=irrelevant) = .2 → relevant with .8
    assert lab[0]["level"] == "relevant" and lab[0]["probability"] == pytest.approx(0.8)
    # 0.5: P(≥ relevant) 0, P(≥ moderate) .2 → irrelevant .8
    assert lab[1]["level"] == "irrelevant" and lab[1]["probability"] == pytest.approx(0.8)
    # 0.7: P(≥ relevant) .45, P(≥ moderate) .5 → relevant .45, moderate .05, irrelevant .5
    assert lab[2]["level"] == "irrelevant" and lab[2]["p_at_least"]["relevant"] == pytest.approx(0.45)
