"""Score combination techniques of OpenSearch's normalization-processor, per document.

https://opensearch.org/docs/latest/search-plugins/search-pipelines/normalization-processor/ and neural-search's
processor/combination/{ArithmeticMean,GeometricMean,HarmonicMean}ScoreCombinationTechnique.java,
ScoreCombinationUtil.java.

Input: a (n_docs × n_subqueries) matrix of NORMALIZED scores with NaN where the document was not returned by
that sub-query; weights: one per sub-query (None → 1.0 each, OpenSearch's default). Output: float32[n_docs].

- arithmetic_mean: Σ wᵢsᵢ / Σ wᵢ over ALL sub-queries — a missing document scores 0 there and that weight
  still counts in the denominator (neural-search fills missing scores with 0.0 and adds every weight).
- geometric_mean: exp(Σ wᵢ ln sᵢ / Σ wᵢ) over the sub-queries with sᵢ > 0 only (missing ones are skipped,
  their weight does not count); 0 when no sᵢ > 0.
- harmonic_mean: Σ wᵢ / Σ (wᵢ / sᵢ) over sᵢ > 0 only; 0 when no sᵢ > 0.

Weights (``validate_weights``): each in [0, 1], their sum 1 ± 0.01, exactly one per sub-query.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from mrs.errors import InputError

WEIGHT_SUM_DELTA = 0.01
COMBINATION_TECHNIQUES = ("arithmetic_mean", "geometric_mean", "harmonic_mean")


def validate_weights(weights: Sequence[float] | None, n_subqueries: int | None = None) -> list[float] | None:
    """Check weights as OpenSearch does; returns them as floats (None stays None = 1.0 each).

    Raises InputError: a weight outside [0, 1] or not a number, a sum not within 1 ± 0.01, or (when
    n_subqueries is given) a count different from the number of sub-queries.
    """
    if weights is None:
        return None
    if isinstance(weights, (str, bytes)) or not isinstance(weights, Sequence):
        raise InputError("parameter [weights] must be a collection of numbers")
    out: list[float] = []
    for w in weights:
        if isinstance(w, bool) or not isinstance(w, (int, float)) or not math.isfinite(w):
            raise InputError(f"parameter [weights] must be a collection of numbers, got {w!r}")
        if not 0.0 <= w <= 1.0:
            raise InputError(f"all weights must be in range [0.0 ... 1.0], got {w!r}")
        out.append(float(w))
    if not out:
        raise InputError("parameter [weights] must not be empty")
    total = sum(out)
    if abs(total - 1.0) > WEIGHT_SUM_DELTA:
        raise InputError(f"sum of weights for combination must be equal to 1.0 (± {WEIGHT_SUM_DELTA}), got {total:g}")
    if n_subqueries is not None and len(out) != n_subqueries:
        raise InputError(
            f"number of weights [{len(out)}] must match number of sub-queries [{n_subqueries}] in hybrid query"
        )
    return out


def _prepare(matrix, weights) -> tuple[np.ndarray, np.ndarray]:
    m = np.asarray(matrix, dtype=np.float32)
    if m.ndim != 2:
        raise InputError(f"score matrix must be 2-D (n_docs × n_subqueries), got shape {m.shape}")
    n_sub = m.shape[1]
    if weights is None:
        w = np.ones(n_sub, dtype=np.float32)
    else:
        w = np.asarray(validate_weights(weights, n_sub), dtype=np.float32)
    return m, w


def arithmetic_mean(matrix, weights: Sequence[float] | None = None) -> np.ndarray:
    """Weighted arithmetic mean per row; NaN (missing) counts as 0 with its weight kept. float32[n_docs]."""
    m, w = _prepare(matrix, weights)
    filled = np.where(np.isnan(m), np.float32(0), m)
    total_w = np.float32(w.sum())
    if total_w == 0:
        return np.zeros(m.shape[0], dtype=np.float32)
    return ((filled * w).sum(axis=1, dtype=np.float32) / total_w).astype(np.float32)


def geometric_mean(matrix, weights: Sequence[float] | None = None) -> np.ndarray:
    """Weighted geometric mean per row over the entries > 0 only; 0 when a row has none. float32[n_docs]."""
    m, w = _prepare(matrix, weights)
    positive = ~np.isnan(m) & (m > 0)
    safe = np.where(positive, m, np.float32(1))
    w_row = np.where(positive, w, np.float32(0))
    sum_w = w_row.sum(axis=1, dtype=np.float32)
    ln_sum = (w_row * np.log(safe.astype(np.float64))).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.exp(ln_sum / sum_w)
    return np.where(sum_w == 0, 0.0, out).astype(np.float32)


def harmonic_mean(matrix, weights: Sequence[float] | None = None) -> np.ndarray:
    """Weighted harmonic mean per row over the entries > 0 only; 0 when a row has none. float32[n_docs]."""
    m, w = _prepare(matrix, weights)
    positive = ~np.isnan(m) & (m > 0)
    safe = np.where(positive, m, np.float32(1))
    w_row = np.where(positive, w, np.float32(0))
    sum_w = w_row.sum(axis=1, dtype=np.float32)
    denom = (w_row / safe).sum(axis=1, dtype=np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = sum_w / denom
    return np.where(sum_w == 0, 0.0, out).astype(np.float32)


COMBINERS = {
    "arithmetic_mean": arithmetic_mean,
    "geometric_mean": geometric_mean,
    "harmonic_mean": harmonic_mean,
}
