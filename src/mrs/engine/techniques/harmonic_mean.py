"""harmonic_mean combination (OpenSearch only; Elasticsearch's linear retriever is a weighted sum and has
no equivalent).

OpenSearch (normalization-processor ``harmonic_mean``, 2.10; neural-search
HarmonicMeanScoreCombinationTechnique.java,
https://opensearch.org/docs/latest/search-plugins/search-pipelines/normalization-processor/):
Σ wᵢ / Σ (wᵢ / sᵢ) over sᵢ > 0 only (missing and ≤ 0 skipped with their weights); 0 when Σ (wᵢ / sᵢ) is not
> 0. Sums in float32, sub-query by sub-query.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mrs.engine.techniques import base
from mrs.engine.techniques.weights import positive_sums, weight_row


def harmonic_mean_kernel(matrix, weight_matrix) -> np.ndarray:
    """HarmonicMeanScoreCombinationTechnique.combine for every row of ``weight_matrix``: (n_w, n_docs)."""
    sum_h, sum_w = positive_sums(matrix, weight_matrix, lambda s, w: (w / s).astype(np.float32))
    with np.errstate(divide="ignore", invalid="ignore"):
        out = sum_w / sum_h
    return np.where(sum_h > 0, out, np.float32(0)).astype(np.float32)


def harmonic_mean(matrix, weights: Sequence[float] | None = None) -> np.ndarray:
    """Weighted harmonic mean per row over the entries > 0 only; 0 when a row has none. float32[n_docs]."""
    return harmonic_mean_kernel(*weight_row(matrix, weights))[0]


TECHNIQUE = base.Technique(
    "harmonic_mean", base.COMBINATION,
    "OpenSearch normalization-processor harmonic_mean (neural-search HarmonicMeanScoreCombinationTechnique)",
    {base.OPENSEARCH: base.Support("harmonic_mean", base.NORMALIZATION_PROCESSOR, "2.10", {"weights": "2.10"},
                                   combine=harmonic_mean_kernel)},
)
