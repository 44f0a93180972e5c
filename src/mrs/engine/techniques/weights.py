"""Sub-query weights of a combination: their validation (OpenSearch's rules) and the column-by-column loops
every combination kernel shares.

OpenSearch (neural-search ScoreCombinationUtil): each weight in [0, 1], their sum 1 ± 0.01, exactly one per
sub-query; no weights → 1.0 each. A document a sub-query did not return is NaN in a score matrix and reads
0.0 there, as neural-search's ScoreCombiner.getNormalizedScoresPerDocument (a fresh Java float[]) does.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np

from mrs.errors import InputError

WEIGHT_SUM_DELTA = 0.01


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


def weight_row(matrix, weights: Sequence[float] | None) -> tuple[np.ndarray, np.ndarray]:
    """(float32 score matrix, float32 (1, n_subqueries) weights) for one combination; weights validated
    against the matrix's sub-query count (None → 1.0 each). InputError unless the matrix is 2-D."""
    m = np.asarray(matrix, dtype=np.float32)
    if m.ndim != 2:
        raise InputError(f"score matrix must be 2-D (n_docs × n_subqueries), got shape {m.shape}")
    if weights is None:
        w = np.ones(m.shape[1], dtype=np.float32)
    else:
        w = np.asarray(validate_weights(weights, m.shape[1]), dtype=np.float32)
    return m, w[None, :]


def columns(matrix, weight_matrix) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(scores of sub-query j as a (1, n_docs) row with missing → 0.0, weights of j as (n_w, 1)) per j."""
    m = np.nan_to_num(np.asarray(matrix, dtype=np.float32), nan=0.0)
    w = np.asarray(weight_matrix, dtype=np.float32)
    for j in range(m.shape[1]):
        yield m[:, j][None, :], w[:, j:j + 1]


def non_negative_sums(matrix, weight_matrix) -> tuple[np.ndarray, np.ndarray]:
    """(Σ wᵢsᵢ, Σ wᵢ) over the sub-queries with sᵢ ≥ 0 (missing reads 0.0 and counts), float32 sub-query by
    sub-query as the Java loops: (n_w, n_docs) each. The arithmetic mean divides them, RRF keeps the sum."""
    n_docs, n_w = np.shape(matrix)[0], np.shape(weight_matrix)[0]
    total = np.zeros((n_w, n_docs), dtype=np.float32)
    sum_w = np.zeros((n_w, n_docs), dtype=np.float32)
    for s, w in columns(matrix, weight_matrix):
        counted = s >= 0
        total = np.where(counted, total + s * w, total).astype(np.float32)
        sum_w = np.where(counted, sum_w + w, sum_w).astype(np.float32)
    return total, sum_w


def positive_sums(matrix, weight_matrix, term) -> tuple[np.ndarray, np.ndarray]:
    """(Σ term(sᵢ, wᵢ), Σ wᵢ) over the sub-queries with sᵢ > 0 only (missing and ≤ 0 skipped with their
    weights), each sum rounded to float32 after every sub-query as the Java loops: (n_w, n_docs) each.
    term(s, w): s (1, n_docs) with 1.0 where not counted, w (n_w, 1); a float64 term is added in double
    and then rounded (Java's ``float += double``)."""
    n_docs, n_w = np.shape(matrix)[0], np.shape(weight_matrix)[0]
    total = np.zeros((n_w, n_docs), dtype=np.float32)
    sum_w = np.zeros((n_w, n_docs), dtype=np.float32)
    for s, w in columns(matrix, weight_matrix):
        counted = s > 0
        total = np.where(counted, total + term(np.where(counted, s, np.float32(1)), w), total).astype(np.float32)
        sum_w = np.where(counted, sum_w + w, sum_w).astype(np.float32)
    return total, sum_w


def present_sum(matrix, weight_matrix) -> np.ndarray:
    """Σ wᵢ·sᵢ over the sub-queries that returned the document (NaN = absent adds nothing), each term rounded
    to float then added in sub-query order (Elasticsearch: ``score += weight * normalizedScore``), no
    division: float32 (n_w, n_docs)."""
    m = np.asarray(matrix, dtype=np.float32)
    w = np.asarray(weight_matrix, dtype=np.float32)
    total = np.zeros((w.shape[0], m.shape[0]), dtype=np.float32)
    for j in range(m.shape[1]):
        present = ~np.isnan(m[:, j])[None, :]
        term = (w[:, j:j + 1] * np.nan_to_num(m[:, j], nan=0.0)[None, :]).astype(np.float32)
        total = np.where(present, total + term, total).astype(np.float32)
    return total
