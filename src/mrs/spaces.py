"""k-NN space names: the ``space_type`` values an index's vectors may be compared in, as OpenSearch's k-NN
plugin names them (https://opensearch.org/docs/latest/vector-search/getting-started/vector-search-basics/,
"Spaces"). The one list every room checks against (indexer: how vectors are stored, engine: how they are
scored, opensearch / elasticsearch: the mapping), so it lives below all of them.

- ``cosinesimil``: cosine similarity, vectors stored L2-normalized;
- ``innerproduct``: dot product of the stored vectors;
- ``l2``: squared Euclidean distance.

How each space turns its raw value into a score: mrs.engine.spaces (OpenSearch) and
mrs.elasticsearch.spaces (Elasticsearch).
"""

from __future__ import annotations

from mrs.errors import InputError

SPACE_TYPES = ("cosinesimil", "innerproduct", "l2")
DEFAULT_SPACE_TYPE = "cosinesimil"


def check_space_type(space_type: str) -> str:
    """``space_type`` when it is one of SPACE_TYPES, else InputError naming the known ones."""
    if space_type not in SPACE_TYPES:
        raise InputError(f"unknown space type {space_type!r} (expected one of {', '.join(SPACE_TYPES)})")
    return space_type
