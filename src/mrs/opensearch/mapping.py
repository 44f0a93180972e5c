"""The OpenSearch index body (settings + mappings) that scores as the embedded engine did.

- BM25 text fields carry an explicit named similarity (``mrs_bm25``) of the type the local index used:
  ``BM25`` (Lucene BM25Similarity, OpenSearch 3.x default) or ``LegacyBM25`` (× (k1 + 1), the 2.x default),
  with its k1 and b — so scores do not change with the cluster's default. On a 2.x cluster the type named
  ``BM25`` *is* the legacy formula and ``LegacyBM25`` does not exist: ``similarity_type_for_cluster`` maps it.
- Each text field has a ``keyword`` subfield (``title.keyword``) for exact filters and aggregations.
- The vector field is a ``knn_vector`` (dimension from the model, space_type, method hnsw with engine faiss or
  lucene, m, ef_construction) and ``index.knn: true``; ``index.knn.algo_param.ef_search`` (faiss/nmslib).
- The product fields are stored in ``_source`` under ``product`` (not indexed); reads exclude the vector.
- One shard (``number_of_shards: 1``): Lucene computes idf (n_docs, df) and avgdl per shard, so only a single
  shard scores as the single embedded index does (``shard_notes``). ``search_type=dfs_query_then_fetch``
  would make the statistics global, but neural-search rejects it for hybrid queries
  (HybridQueryUtil: "hybrid query does not support search_type [dfs_query_then_fetch]").
- Typed attributes (filters, facets) live under the ``attr`` object: keyword / double / boolean fields
  (mrs.engine.attributes.cluster_properties), so ``brand`` the BM25 text and ``attr.brand`` the keyword coexist.

Documentation relied on: OpenSearch "Similarity" (im-plugin/similarity; LegacyBM25 type for 3.x),
"k-NN vector" field type (field-types/supported-field-types/knn-vector), "Methods and engines"
(vector-search/creating-vector-index/method: hnsw parameters m, ef_construction; engines faiss, lucene),
"k-NN index settings" (index.knn, index.knn.algo_param.ef_search). The parts both clusters share (text fields,
stored fields, attributes, shard notes, spec checks) are mrs.cluster.mapping's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from mrs.cluster.mapping import (
    DEFAULT_TEXT_FIELDS,
    bm25_similarity,
    check_spec,
    known_fields,
    manifest_spec_fields,
    mappings,
    shard_notes,
)
from mrs.engine.bm25 import SIMILARITIES
from mrs.errors import InputError
from mrs.spaces import SPACE_TYPES

__all__ = ["ENGINES", "IndexSpec", "index_body", "knn_vector_mapping", "shard_notes", "similarity_settings",
           "similarity_type_for_cluster", "spec_from_manifest"]

ENGINES = ("faiss", "lucene")


@dataclass
class IndexSpec:
    """What the index must hold and how it scores.

    text_fields: {BM25 field: query-time boost}. similarity/k1/b: the BM25 formula of the local index.
    analyzer: analyzer of the text fields ("english", OpenSearch's built-in, matches the embedded engine's default).
    vector_field: name of the knn_vector field. dimension: vector length (from the model).
    space_type: cosinesimil | innerproduct | l2. engine: faiss | lucene. m / ef_construction: HNSW graph
    parameters. ef_search: query-time candidate list size (faiss). shards / replicas: index layout
    (1 shard keeps BM25 statistics identical to the single local index). attributes: typed attribute
    fields for filters and facets (mrs.engine.attributes), mapped under the ``attr`` object.
    """

    dimension: int
    text_fields: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_TEXT_FIELDS))
    similarity: str = "BM25"
    k1: float = 1.2
    b: float = 0.75
    analyzer: str = "english"
    vector_field: str = "embedding"
    space_type: str = "cosinesimil"
    engine: str = "faiss"
    m: int = 16
    ef_construction: int = 128
    ef_search: int = 100
    shards: int = 1
    replicas: int = 0
    keyword_ignore_above: int = 256
    attributes: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.similarity not in SIMILARITIES:
            raise InputError(f"similarity {self.similarity!r}: expected one of {', '.join(SIMILARITIES)}")
        if self.engine not in ENGINES:
            raise InputError(f"k-NN engine {self.engine!r}: expected one of {', '.join(ENGINES)}")
        if self.space_type not in SPACE_TYPES:
            raise InputError(f"space type {self.space_type!r}: expected one of {', '.join(SPACE_TYPES)}")
        check_spec(self)
        if self.m < 2 or self.ef_construction < 2 or self.ef_search < 1:
            raise InputError("hnsw parameters: m ≥ 2, ef_construction ≥ 2, ef_search ≥ 1")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> IndexSpec:
        """Build from a dict (e.g. an embedded index manifest); unknown keys are ignored."""
        return cls(**known_fields(cls, d))


def similarity_type_for_cluster(similarity: str, cluster_major: int | None) -> str:
    """The similarity ``type`` to declare on a cluster of major version ``cluster_major``.

    3.x (or unknown): the name as is. 2.x: ``LegacyBM25`` → ``BM25`` (2.x's BM25 type is the legacy
    formula); ``BM25`` cannot be reproduced on 2.x (scores would be × (k1 + 1)) → InputError.
    """
    if cluster_major is None or cluster_major >= 3:
        return similarity
    if similarity == "LegacyBM25":
        return "BM25"
    raise InputError(
        "the local index scores with BM25 (OpenSearch 3.x formula) but the cluster is OpenSearch "
        f"{cluster_major}.x, whose BM25 multiplies by (k1 + 1); rebuild the local index with similarity "
        "LegacyBM25 or use an OpenSearch 3.x cluster"
    )


def similarity_settings(spec: IndexSpec, cluster_major: int | None = None) -> dict[str, Any]:
    """``{"mrs_bm25": {"type": ..., "k1": ..., "b": ...}}`` for ``index.similarity``."""
    return bm25_similarity(similarity_type_for_cluster(spec.similarity, cluster_major), spec.k1, spec.b)


def knn_vector_mapping(spec: IndexSpec) -> dict[str, Any]:
    """The knn_vector field: dimension, and method {name hnsw, engine, space_type, parameters m/ef_construction}."""
    return {
        "type": "knn_vector",
        "dimension": int(spec.dimension),
        "method": {
            "name": "hnsw",
            "engine": spec.engine,
            "space_type": spec.space_type,
            "parameters": {"m": int(spec.m), "ef_construction": int(spec.ef_construction)},
        },
    }


def index_body(spec: IndexSpec, cluster_major: int | None = None,
               meta: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The ``PUT /<index>`` body: settings (shards, replicas, k-NN, similarity) and mappings.

    Documents (mrs.cluster.documents.document_source) hold: each BM25 field as the exact text the embedded
    engine indexed, ``id`` (keyword), ``embedding_text`` (stored, not indexed), ``product`` (every product
    field as read: stored in _source, not indexed) and the vector. ``dynamic: false`` keeps unknown fields
    out of the mapping. ``_meta`` holds ``mrs`` (the IndexSpec, read back by backend_from_index) and ``meta``
    (e.g. ``mrs_model``: the model identity, ``mrs_text_template``), so a reader can check its encoder.
    """
    settings: dict[str, Any] = {
        "number_of_shards": int(spec.shards),
        "number_of_replicas": int(spec.replicas),
        "knn": True,
        "similarity": similarity_settings(spec, cluster_major),
    }
    if spec.engine == "faiss":
        settings["knn.algo_param.ef_search"] = int(spec.ef_search)
    return {"settings": {"index": settings},
            "mappings": mappings(spec, knn_vector_mapping(spec), {"mrs": spec.to_dict(), **dict(meta or {})})}


def spec_from_manifest(manifest: Mapping[str, Any], **overrides: Any) -> IndexSpec:
    """The IndexSpec that reproduces an embedded index (mrs.cluster.mapping.manifest_spec_fields: BM25 fields and
    boosts, analyzer, similarity, k1, b, dimension, space_type, HNSW m / ef_construction / ef_search, attributes).
    ``overrides`` (e.g. engine="lucene") win."""
    d = manifest_spec_fields(manifest)
    d.update({k: v for k, v in overrides.items() if v is not None})
    return IndexSpec.from_dict(d)


def spec_for_deployment(deployment: Any, manifest: Mapping[str, Any] | None, dimension: int | None,
                        **overrides: Any) -> IndexSpec:
    """The index spec a template set is rendered for: from the embedded index's ``manifest`` when given, else
    from ``dimension`` (or the calibration's model dimension) and the calibration's space and similarity;
    ``overrides`` (None values ignored) replace single settings. deployment: mrs.deployment.Deployment.
    InputError when the dimension is unknown, or the calibration was fitted on another BM25 similarity or
    another vector space than the spec declares (its thresholds would not mean the same)."""
    if manifest is not None:
        spec = spec_from_manifest(manifest, **overrides)
    else:
        dim = dimension or deployment.dimension
        if dim is None:
            raise InputError("vector dimension unknown: pass --from-index, --dimension, or a calibration with "
                             "model.dimension")
        spec = IndexSpec.from_dict({"dimension": dim, "space_type": deployment.space_type,
                                    "similarity": deployment.similarity,
                                    **{k: v for k, v in overrides.items() if v is not None}})
    if deployment.similarity and deployment.similarity != spec.similarity:
        raise InputError(f"calibration was made on a {deployment.similarity} index, the mapping declares "
                         f"{spec.similarity}", path=deployment.source)
    if deployment.space_type and deployment.space_type != spec.space_type:
        raise InputError(f"calibration thresholds are {deployment.space_type} scores, the mapping declares "
                         f"{spec.space_type}", path=deployment.source)
    return spec
