"""min_max normalization: (s − min)/(max − min) over one sub-query's candidates.

OpenSearch (normalization-processor ``min_max``, 2.10; ``lower_bounds`` / ``upper_bounds``): as neural-search's
processor/normalization/MinMaxScoreNormalizationTechnique.java and normalization/bounds/{LowerBound,
UpperBound,ScoreBound,BoundMode}.java compute it, float32 as Java's ``float``
(https://opensearch.org/docs/latest/search-plugins/search-pipelines/normalization-processor/):
- a result of exactly 0 becomes 0.001 (MIN_SCORE). ``max`` starts at Java's Float.MIN_VALUE (1.4e-45, the
  smallest POSITIVE float) and ``min`` at Float.MAX_VALUE, so a sub-query whose scores are all ≤ 0 has
  max = 1.4e-45: an all-zero list gives 0.001 each and [−1, −2] gives [0.5, 0.001]. When max == min == s
  (one positive result, or equal positive scores) the result is 1.0, checked before any bound.
- lower bound (``ScoreBound``: mode, min_score = lb; default mode "apply", default lb 0.0):
    apply:  when max > lb AND s > lb (strictly, per document) use lb as the minimum: (s − lb)/(max − lb);
            otherwise plain min_max for that document;
    clip:   when max ≥ lb the minimum is lb: s < lb → 0.001, else (s − lb)/(max − lb);
            when max < lb the bound is disregarded (plain min_max);
    ignore: plain min_max.
- upper bound (mode, max_score = ub, default ub 1.0):
    apply:  when min < ub AND s < ub use ub as the maximum: (s − min)/(ub − min); otherwise plain;
    clip:   when min ≤ ub the maximum is ub: s > ub → 1.0, else (s − min)/(ub − min); min > ub → plain;
    ignore: plain.
  Lower clipping is checked before upper clipping. Bounds lie in [−10000, 10000]. Clipping below a lower
  bound gives 0.001 (neural-search's code; OpenSearch's page says 0).

Elasticsearch (linear retriever normalizer ``minmax``, 8.18; x-pack rank-rrf MinMaxScoreNormalizer,
https://www.elastic.co/docs/reference/elasticsearch/rest-apis/retrievers/linear-retriever): (s − min)/(max −
min) in float; when max − min < 1e-6 (one result, or all scores equal) every document gets 1.0; the lowest
document keeps 0 (no 0.001 floor); no bounds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mrs.engine.techniques import base
from mrs.errors import InputError

MIN_SCORE = np.float32(0.001)
FLOAT_MIN_VALUE = np.float32(1.4e-45)  # Java's Float.MIN_VALUE: where neural-search's running max starts
MAX_SCORE = np.float32(1.0)
SINGLE_RESULT_SCORE = np.float32(1.0)
MIN_BOUND_SCORE = -10_000.0
MAX_BOUND_SCORE = 10_000.0
BOUND_MODES = ("apply", "clip", "ignore")
DEFAULT_LOWER_BOUND_SCORE = 0.0
DEFAULT_UPPER_BOUND_SCORE = 1.0
ES_EPSILON = np.float32(1e-6)

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

    @property
    def bounded(self) -> bool:
        """False for mode ignore (the bound changes nothing)."""
        return self.mode != "ignore"

    def to_json(self, score_key: str = "min_score") -> dict:
        """The pipeline body's entry: {"mode", score_key} (``min_score`` for a lower bound, ``max_score`` for
        an upper one); mode ignore carries no score."""
        return {"mode": self.mode} if self.mode == "ignore" else {"mode": self.mode, score_key: self.score}


def _as_f32(scores) -> np.ndarray:
    return np.asarray(scores, dtype=np.float32).reshape(-1)


def min_max(scores, lower_bound: ScoreBound | None = None, upper_bound: ScoreBound | None = None) -> np.ndarray:
    """OpenSearch's min_max of one sub-query's candidate scores, with optional bounds (module doc).

    scores: raw scores (BM25, k-NN score, ...). Returns float32 normalized scores, same order.
    """
    s = _as_f32(scores)
    if s.size == 0:
        return s.copy()
    lo, hi = s.min(), max(s.max(), FLOAT_MIN_VALUE)
    if not (lower_bound is not None and lower_bound.bounded) and not (upper_bound is not None and upper_bound.bounded):
        if hi == lo:  # the common case, same float32 arithmetic as below without the bound bookkeeping
            return np.full(s.shape, SINGLE_RESULT_SCORE, dtype=np.float32)
        out = ((s - lo) / (hi - lo)).astype(np.float32)
        out[out == 0] = MIN_SCORE
        return out
    eff_min = np.full_like(s, lo)
    eff_max = np.full_like(s, hi)
    clip_low = np.zeros(s.shape, dtype=bool)
    clip_high = np.zeros(s.shape, dtype=bool)
    if lower_bound is not None and lower_bound.bounded:
        lb = _f32(lower_bound.score)
        if lower_bound.mode == "apply":
            eff_min = np.where((hi > lb) & (s > lb), lb, lo).astype(np.float32)
        else:  # clip
            eff_min = np.full_like(s, lo if hi < lb else lb)
            clip_low = s < eff_min
    if upper_bound is not None and upper_bound.bounded:
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


def minmax(scores) -> np.ndarray:
    """Elasticsearch's ``minmax`` normalizer over one sub-retriever's scores (float32, same order).

    (s − min)/(max − min); every score 1.0 when |max − min| < 1e-6.
    """
    s = _as_f32(scores)
    if s.size == 0:
        return s.copy()
    lo, hi = s.min(), s.max()
    if abs(hi - lo) < ES_EPSILON:
        return np.ones_like(s)
    return ((s - lo) / (hi - lo)).astype(np.float32)


TECHNIQUE = base.Technique(
    "min_max", base.NORMALIZATION,
    "OpenSearch normalization-processor min_max (neural-search MinMaxScoreNormalizationTechnique); "
    "Elasticsearch linear retriever minmax",
    {base.OPENSEARCH: base.Support("min_max", base.NORMALIZATION_PROCESSOR, "2.10",
                                   {"lower_bounds": None, "upper_bounds": None}, normalize=min_max),
     base.ELASTICSEARCH: base.Support("minmax", base.LINEAR_RETRIEVER, "8.18", normalize=minmax)},
)
