"""normalization-processor techniques with hand-computed numbers (neural-search semantics)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mrs.engine.techniques.l2 import l2
from mrs.engine.techniques.min_max import ScoreBound, min_max
from mrs.engine.techniques.z_score import z_score
from mrs.errors import InputError

S = [2.0, 4.0, 6.0]  # min 2, max 6


def close(actual, expected):
    np.testing.assert_allclose(actual, expected, rtol=1e-6)


def test_min_max_plain_and_floor():
    # (s − 2)/(6 − 2): 2 → 0 → floored to 0.001; 4 → 0.5; 6 → 1
    close(min_max(S), [0.001, 0.5, 1.0])


def test_min_max_all_equal_and_single():
    # max == min == s for a positive score: SINGLE_RESULT_SCORE 1.0 (isSingleScore, before any bound)
    close(min_max([3.0, 3.0]), [1.0, 1.0])
    close(min_max([3.0, 3.0], ScoreBound("clip", 5.0)), [1.0, 1.0])
    close(min_max([5.0]), [1.0])
    assert min_max([]).size == 0


def test_lower_bound_apply_is_strict_per_document():
    # lb 3, max 6 > 3. s 2 (not > 3) → plain (2 − 2)/4 = 0 → 0.001; s 4 → (4 − 3)/(6 − 3) = 1/3; s 6 → 1
    close(min_max(S, ScoreBound("apply", 3.0)), [0.001, 1 / 3, 1.0])
    # lb 3 with s exactly 3: not > lb → plain (3 − 2)/(6 − 2) = 0.25
    close(min_max([2.0, 3.0, 6.0], ScoreBound("apply", 3.0)), [0.001, 0.25, 1.0])
    # max ≤ lb → the bound is not used at all
    close(min_max(S, ScoreBound("apply", 10.0)), [0.001, 0.5, 1.0])


def test_lower_bound_clip():
    # lb 3: s 2 < 3 → 0.001 (the code's MIN_SCORE); s 4 → (4 − 3)/3 = 1/3; s 6 → 1
    close(min_max(S, ScoreBound("clip", 3.0)), [0.001, 1 / 3, 1.0])
    # max 6 < lb 10 → plain min_max
    close(min_max(S, ScoreBound("clip", 10.0)), [0.001, 0.5, 1.0])


def test_lower_bound_ignore():
    close(min_max(S, ScoreBound("ignore", 3.0)), [0.001, 0.5, 1.0])


def test_upper_bound_apply():
    # ub 5, min 2 < 5. s 2 → (2 − 2)/(5 − 2) = 0 → 0.001; s 4 → 2/3; s 6 (not < 5) → plain (6 − 2)/4 = 1
    close(min_max(S, upper_bound=ScoreBound("apply", 5.0)), [0.001, 2 / 3, 1.0])
    # s 3 with ub 8: (3 − 2)/(8 − 2) = 1/6 — the bound stretches the range beyond the max
    close(min_max([2.0, 3.0], upper_bound=ScoreBound("apply", 8.0)), [0.001, 1 / 6])


def test_upper_bound_clip():
    # ub 5: s 6 > 5 → 1.0; s 4 → (4 − 2)/(5 − 2) = 2/3; s 2 → 0.001
    close(min_max(S, upper_bound=ScoreBound("clip", 5.0)), [0.001, 2 / 3, 1.0])
    # min 2 > ub 1 → plain
    close(min_max(S, upper_bound=ScoreBound("clip", 1.0)), [0.001, 0.5, 1.0])
    close(min_max(S, upper_bound=ScoreBound("ignore", 5.0)), [0.001, 0.5, 1.0])


def test_both_bounds():
    # lower apply 3, upper apply 5:
    #   s 2: eff_min 2 (2 ≤ 3), eff_max 5 (2 < 5) → 0 → 0.001
    #   s 4: eff_min 3, eff_max 5 → (4 − 3)/2 = 0.5
    #   s 6: eff_min 3, eff_max 6 (6 ≥ 5) → 1
    close(min_max(S, ScoreBound("apply", 3.0), ScoreBound("apply", 5.0)), [0.001, 0.5, 1.0])
    # lower clip 3 + upper clip 5 on [2, 4, 6]: 2 → 0.001 (low clip first), 4 → (4 − 3)/(5 − 3) = 0.5, 6 → 1.0
    close(min_max(S, ScoreBound("clip", 3.0), ScoreBound("clip", 5.0)), [0.001, 0.5, 1.0])


def test_bound_validation():
    ScoreBound("apply", -10000.0)
    ScoreBound("clip", 10000.0)
    with pytest.raises(InputError, match="between"):
        ScoreBound("apply", 10000.5)
    with pytest.raises(InputError, match="invalid bound mode"):
        ScoreBound("floor", 0.1)
    with pytest.raises(InputError):
        ScoreBound("apply", float("inf"))


def test_l2():
    # sqrt(3² + 4²) = 5 → [0.6, 0.8]
    close(l2([3.0, 4.0]), [0.6, 0.8])


def test_l2_all_zero_gives_zero_not_min_max_floor():
    # L2ScoreNormalizationTechnique: MIN_SCORE = 0.0f, returned when the norm is 0
    assert l2([0.0, 0.0]).tolist() == [0.0, 0.0]


def test_l2_sums_squares_in_float32_in_rank_order():
    # Java: l2Norms += s*s in float, one score after the other (best first). After 1² = 1, each (2^-13)² =
    # 2^-26 is half an ulp of 1 in float32: 1 + 2^-26 ties and rounds to even, 1.0, so the norm stays 1 and
    # 1/1 = 1.0. Summed pairwise (numpy's np.sum) the 16 small squares first make 2^-22, the norm becomes
    # sqrt(1 + 2^-22) and the first score 0.9999999.
    scores = [1.0] + [2.0 ** -13] * 16
    assert l2(scores)[0] == np.float32(1.0)


def test_min_max_all_zero_gives_floor_not_one():
    # neural-search starts max at Float.MIN_VALUE (1.4e-45): max 1.4e-45 ≠ min 0 → (0 − 0)/1.4e-45 = 0 → 0.001
    close(min_max([0.0, 0.0, 0.0]), [0.001, 0.001, 0.001])
    close(min_max([0.0]), [0.001])


def test_min_max_negative_scores_use_float_min_value_as_max():
    # [−1, −2]: max = Float.MIN_VALUE ≈ 0, min −2 → (−1 + 2)/2 = 0.5; (−2 + 2)/2 = 0 → 0.001
    close(min_max([-1.0, -2.0]), [0.5, 0.001])
    # a single negative score is not "one result → 1.0": (−3 + 3)/(0 + 3) = 0 → 0.001
    close(min_max([-3.0]), [0.001])
    # bounds see the same max: lower bound apply −2.5 (max 1.4e-45 > −2.5): −1 → (−1 + 2.5)/2.5 = 0.6
    close(min_max([-1.0, -2.0], ScoreBound("apply", -2.5)), [0.6, (-2.0 + 2.5) / 2.5])


def test_z_score_uses_sample_std_and_floors():
    # [1, 2, 3, 6]: mean 3; sample variance (4 + 1 + 0 + 9)/3 = 14/3; σ = 2.1602469
    #   1 → −0.926 → 0.001; 2 → −0.463 → 0.001; 3 == mean → raw max 6.0; 6 → 3/2.1602469 = 1.3887301
    z = z_score([1.0, 2.0, 3.0, 6.0])
    close(z, [0.001, 0.001, 6.0, 3 / math.sqrt(14 / 3)])
    # the population σ (n) would give 3/sqrt(3.5) = 1.6035675
    assert z[3] != pytest.approx(3 / math.sqrt(3.5), rel=1e-3)


def test_z_score_single_and_equal():
    close(z_score([5.0]), [5.0])  # one result: equal to the mean → the raw max
    close(z_score([2.0, 2.0]), [2.0, 2.0])
    assert z_score([]).size == 0
