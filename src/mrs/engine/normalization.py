"""Score normalization techniques of OpenSearch's normalization-processor, one sub-query at a time.

https://opensearch.org/docs/latest/search-plugins/search-pipelines/normalization-processor/ and neural-search's
source (opensearch-project/neural-search, main, src/main/java/org/opensearch/neuralsearch/processor/):
normalization/{MinMax,L2,ZScore}ScoreNormalizationTechnique.java and normalization/bounds/{LowerBound,UpperBound,
ScoreBound,BoundMode}.java. Each edge case below is what that code does.

Each function takes ONE sub-query's candidate scores (the docs that sub-query returned: its statistics are
computed over exactly these) and returns their normalized scores, same order. Arithmetic is float32, as Java's
``float`` in neural-search (mean and standard deviation in double, then rounded to float, as there).

- ``min_max``: (s − min)/(max − min); a result of exactly 0 becomes 0.001 (MIN_SCORE). ``max`` starts at Java's
  Float.MIN_VALUE (1.4e-45, the smallest POSITIVE float) and ``min`` at Float.MAX_VALUE, so a sub-query whose
  scores are all ≤ 0 has max = 1.4e-45: an all-zero list gives 0.001 each (not 1.0) and [−1, −2] gives
  [0.5, 0.001]. When max == min == s (one positive result, or equal positive scores) the result is 1.0, checked
  before any bound. Optional per-sub-query bounds (``ScoreBound``):
  lower bound (mode, min_score = lb, default mode "apply", default lb 0.0):
    apply:  when max > lb AND s > lb (strictly, per document) use lb as the minimum: (s − lb)/(max − lb);
            otherwise plain min_max for that document;
    clip:   when max ≥ lb the minimum is lb: s < lb → 0.001, else (s − lb)/(max − lb);
            when max < lb the bound is disregarded (plain min_max);
    ignore: plain min_max.
  upper bound (mode, max_score = ub, default ub 1.0):
    apply:  when min < ub AND s < ub use ub as the maximum: (s − min)/(ub − min); otherwise plain;
    clip:   when min ≤ ub the maximum is ub: s > ub → 1.0, else (s − min)/(ub − min); min > ub → plain;
    ignore: plain.
  Lower clipping is checked before upper clipping. Bounds lie in [−10000, 10000]. (OpenSearch's docs say
  clip sets low scores to 0; the code returns 0.001, which is what a cluster does, so that is what we do.)
- ``l2``: s / sqrt(Σ s²) over the sub-query's candidates, Σ accumulated in float in rank order and the root
  taken in double, as ``getL2Norm``; a zero norm gives 0.0 (L2's MIN_SCORE is 0.0f, not min_max's 0.001).
- ``z_score``: (s − μ)/σ with σ the SAMPLE standard deviation (n − 1, commons-math DescriptiveStatistics);
  s == μ (float compare) → the sub-query's raw MAX score; σ == 0 → the raw MIN score; a z ≤ 0 → 0.001.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mrs.errors import InputError

MIN_SCORE = np.float32(0.001)
L2_MIN_SCORE = np.float32(0.0)
FLOAT_MIN_VALUE = np.float32(1.4e-45)  # Java's Float.MIN_VALUE: where neural-search's running max starts
MAX_SCORE = np.float32(1.0)
SINGLE_RESULT_SCORE = np.float32(1.0)
MIN_BOUND_SCORE = -10_000.0
MAX_BOUND_SCORE = 10_000.0
BOUND_MODES = ("apply", "clip", "ignore")
DEFAULT_LOWER_BOUND_SCORE = 0.0
DEFAULT_UPPER_BOUND_SCORE = 1.0

_f32 = np.float32


@dataclass(frozen=True)
class ScoreBound:
    """One sub-query's lower or upper bound for min_max. mode: apply | clip | ignore; score: the bound value
    (``min_score`` of a lower bound, ``max_score`` of an upper bound), in [−10000, 10000]."""

    mode: str = "apply"
    score: float = 0.0

    def __post_init__(self) -> None:
        if self.mode not in BOUND_MODES:
            raise InputError(f"invalid bound mode: {self.mode!r}, valid values are: {', '.join(BOUND_MODES)}")
        if not (isinstance(self.score, (int, float)) and math.isfinite(self.score)) or not (
            MIN_BOUND_SCORE <= self.score <= MAX_BOUND_SCORE
        ):
            raise InputError(
                f"bound score must be a valid finite number between {MIN_BOUND_SCORE:g} and {MAX_BOUND_SCORE:g},"
                f" got {self.score!r}"
            )


def _as_f32(scores) -> np.ndarray:
    return np.asarray(scores, dtype=np.float32).reshape(-1)


def min_max(scores, lower_bound: ScoreBound | None = None, upper_bound: ScoreBound | None = None) -> np.ndarray:
    """min_max normalization of one sub-query's candidate scores, with optional bounds (module doc).

    scores: raw scores (BM25, k-NN score, ...). Returns float32 normalized scores, same order.
    """
    s = _as_f32(scores)
    if s.size == 0:
        return s.copy()
    lo, hi = s.min(), max(s.max(), FLOAT_MIN_VALUE)
    unbounded = (lower_bound is None or lower_bound.mode == "ignore") and (
        upper_bound is None or upper_bound.mode == "ignore")
    if unbounded:  # the common case, same float32 arithmetic as below without the bound bookkeeping
        if hi == lo:
            return np.full(s.shape, SINGLE_RESULT_SCORE, dtype=np.float32)
        out = ((s - lo) / (hi - lo)).astype(np.float32)
        out[out == 0] = MIN_SCORE
        return out
    eff_min = np.full_like(s, lo)
    eff_max = np.full_like(s, hi)
    clip_low = np.zeros(s.shape, dtype=bool)
    clip_high = np.zeros(s.shape, dtype=bool)
    if lower_bound is not None and lower_bound.mode != "ignore":
        lb = _f32(lower_bound.score)
        if lower_bound.mode == "apply":
            eff_min = np.where((hi > lb) & (s > lb), lb, lo).astype(np.float32)
        else:  # clip
            eff_min = np.full_like(s, lo if hi < lb else lb)
            clip_low = s < eff_min
    if upper_bound is not None and upper_bound.mode != "ignore":
        ub = _f32(upper_bound.score)
        if upper_bound.mode == "apply":
            eff_max = np.where((lo < ub) & (s < ub), ub, hi).astype(np.float32)
        else:  # clip
            eff_max = np.full_like(s, hi if lo > ub else ub)
            clip_high = s > eff_max
    span = eff_max - eff_min
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (s - eff_min) / span
    out = np.where(out == 0, MIN_SCORE, out)
    out = np.where(span == 0, SINGLE_RESULT_SCORE, out)
    out = np.where(clip_high, MAX_SCORE, out)
    out = np.where(clip_low, MIN_SCORE, out)
    # every score equal (one result, or ties): max == min == s → 1.0 before any bound is looked at
    out = np.where((hi == lo) & (s == hi), SINGLE_RESULT_SCORE, out)
    return out.astype(np.float32)


def l2(scores) -> np.ndarray:
    """l2 normalization: s / sqrt(Σ s²) over the sub-query's candidates; zero norm → 0.0.

    scores: raw scores in rank order (best first), the order neural-search sums them in. The sum of squares
    is accumulated left to right in float32 (``l2Norms[i] += score * score``), the root in double then
    rounded to float. Returns float32, same order.
    """
    s = _as_f32(scores)
    if s.size == 0:
        return s.copy()
    squares = (s * s).astype(np.float32)
    total = np.add.accumulate(squares, dtype=np.float32)[-1]  # sequential, not numpy's pairwise sum
    norm = _f32(math.sqrt(float(total)))
    if norm == 0:
        return np.full_like(s, L2_MIN_SCORE)
    return (s / norm).astype(np.float32)


def z_score(scores) -> np.ndarray:
    """z_score normalization (s − μ)/σ, σ the sample standard deviation (n − 1); z ≤ 0 → 0.001.

    Edge cases as neural-search's ZScoreNormalizationTechnique: a score equal to the mean (compared as float)
    gets the sub-query's raw max score; σ == 0 (one result) gives the raw min score. Returns float32.
    """
    s = _as_f32(scores)
    if s.size == 0:
        return s.copy()
    s64 = s.astype(np.float64)
    mean = _f32(s64.mean())
    std = _f32(s64.std(ddof=1)) if s.size > 1 else _f32(0.0)
    hi, lo = s.max(), s.min()
    if std == 0:
        z = np.full_like(s, lo)
    else:
        z = ((s - mean) / std).astype(np.float32)
        z = np.where(z <= 0, MIN_SCORE, z)
    return np.where(s == mean, hi, z).astype(np.float32)


NORMALIZATION_TECHNIQUES = ("min_max", "l2", "z_score")
