"""The ``none`` normalizer: raw scores unchanged (Elasticsearch's linear retriever default, 8.18,
https://www.elastic.co/docs/reference/elasticsearch/rest-apis/retrievers/linear-retriever). OpenSearch's
normalization-processor has no identity technique.
"""

from __future__ import annotations

import numpy as np

from mrs.engine.techniques import base


def identity(scores) -> np.ndarray:
    """The raw scores as float32, same order."""
    return np.asarray(scores, dtype=np.float32).reshape(-1).copy()


TECHNIQUE = base.Technique(
    "none", base.NORMALIZATION, "Elasticsearch linear retriever normalizer none",
    {base.ELASTICSEARCH: base.Support("none", base.LINEAR_RETRIEVER, "8.18", normalize=identity)},
)
