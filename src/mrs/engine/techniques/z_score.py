"""z_score normalization: (s − μ)/σ over one sub-query's candidates (OpenSearch only; pairs with
arithmetic_mean only, as OpenSearch requires).

OpenSearch (normalization-processor ``z_score``; neural-search ZScoreNormalizationTechnique.java,
https://opensearch.org/docs/latest/search-plugins/search-pipelines/normalization-processor/): σ is the SAMPLE
standard deviation (n − 1, commons-math DescriptiveStatistics), mean and σ computed in double then rounded to
float; s == μ (float compare) → the sub-query's raw MAX score; σ == 0 → the raw MIN score; a z ≤ 0 → 0.001.
Elasticsearch's linear retriever has no z_score normalizer.
"""

from __future__ import annotations

import numpy as np

from mrs.engine.techniques import base
from mrs.engine.techniques.min_max import MIN_SCORE


def z_score(scores) -> np.ndarray:
    """(s − μ)/σ, σ the sample standard deviation (n − 1); z ≤ 0 → 0.001 (module doc for the edge cases).

    scores: one sub-query's raw scores. Returns float32, same order.
    """
    s = np.asarray(scores, dtype=np.float32).reshape(-1)
    if s.size == 0:
        return s.copy()
    s64 = s.astype(np.float64)
    mean = np.float32(s64.mean())
    std = np.float32(s64.std(ddof=1)) if s.size > 1 else np.float32(0.0)
    hi, lo = s.max(), s.min()
    if std == 0:
        z = np.full_like(s, lo)
    else:
        z = ((s - mean) / std).astype(np.float32)
        z = np.where(z <= 0, MIN_SCORE, z)
    return np.where(s == mean, hi, z).astype(np.float32)


TECHNIQUE = base.Technique(
    "z_score", base.NORMALIZATION,
    "OpenSearch normalization-processor z_score (neural-search ZScoreNormalizationTechnique)",
    {base.OPENSEARCH: base.Support("z_score", base.NORMALIZATION_PROCESSOR, normalize=z_score)},
    pairs_with=("arithmetic_mean",),
)
