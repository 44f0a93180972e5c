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

from mrs.engine.techniques import base
from mrs.engine.techniques.weights import positive_sums, weight_row


def geometric_mean_kernel(matrix, weight_matrix) -> np.ndarray:
    """GeometricMeanScoreCombinationTechnique.combine for every row of ``weight_matrix``: (n_w, n_docs)."""
    ln_sum, sum_w = positive_sums(matrix, weight_matrix,
                                  lambda s, w: w.astype(np.float64) * np.log(s.astype(np.float64)))
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.exp((ln_sum / sum_w).astype(np.float32).astype(np.float64))
    return np.where(sum_w == 0, 0.0, out).astype(np.float32)


def geometric_mean(matrix, weights: Sequence[float] | None = None) -> np.ndarray:
    """Weighted geometric mean per row over the entries > 0 only; 0 when a row has none. float32[n_docs]."""
    return geometric_mean_kernel(*weight_row(matrix, weights))[0]


TECHNIQUE = base.Technique(
    "geometric_mean", base.COMBINATION,
    "OpenSearch normalization-processor geometric_mean (neural-search GeometricMeanScoreCombinationTechnique)",
    {base.OPENSEARCH: base.Support("geometric_mean", base.NORMALIZATION_PROCESSOR, "2.10", {"weights": "2.10"},
                                   combine=geometric_mean_kernel)},
)
