"""Calibrated probabilities: isotonic maps score → P(level ≥ L), expected calibration error, hit labels.

For each level L above the lowest, an increasing isotonic regression (sklearn ``IsotonicRegression``,
``out_of_bounds="clip"``, outputs in [0, 1]) is fitted on train-query pairs: x = score (e.g. dense_score, the
k-NN score (1 + cos) / 2), y = 1 if grade ≥ L else 0. The fitted function is stored as its knots (x, y):
piecewise-linear between knots and constant beyond the ends, which is exactly what sklearn predicts and what
``np.interp`` computes, so a calibration file needs no pickle.

Expected calibration error (ECE): predictions on held-out queries are put in 10 equal-width bins over [0, 1];
ECE = Σ_b (n_b / n) · |mean(y in b) − mean(p in b)|.

Labels for a hit: P(level ≥ L) is made non-increasing in L (each level's probability is capped by the one
below), P(level = L) = P(≥ L) − P(≥ L + 1), and the predicted level is the most probable one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from mrs.data.levels import LevelScheme

ECE_BINS = 10


@dataclass
class IsotonicMap:
    """score → P(level ≥ ``level``): piecewise-linear through knots (x increasing, y non-decreasing), clipped."""

    level: str
    x: np.ndarray
    y: np.ndarray

    def predict(self, scores: np.ndarray | float) -> np.ndarray:
        """P(level ≥ L) for each score (same shape as ``scores``); 0.0 for an empty map."""
        s = np.asarray(scores, dtype=np.float64)
        if self.x.size == 0:
            return np.zeros_like(s)
        return np.interp(s, self.x, self.y)

    def to_dict(self) -> dict:
        return {"x": [float(v) for v in self.x], "y": [float(v) for v in self.y]}

    @classmethod
    def from_dict(cls, level: str, d: Mapping) -> IsotonicMap:
        return cls(level, np.asarray(d.get("x", []), dtype=np.float64), np.asarray(d.get("y", []), dtype=np.float64))


def fit_isotonic(scores: np.ndarray, positive: np.ndarray, level: str = "") -> IsotonicMap:
    """Fit an increasing, [0, 1]-bounded isotonic regression of ``positive`` (bool) on ``scores``."""
    from sklearn.isotonic import IsotonicRegression

    scores = np.asarray(scores, dtype=np.float64)
    y = np.asarray(positive, dtype=np.float64)
    if scores.size == 0:
        return IsotonicMap(level, np.zeros(0), np.zeros(0))
    reg = IsotonicRegression(increasing=True, y_min=0.0, y_max=1.0, out_of_bounds="clip")
    reg.fit(scores, y)
    return IsotonicMap(level, np.asarray(reg.X_thresholds_, dtype=np.float64),
                       np.asarray(reg.y_thresholds_, dtype=np.float64))


def fit_probability_maps(scores: np.ndarray, grades: np.ndarray, scheme: LevelScheme) -> dict[str, IsotonicMap]:
    """{level: IsotonicMap} for every level above the lowest, top level first."""
    grades = np.asarray(grades)
    return {scheme.name_of(g): fit_isotonic(scores, grades >= g, scheme.name_of(g))
            for g in range(scheme.top, 0, -1)}


def expected_calibration_error(probabilities: np.ndarray, outcomes: np.ndarray, n_bins: int = ECE_BINS) -> float | None:
    """ECE with ``n_bins`` equal-width bins over [0, 1] (see module doc); None when there is nothing to score."""
    p = np.asarray(probabilities, dtype=np.float64)
    y = np.asarray(outcomes, dtype=np.float64)
    if p.size == 0:
        return None
    bins = np.minimum((p * n_bins).astype(np.int64), n_bins - 1)
    n = np.bincount(bins, minlength=n_bins)
    sum_p = np.bincount(bins, weights=p, minlength=n_bins)
    sum_y = np.bincount(bins, weights=y, minlength=n_bins)
    used = n > 0
    return float(np.sum(np.abs(sum_y[used] - sum_p[used])) / p.size)


def calibration_errors(maps: Mapping[str, IsotonicMap], scores: np.ndarray, grades: np.ndarray,
                       scheme: LevelScheme) -> dict[str, float | None]:
    """{level: ECE of its map on (scores, grades)} — pass held-out queries' pairs."""
    grades = np.asarray(grades)
    out: dict[str, float | None] = {}
    for level, m in maps.items():
        g = scheme.grade_of(level)
        out[level] = expected_calibration_error(m.predict(scores), grades >= g)
    return out


def level_probabilities(maps: Mapping[str, IsotonicMap], scores: np.ndarray,
                        scheme: LevelScheme) -> tuple[np.ndarray, np.ndarray]:
    """(p_at_least, p_exactly), both (n, n_levels) indexed by grade, for scores (n,).

    p_at_least[:, 0] = 1; a level without a map borrows the map of the next level up (or 0 at the top).
    """
    s = np.atleast_1d(np.asarray(scores, dtype=np.float64))
    n_levels = scheme.top + 1
    at_least = np.ones((s.size, n_levels))
    for g in range(1, n_levels):
        m = maps.get(scheme.name_of(g))
        at_least[:, g] = m.predict(s) if m is not None and m.x.size else 0.0
    at_least = np.minimum.accumulate(at_least, axis=1)
    exactly = at_least - np.concatenate([at_least[:, 1:], np.zeros((s.size, 1))], axis=1)
    return at_least, exactly


def label_scores(maps: Mapping[str, IsotonicMap], scores: np.ndarray, scheme: LevelScheme) -> list[dict]:
    """For each score: {"level": most probable level, "probability": P(level = it), "p_at_least": {level: P}}."""
    at_least, exactly = level_probabilities(maps, scores, scheme)
    out = []
    for i in range(exactly.shape[0]):
        g = int(np.argmax(exactly[i]))
        out.append({
            "level": scheme.name_of(g),
            "probability": round(float(exactly[i, g]), 4),
            "p_at_least": {scheme.name_of(k): round(float(at_least[i, k]), 4) for k in range(scheme.top, 0, -1)},
        })
    return out
