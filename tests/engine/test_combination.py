"""Combination techniques with a document missing from one sub-query (NaN)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mrs.engine.techniques.arithmetic_mean import arithmetic_mean
from mrs.engine.techniques.geometric_mean import geometric_mean
from mrs.engine.techniques.harmonic_mean import harmonic_mean
from mrs.engine.techniques.weights import validate_weights
from mrs.errors import InputError

NAN = float("nan")
# row 0: in both sub-queries; row 1: missing from sub-query 2; row 2: missing from both
M = [[0.8, 0.4], [0.5, NAN], [NAN, NAN]]
W = [0.7, 0.3]


def close(actual, expected):
    np.testing.assert_allclose(actual, expected, rtol=1e-6)


def test_arithmetic_mean_counts_missing_as_zero_with_weight():
    # row 0: 0.7·0.8 + 0.3·0.4 = 0.68; row 1: (0.7·0.5 + 0.3·0)/(0.7 + 0.3) = 0.35; row 2: 0
    close(arithmetic_mean(M, W), [0.68, 0.35, 0.0])
    # default weights 1.0 each: row 1 → (0.5 + 0)/2 = 0.25
    close(arithmetic_mean(M), [0.6, 0.25, 0.0])


def test_geometric_mean_over_present_scores_only():
    # row 0: exp(0.7·ln 0.8 + 0.3·ln 0.4) = exp(−0.1562005 − 0.2748872) = 0.6498019
    # row 1: exp(0.7·ln 0.5 / 0.7) = 0.5 (the missing sub-query's weight is dropped); row 2: 0
    expected0 = math.exp(0.7 * math.log(0.8) + 0.3 * math.log(0.4))
    close(geometric_mean(M, W), [expected0, 0.5, 0.0])
    assert expected0 == pytest.approx(0.6498019, rel=1e-6)


def test_harmonic_mean_over_present_scores_only():
    # row 0: 1/(0.7/0.8 + 0.3/0.4) = 1/1.625 = 0.6153846; row 1: 0.7/(0.7/0.5) = 0.5; row 2: 0
    close(harmonic_mean(M, W), [1 / 1.625, 0.5, 0.0])


def test_zero_scores_skipped_by_geometric_and_harmonic():
    close(geometric_mean([[0.0, 0.25]], W), [0.25])
    close(harmonic_mean([[0.0, 0.25]], W), [0.25])


def test_weight_validation():
    assert validate_weights([0.695, 0.3], 2) == [0.695, 0.3]  # sum 0.995 within 1 ± 0.01
    with pytest.raises(InputError, match="sum of weights"):
        validate_weights([0.5, 0.6], 2)
    with pytest.raises(InputError, match="range"):
        validate_weights([1.2, -0.2], 2)
    with pytest.raises(InputError, match="must match number of sub-queries"):
        validate_weights([0.5, 0.25, 0.25], 2)
    with pytest.raises(InputError, match="collection of numbers"):
        validate_weights(["a", 1.0], 2)
    with pytest.raises(InputError, match="must match"):
        arithmetic_mean(M, [1.0])


def test_arithmetic_mean_skips_negative_scores_with_their_weight():
    # neural-search counts a score only when score ≥ 0.0: row [0.8, −0.4] → 0.7·0.8 / 0.7 = 0.8 (not
    # (0.56 − 0.12)/1 = 0.44); a missing score (0.0) still counts with its weight: [0.8, NaN] → 0.56
    close(arithmetic_mean([[0.8, -0.4], [0.8, NAN]], W), [0.8, 0.56])
    # every score negative: no weight left → 0
    close(arithmetic_mean([[-0.5, -0.1]], W), [0.0])


def test_geometric_and_harmonic_skip_non_positive_scores_with_their_weight():
    # [0.5, −0.2]: only 0.5 counts with weight 0.7 → exp(0.7 ln 0.5 / 0.7) = 0.5; harmonic 0.7/(0.7/0.5) = 0.5
    close(geometric_mean([[0.5, -0.2]], W), [0.5])
    close(harmonic_mean([[0.5, -0.2]], W), [0.5])
    close(geometric_mean([[-0.5, 0.0]], W), [0.0])
    close(harmonic_mean([[-0.5, 0.0]], W), [0.0])


def test_arithmetic_mean_is_float32_step_by_step():
    # Java: combined += s·w in float, then / Σw in float. 0.1f·0.7f + 0.2f·0.3f, divided by 0.7f + 0.3f
    w7, w3 = np.float32(0.7), np.float32(0.3)
    expected = (np.float32(np.float32(0.1) * w7) + np.float32(np.float32(0.2) * w3)) / np.float32(w7 + w3)
    assert arithmetic_mean([[0.1, 0.2]], W)[0] == np.float32(expected)


def test_kernels_take_many_weight_vectors_at_once():
    from mrs.engine.techniques import COMBINATION_KERNELS

    weights = np.array([[0.7, 0.3], [0.2, 0.8], [1.0, 0.0]])
    for name, kernel in COMBINATION_KERNELS.items():
        batch = kernel(np.asarray(M, dtype=np.float32), weights)
        single = {"arithmetic_mean": arithmetic_mean, "geometric_mean": geometric_mean,
                  "harmonic_mean": harmonic_mean}[name]
        for i, w in enumerate(weights):
            np.testing.assert_array_equal(batch[i], single(M, list(w)))
