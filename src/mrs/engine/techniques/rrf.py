"""Reciprocal rank fusion: each sub-query scores the document at rank r (1 = best) 1 / (rank_constant + r);
the combined score is the weighted SUM of those rank scores (not a mean).

OpenSearch (score-ranker-processor ``rrf``, 2.19; ``weights`` since 3.1, opensearch-project/
documentation-website#9922; neural-search RRFNormalizationTechnique.java and RRFScoreCombinationTechnique.java,
https://opensearch.org/docs/latest/search-plugins/search-pipelines/score-ranker-processor/): the rank score is a
decimal rounded to 10 places HALF_UP (Java ``BigDecimal.ONE.divide(k + r, 10, HALF_UP)``), then float32; the
sum Σᵢ wᵢ · rrfᵢ runs sub-query by sub-query in float32 over the sub-queries whose score is ≥ 0 — a missing
document reads 0.0 there and adds nothing, a negative score is skipped — and is 0 when no weight was
counted. Weights 1.0 each by default (validated as any combination's); rank_constant an integer in
[1, 10000], default 60.

Elasticsearch (``rrf`` retriever, 8.16; per-retriever ``weight`` since 9.2, elastic/elasticsearch#130658;
https://www.elastic.co/docs/reference/elasticsearch/rest-apis/retrievers/rrf-retriever, RRFRetrieverBuilder):
``score += weights[i] * (1.0f / (rankConstant + rank))`` in float, no decimal rounding, over the
sub-retrievers that returned the document; weight ≥ 0, default 1.0; rank_constant ≥ 1, default 60.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

import numpy as np

from mrs.engine.techniques import base
from mrs.engine.techniques.weights import non_negative_sums, present_sum, weight_row
from mrs.errors import InputError

DEFAULT_RANK_CONSTANT = 60
MIN_RANK_CONSTANT = 1
MAX_RANK_CONSTANT = 10_000
_TEN_PLACES = Decimal("1e-10")


def validate_rank_constant(rank_constant) -> int:
    """Return rank_constant as int; InputError unless it is an integer in [1, 10000] (OpenSearch's range)."""
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
    """OpenSearch: float32[n], 1/(rank_constant + r) for r = 1..n, each rounded to 10 decimals half-up."""
    rank_constant = validate_rank_constant(rank_constant)
    return _rank_scores(rank_constant, int(n)).copy()


def rrf_combine_kernel(matrix, weight_matrix) -> np.ndarray:
    """RRFScoreCombinationTechnique.combine for every row of ``weight_matrix`` (n_w × n_subqueries) over a
    (n_docs × n_subqueries) matrix of RRF scores (NaN = missing → 0.0): float32 (n_w, n_docs)."""
    total, sum_w = non_negative_sums(matrix, weight_matrix)
    return np.where(sum_w == 0, np.float32(0), total).astype(np.float32)


def rrf_combine(matrix, weights=None) -> np.ndarray:
    """OpenSearch's weighted sum per row of a (n_docs × n_subqueries) matrix of per-sub-query RRF scores,
    NaN = missing (module doc). weights: one per sub-query (validated: [0, 1], sum 1 ± 0.01) or None for 1.0
    each. Returns float32[n_docs]."""
    return rrf_combine_kernel(*weight_row(matrix, weights))[0]


def rrf_scores(n: int, rank_constant: int = DEFAULT_RANK_CONSTANT) -> np.ndarray:
    """Elasticsearch: float32[n], 1/(rank_constant + r) for r = 1..n computed in float, no rounding."""
    ranks = np.arange(1, int(n) + 1, dtype=np.float32)
    return (np.float32(1.0) / (np.float32(rank_constant) + ranks)).astype(np.float32)


def rank_terms(rank, rank_constant: int, rank_scores=rrf_rank_scores) -> np.ndarray:
    """(n_subqueries, n_docs) rank scores from 1-based ranks (0 = absent → NaN), by ``rank_scores``
    (OpenSearch's rrf_rank_scores or Elasticsearch's rrf_scores)."""
    rank = np.asarray(rank, dtype=np.int64)
    max_rank = int(rank.max()) if rank.size else 0
    table = np.concatenate([np.full(1, np.nan, dtype=np.float32), rank_scores(max_rank, rank_constant)])
    return table[rank]


def rrf_kernel(rank, weight_matrix, rank_constant: int) -> np.ndarray:
    """Elasticsearch's rrf retriever for every row of ``weight_matrix`` (n_w × n_subqueries) from ranks
    (n_subqueries, n_docs), 1-based, 0 where absent: Σ wᵢ · (1f / (k + rankᵢ)), float32 (n_w, n_docs)."""
    return present_sum(rank_terms(rank, rank_constant, rrf_scores).T, weight_matrix)


TECHNIQUE = base.Technique(
    "rrf", base.FUSION,
    "OpenSearch score-ranker-processor rrf (neural-search RRFNormalizationTechnique, "
    "RRFScoreCombinationTechnique); Elasticsearch rrf retriever",
    {base.OPENSEARCH: base.Support("rrf", base.SCORE_RANKER_PROCESSOR, "2.19",
                                   {"rank_constant": "2.19", "weights": "3.1"},
                                   normalize=rrf_rank_scores, combine=rrf_combine_kernel),
     base.ELASTICSEARCH: base.Support("rrf", base.RRF_RETRIEVER, "8.16", {"rank_constant": "8.16", "weight": "9.2"},
                                      normalize=rrf_scores, combine=present_sum)},
)
