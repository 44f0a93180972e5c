"""l2 normalization: s / sqrt(Σ s²) over one sub-query's candidates.

OpenSearch (normalization-processor ``l2``, 2.10; neural-search L2ScoreNormalizationTechnique.java
``getL2Norm``, https://opensearch.org/docs/latest/search-plugins/search-pipelines/normalization-processor/):
the sum of squares accumulated in float32 in rank order, the root taken in double and rounded to float; a
zero norm gives 0.0 (L2's MIN_SCORE is 0.0f, not min_max's 0.001).

Elasticsearch (linear retriever normalizer ``l2_norm``, 8.18; x-pack rank-rrf L2ScoreNormalizer): the sum in
double, the result rounded to float; a norm < 1e-6 leaves the scores unchanged.
"""

from __future__ import annotations

import math

import numpy as np

from mrs.engine.techniques import base

L2_MIN_SCORE = np.float32(0.0)
ES_MIN_NORM = 1e-6


def l2(scores) -> np.ndarray:
    """OpenSearch's l2: s / sqrt(Σ s²) over the sub-query's candidates; zero norm → 0.0.

    scores: raw scores in rank order (best first), the order neural-search sums them in. The sum of squares
    is accumulated left to right in float32 (``l2Norms[i] += score * score``), the root in double then
    rounded to float. Returns float32, same order.
    """
    s = np.asarray(scores, dtype=np.float32).reshape(-1)
    if s.size == 0:
        return s.copy()
    squares = (s * s).astype(np.float32)
    total = np.add.accumulate(squares, dtype=np.float32)[-1]  # sequential, not numpy's pairwise sum
    norm = np.float32(math.sqrt(float(total)))
    if norm == 0:
        return np.full_like(s, L2_MIN_SCORE)
    return (s / norm).astype(np.float32)


def l2_norm(scores) -> np.ndarray:
    """Elasticsearch's ``l2_norm`` normalizer: s / sqrt(Σ s²) (norm in double); norm < 1e-6 → unchanged."""
    s = np.asarray(scores, dtype=np.float32).reshape(-1)
    if s.size == 0:
        return s.copy()
    norm = math.sqrt(float(np.sum(s.astype(np.float64) ** 2)))
    if norm < ES_MIN_NORM:
        return s.copy()
    return (s.astype(np.float64) / norm).astype(np.float32)


TECHNIQUE = base.Technique(
    "l2", base.NORMALIZATION,
    "OpenSearch normalization-processor l2 (neural-search L2ScoreNormalizationTechnique); "
    "Elasticsearch linear retriever l2_norm",
    {base.OPENSEARCH: base.Support("l2", base.NORMALIZATION_PROCESSOR, "2.10", normalize=l2),
     base.ELASTICSEARCH: base.Support("l2_norm", base.LINEAR_RETRIEVER, "8.18", normalize=l2_norm)},
)
