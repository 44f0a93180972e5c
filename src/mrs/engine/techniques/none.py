"""The ``none`` normalizer: raw scores unchanged (Elasticsearch's linear retriever default, 8.18,
https://www.elastic.co/docs/reference/elasticsearch/rest-apis/retrievers/linear-retriever). OpenSearch's
normalization-processor has no identity technique.
"""

from __future__ import annotations

import numpy as np

from mrs.engine.techniques.base import ELASTICSEARCH, LINEAR_RETRIEVER, NORMALIZATION, Support, Technique


def identity(scores) -> np.ndarray:
    """The raw scores as float32, same order."""
    return np.asarray(scores, dtype=np.float32).reshape(-1).copy()


TECHNIQUE = Technique("none", NORMALIZATION, "Elasticsearch linear retriever normalizer none", {
    ELASTICSEARCH: Support("none", LINEAR_RETRIEVER, "8.18", normalize=identity),
})
