"""geometric_mean combination (OpenSearch only; Elasticsearch's linear retriever is a weighted sum and has
no equivalent).

OpenSearch (normalization-processor ``geometric_mean``, 2.10; neural-search
GeometricMeanScoreCombinationTechnique.java,
https://opensearch.org/docs/latest/search-plugins/search-pipelines/normalization-processor/):
exp(Σ wᵢ ln sᵢ / Σ wᵢ) over sᵢ > 0 only (missing and ≤ 0 skipped with their weights); the weighted log sum is
a float accumulating double terms; 0 when no sᵢ > 0.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mrs.engine.techniques.base import COMBINATION, NORMALIZATION_PROCESSOR, OPENSEARCH, Support, Technique
from mrs.engine.techniques.weights import columns, weight_row


def geometric_mean_kernel(matrix, weight_matrix) -> np.ndarray:
    """GeometricMeanScoreCombinationTechnique.combine for every row of ``weight_matrix``: (n_w, n_docs)."""
    n_docs, n_w = np.shape(matrix)[0], np.shape(weight_matrix)[0]
    ln_sum = np.zeros((n_w, n_docs), dtype=np.float32)
    sum_w = np.zeros((n_w, n_docs), dtype=np.float32)
    for s, w in columns(matrix, weight_matrix):
        counted = s > 0
        log_s = np.log(np.where(counted, s, np.float32(1)).astype(np.float64))
        ln_sum = np.where(counted, ln_sum.astype(np.float64) + w.astype(np.float64) * log_s, ln_sum)
        ln_sum = ln_sum.astype(np.float32)  # float += double: the sum is rounded to float at each step
        sum_w = np.where(counted, sum_w + w, sum_w).astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.exp((ln_sum / sum_w).astype(np.float32).astype(np.float64))
    return np.where(sum_w == 0, 0.0, out).astype(np.float32)


def geometric_mean(matrix, weights: Sequence[float] | None = None) -> np.ndarray:
    """Weighted geometric mean per row over the entries > 0 only; 0 when a row has none. float32[n_docs]."""
    return geometric_mean_kernel(*weight_row(matrix, weights))[0]


TECHNIQUE = Technique("geometric_mean", COMBINATION, "OpenSearch normalization-processor geometric_mean "
                      "(neural-search GeometricMeanScoreCombinationTechnique)", {
    OPENSEARCH: Support("geometric_mean", NORMALIZATION_PROCESSOR, "2.10", {"weights": "2.10"},
                        combine=geometric_mean_kernel),
})
