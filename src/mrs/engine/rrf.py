"""Reciprocal rank fusion as OpenSearch's score-ranker-processor computes it.

https://opensearch.org/docs/latest/search-plugins/search-pipelines/score-ranker-processor/ and neural-search's
source (opensearch-project/neural-search, main): processor/normalization/RRFNormalizationTechnique.java and
processor/combination/RRFScoreCombinationTechnique.java.

For each sub-query, the document at rank r (1 = best) gets 1 / (rank_constant + r), computed as a decimal
rounded to 10 places HALF_UP (Java ``BigDecimal.ONE.divide(k + r, 10, HALF_UP)``) and then to float32. The
combined score is the weighted SUM Σᵢ wᵢ · rrfᵢ (float32, sub-query by sub-query) over the sub-queries whose
score is ≥ 0 — a missing document reads 0.0 there and adds nothing, a negative score is skipped — and 0 when
no weight was counted; not a mean. Weights 1.0 each by default. rank_constant is an integer in [1, 10000],
default 60.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

import numpy as np

from mrs.engine.combination import validate_weights
from mrs.errors import InputError

DEFAULT_RANK_CONSTANT = 60
MIN_RANK_CONSTANT = 1
MAX_RANK_CONSTANT = 10_000
_TEN_PLACES = Decimal("1e-10")


def validate_rank_constant(rank_constant) -> int:
    """Return rank_constant as int; InputError unless it is an integer in [1, 10000]."""
    if isinstance(rank_constant, bool) or not isinstance(rank_constant, (int, float, str)):
        raise InputError("parameter [rank_constant] must be an integer")
    try:
        value = int(str(rank_constant))
    except ValueError:
        raise InputError(f"parameter [rank_constant] must be an integer, got {rank_constant!r}") from None
    if not MIN_RANK_CONSTANT <= value <= MAX_RANK_CONSTANT:
        raise InputError(
            f"rank constant must be in the interval between 1 and 10000, submitted rank constant: {value}"
        )
    return value


@lru_cache(maxsize=64)
def _rank_scores(rank_constant: int, n: int) -> np.ndarray:
    return np.array(
        [float((Decimal(1) / Decimal(rank_constant + r)).quantize(_TEN_PLACES, rounding=ROUND_HALF_UP))
         for r in range(1, n + 1)],
        dtype=np.float32,
    )


def rrf_rank_scores(n: int, rank_constant: int = DEFAULT_RANK_CONSTANT) -> np.ndarray:
    """float32[n]: 1/(rank_constant + r) for r = 1..n, each rounded to 10 decimals half-up."""
    rank_constant = validate_rank_constant(rank_constant)
    return _rank_scores(rank_constant, int(n)).copy()


def rrf_combine_kernel(matrix, weight_matrix) -> np.ndarray:
    """RRFScoreCombinationTechnique.combine for every row of ``weight_matrix`` (n_w × n_subqueries) over a
    (n_docs × n_subqueries) matrix of RRF scores (NaN = missing → 0.0): float32 (n_w, n_docs)."""
    m = np.nan_to_num(np.asarray(matrix, dtype=np.float32), nan=0.0)
    w = np.asarray(weight_matrix, dtype=np.float32)
    total = np.zeros((w.shape[0], m.shape[0]), dtype=np.float32)
    sum_w = np.zeros_like(total)
    for j in range(m.shape[1]):
        s, wj = m[:, j][None, :], w[:, j:j + 1]
        counted = s >= 0
        total = np.where(counted, total + s * wj, total).astype(np.float32)
        sum_w = np.where(counted, sum_w + wj, sum_w).astype(np.float32)
    return np.where(sum_w == 0, np.float32(0), total).astype(np.float32)


def rrf_combine(matrix, weights=None) -> np.ndarray:
    """Weighted sum per row of a (n_docs × n_subqueries) matrix of per-sub-query RRF scores, NaN = missing.

    A missing entry contributes nothing, a negative one is skipped (module doc). weights: one per sub-query
    (validated: [0, 1], sum 1 ± 0.01) or None for 1.0 each. Returns float32[n_docs].
    """
    m = np.asarray(matrix, dtype=np.float32)
    if m.ndim != 2:
        raise InputError(f"score matrix must be 2-D (n_docs × n_subqueries), got shape {m.shape}")
    w = (
        np.ones(m.shape[1], dtype=np.float32)
        if weights is None
        else np.asarray(validate_weights(weights, m.shape[1]), dtype=np.float32)
    )
    return rrf_combine_kernel(m, w[None, :])[0]


def rrf(rankings: list[list[str]], weights=None, rank_constant: int = DEFAULT_RANK_CONSTANT) -> dict[str, float]:
    """Fuse ranked id lists (best first, one list per sub-query): {id: Σ wᵢ / (rank_constant + rankᵢ)}."""
    ids: dict[str, int] = {}
    for ranking in rankings:
        for doc_id in ranking:
            ids.setdefault(doc_id, len(ids))
    matrix = np.full((len(ids), len(rankings)), np.nan, dtype=np.float32)
    for j, ranking in enumerate(rankings):
        if len(set(ranking)) != len(ranking):
            raise InputError(f"sub-query {j} lists a document twice")
        scores = rrf_rank_scores(len(ranking), rank_constant)
        for r, doc_id in enumerate(ranking):
            matrix[ids[doc_id], j] = scores[r]
    combined = rrf_combine(matrix, weights)
    return {doc_id: float(combined[i]) for doc_id, i in ids.items()}
