"""arithmetic_mean combination: the weighted mean of a document's normalized sub-query scores.

OpenSearch (normalization-processor ``arithmetic_mean``, 2.10; neural-search
ArithmeticMeanScoreCombinationTechnique.java, ScoreCombinationUtil.java,
https://opensearch.org/docs/latest/search-plugins/search-pipelines/normalization-processor/):
Σ wᵢsᵢ / Σ wᵢ over the sub-queries with sᵢ ≥ 0 — a missing document (0.0) counts, with its weight in the
denominator; a NEGATIVE score (l2 of negative raw scores) is skipped with its weight; 0 when no weight remains.
Sums run sub-query by sub-query in float32.

Elasticsearch deploys it as the ``linear`` retriever (8.18, per-retriever ``weight``;
https://www.elastic.co/docs/reference/elasticsearch/rest-apis/retrievers/linear-retriever,
LinearRetrieverBuilder.combineInnerRetrieverResults): Σ wᵢ·normᵢ over the sub-retrievers that returned the
document — a weighted SUM, no denominator; equal to OpenSearch's mean for the documents every sub-query
returned when Σ w = 1.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mrs.engine.techniques import base
from mrs.engine.techniques.weights import non_negative_sums, present_sum, weight_row


def arithmetic_mean_kernel(matrix, weight_matrix) -> np.ndarray:
    """ArithmeticMeanScoreCombinationTechnique.combine for every row of ``weight_matrix``: (n_w, n_docs)."""
    total, sum_w = non_negative_sums(matrix, weight_matrix)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = total / sum_w
    return np.where(sum_w == 0, np.float32(0), out).astype(np.float32)


def arithmetic_mean(matrix, weights: Sequence[float] | None = None) -> np.ndarray:
    """Weighted arithmetic mean per row over scores ≥ 0 (missing = 0.0 counts, weight kept). float32[n_docs]."""
    return arithmetic_mean_kernel(*weight_row(matrix, weights))[0]


def linear_kernel(normalized, weight_matrix) -> np.ndarray:
    """Elasticsearch's linear retriever for every row of ``weight_matrix`` (n_w × n_subqueries) over
    (n_docs × n_subqueries) normalized scores, NaN where absent: Σ wᵢ·normᵢ over the present ones, float32
    (n_w, n_docs)."""
    return present_sum(normalized, weight_matrix)


TECHNIQUE = base.Technique(
    "arithmetic_mean", base.COMBINATION,
    "OpenSearch normalization-processor arithmetic_mean (neural-search ArithmeticMeanScoreCombinationTechnique); "
    "Elasticsearch linear retriever",
    {base.OPENSEARCH: base.Support("arithmetic_mean", base.NORMALIZATION_PROCESSOR, "2.10", {"weights": "2.10"},
                                   combine=arithmetic_mean_kernel),
     base.ELASTICSEARCH: base.Support("linear", base.LINEAR_RETRIEVER, "8.18", {"weight": "8.18"},
                                      combine=linear_kernel)},
)
