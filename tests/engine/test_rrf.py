"""score-ranker-processor RRF: weighted sum, ranks from 1, 10-decimal half-up rounding."""

from __future__ import annotations

import numpy as np
import pytest

from mrs.engine.techniques.rrf import rrf_combine, rrf_rank_scores, validate_rank_constant
from mrs.errors import InputError


def test_rank_scores_rounded_to_10_decimals():
    s = rrf_rank_scores(2, 60)
    # 1/61 = 0.016393442622… → 0.0163934426; 1/62 = 0.016129032258… → 0.0161290323 (rounded up)
    assert s[0] == np.float32(0.0163934426)
    assert s[1] == np.float32(0.0161290323)


def test_half_up_not_half_even():
    # 1/(2047 + 1) = 1/2048 = 0.00048828125 exactly: HALF_UP → 0.0004882813 (HALF_EVEN would give …812)
    s = rrf_rank_scores(1, 2047)[0]
    assert s == np.float32(0.0004882813)
    assert s != np.float32(1 / 2048)


def test_rrf_combine_weighted_sum_not_mean():
    # sub-query 1 ranks a, b, c; sub-query 2 ranks b, a (c missing there)
    k60 = rrf_rank_scores(3, 60)  # 1/61 → 0.0163934426, 1/62 → 0.0161290323, 1/63 → 0.0158730159
    matrix = [[k60[0], k60[1]], [k60[1], k60[0]], [k60[2], float("nan")]]
    fused = rrf_combine(matrix, [0.6, 0.4])
    # a: 0.6·0.0163934426 + 0.4·0.0161290323 = 0.0162876785; b: 0.6·0.0161290323 + 0.4·0.0163934426 = 0.0162347964
    # c: 0.6·0.0158730159 = 0.0095238095 (missing from sub-query 2: nothing added, no mean)
    assert fused.tolist() == pytest.approx([0.0162876785, 0.0162347964, 0.0095238095], rel=1e-6)
    # default weights 1.0 each, summed: 2·0.0163934426
    assert rrf_combine([[k60[0], k60[0]]])[0] == pytest.approx(2 * 0.0163934426, rel=1e-6)


def test_rank_constant_range():
    assert validate_rank_constant(1) == 1 and validate_rank_constant(10000) == 10000
    for bad in (0, 10001, "x", True, 1.5):
        with pytest.raises(InputError):
            validate_rank_constant(bad)


def test_rrf_combination_skips_negative_scores_with_their_weight():
    from mrs.engine.techniques.rrf import rrf_combine

    # RRFScoreCombinationTechnique adds s·w for s ≥ 0 only: [0.0163934426, −0.5] → 0.6·0.0163934426
    out = rrf_combine([[0.0163934426, -0.5], [0.0163934426, float("nan")]], [0.6, 0.4])
    assert out[0] == np.float32(np.float32(0.0163934426) * np.float32(0.6))
    assert out[1] == out[0]  # missing reads 0.0: adds 0.4·0 = 0
    # nothing counted (every score negative) → 0
    assert rrf_combine([[-1.0, -2.0]], [0.5, 0.5])[0] == 0.0
