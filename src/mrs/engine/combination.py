"""Score combination techniques of OpenSearch's normalization-processor, per document.

https://opensearch.org/docs/latest/search-plugins/search-pipelines/normalization-processor/ and neural-search's
source (opensearch-project/neural-search, main, src/main/java/org/opensearch/neuralsearch/processor/):
combination/{ArithmeticMean,GeometricMean,HarmonicMean}ScoreCombinationTechnique.java, ScoreCombinationUtil.java
and combination/ScoreCombiner.java (``getNormalizedScoresPerDocument``: a document a sub-query did not return
gets 0.0 there — a fresh Java float[] — not a marker).

Input: a (n_docs × n_subqueries) matrix of NORMALIZED scores with NaN where the document was not returned by
that sub-query (read as 0.0, as neural-search does); weights: one per sub-query (None → 1.0 each, OpenSearch's
default). Output: float32[n_docs]. Every sum runs sub-query by sub-query in float32, as the Java loops do.

- arithmetic_mean: Σ wᵢsᵢ / Σ wᵢ over the sub-queries with sᵢ ≥ 0 — a missing document (0.0) counts, with its
  weight in the denominator; a NEGATIVE score (l2 of negative raw scores) is skipped with its weight; 0 when no
  weight remains.
- geometric_mean: exp(Σ wᵢ ln sᵢ / Σ wᵢ) over sᵢ > 0 only (missing and ≤ 0 skipped with their weights); the
  weighted log sum is a float accumulating double terms; 0 when no sᵢ > 0.
- harmonic_mean: Σ wᵢ / Σ (wᵢ / sᵢ) over sᵢ > 0 only; 0 when Σ (wᵢ / sᵢ) is not > 0.

The kernels (``*_kernel``) take a weight MATRIX (n_weight_vectors × n_subqueries) and return
(n_weight_vectors × n_docs): the engine uses one row, the blend grid (mrs.blending.grid) all its weight vectors
at once, so both run exactly this arithmetic.

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


def _columns(matrix: np.ndarray, weight_matrix: np.ndarray):
    """(scores of sub-query j as a (1, n_docs) row with missing → 0.0, weights of j as (n_w, 1)) per j."""
    m = np.nan_to_num(np.asarray(matrix, dtype=np.float32), nan=0.0)
    w = np.asarray(weight_matrix, dtype=np.float32)
    for j in range(m.shape[1]):
        yield m[:, j][None, :], w[:, j:j + 1]


def arithmetic_mean_kernel(matrix, weight_matrix) -> np.ndarray:
    """ArithmeticMeanScoreCombinationTechnique.combine for every row of ``weight_matrix``: (n_w, n_docs)."""
    n_docs, n_w = np.shape(matrix)[0], np.shape(weight_matrix)[0]
    total = np.zeros((n_w, n_docs), dtype=np.float32)
    sum_w = np.zeros((n_w, n_docs), dtype=np.float32)
    for s, w in _columns(matrix, weight_matrix):
        counted = s >= 0
        total = np.where(counted, total + s * w, total).astype(np.float32)
        sum_w = np.where(counted, sum_w + w, sum_w).astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = total / sum_w
    return np.where(sum_w == 0, np.float32(0), out).astype(np.float32)


def geometric_mean_kernel(matrix, weight_matrix) -> np.ndarray:
    """GeometricMeanScoreCombinationTechnique.combine for every row of ``weight_matrix``: (n_w, n_docs)."""
    n_docs, n_w = np.shape(matrix)[0], np.shape(weight_matrix)[0]
    ln_sum = np.zeros((n_w, n_docs), dtype=np.float32)
    sum_w = np.zeros((n_w, n_docs), dtype=np.float32)
    for s, w in _columns(matrix, weight_matrix):
        counted = s > 0
        log_s = np.log(np.where(counted, s, np.float32(1)).astype(np.float64))
        ln_sum = np.where(counted, ln_sum.astype(np.float64) + w.astype(np.float64) * log_s, ln_sum)
        ln_sum = ln_sum.astype(np.float32)  # float += double: the sum is rounded to float at each step
        sum_w = np.where(counted, sum_w + w, sum_w).astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.exp((ln_sum / sum_w).astype(np.float32).astype(np.float64))
    return np.where(sum_w == 0, 0.0, out).astype(np.float32)


def harmonic_mean_kernel(matrix, weight_matrix) -> np.ndarray:
    """HarmonicMeanScoreCombinationTechnique.combine for every row of ``weight_matrix``: (n_w, n_docs)."""
    n_docs, n_w = np.shape(matrix)[0], np.shape(weight_matrix)[0]
    sum_w = np.zeros((n_w, n_docs), dtype=np.float32)
    sum_h = np.zeros((n_w, n_docs), dtype=np.float32)
    for s, w in _columns(matrix, weight_matrix):
        counted = s > 0
        safe = np.where(counted, s, np.float32(1))
        sum_w = np.where(counted, sum_w + w, sum_w).astype(np.float32)
        sum_h = np.where(counted, sum_h + (w / safe).astype(np.float32), sum_h).astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = sum_w / sum_h
    return np.where(sum_h > 0, out, np.float32(0)).astype(np.float32)


def arithmetic_mean(matrix, weights: Sequence[float] | None = None) -> np.ndarray:
    """Weighted arithmetic mean per row over scores ≥ 0 (missing = 0.0 counts, weight kept). float32[n_docs]."""
    m, w = _prepare(matrix, weights)
    return arithmetic_mean_kernel(m, w[None, :])[0]


def geometric_mean(matrix, weights: Sequence[float] | None = None) -> np.ndarray:
    """Weighted geometric mean per row over the entries > 0 only; 0 when a row has none. float32[n_docs]."""
    m, w = _prepare(matrix, weights)
    return geometric_mean_kernel(m, w[None, :])[0]


def harmonic_mean(matrix, weights: Sequence[float] | None = None) -> np.ndarray:
    """Weighted harmonic mean per row over the entries > 0 only; 0 when a row has none. float32[n_docs]."""
    m, w = _prepare(matrix, weights)
    return harmonic_mean_kernel(m, w[None, :])[0]


COMBINERS = {
    "arithmetic_mean": arithmetic_mean,
    "geometric_mean": geometric_mean,
    "harmonic_mean": harmonic_mean,
}
COMBINATION_KERNELS = {
    "arithmetic_mean": arithmetic_mean_kernel,
    "geometric_mean": geometric_mean_kernel,
    "harmonic_mean": harmonic_mean_kernel,
}
