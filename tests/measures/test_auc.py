"""The one AUC: hand-computed Mann–Whitney values, and equal to sklearn's roc_auc_score (the peer)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from mrs.measures.auc import auc, separation_auc


def test_auc_counts_ties_as_half():
    # hi {3, 2, 2} vs lo {2, 1}: pairs (3>2, 3>1, 2=2, 2>1, 2=2, 2>1) → (1 + 1 + ½ + 1 + ½ + 1) / 6 = 5/6
    assert auc([3, 2, 2], [2, 1]) == pytest.approx(5 / 6)
    assert auc([1], []) is None and auc([], [1]) is None


def test_separation_auc_pools_two_grades_and_ignores_the_others():
    # grade 3: {0.9, 0.4}; grade 0: {0.5, 0.1}; grade 1 (0.95) ignored → 3 of 4 pairs ordered → 0.75
    assert separation_auc([0.9, 0.4, 0.5, 0.1, 0.95], [3, 3, 0, 0, 1], 3, 0) == pytest.approx(0.75)
    assert separation_auc([0.9, 0.4], [3, 3], 3, 0) is None


def test_auc_equals_sklearn_roc_auc_with_ties():
    rng = np.random.default_rng(7)
    scores = np.round(rng.random(200), 1)  # many ties
    grades = rng.integers(0, 3, 200)
    keep = (grades == 2) | (grades == 0)
    expected = roc_auc_score((grades[keep] == 2).astype(int), scores[keep])
    assert separation_auc(scores, grades, 2, 0) == pytest.approx(expected, abs=1e-12)
