"""The Elasticsearch index body (settings + mappings) that scores as the embedded engine did.

- BM25 text fields use an explicit named similarity ``mrs_bm25`` of type ``BM25`` with the local index's k1
  and b. Elasticsearch's ``BM25`` keeps the (k1 + 1) factor (mrs.elasticsearch.spaces, point 3): an index built
  locally with ``LegacyBM25`` scores identically; one built with ``BM25`` scores × (k1 + 1) on the cluster,
  which the backend divides out (``ElasticIndexSpec.bm25_factor``).
- Each text field has a ``keyword`` subfield for exact filters and aggregations.
- The vector field is a ``dense_vector`` (``dims`` from the model, ``index: true``, ``similarity`` cosine /
  dot_product / l2_norm / max_inner_product, ``index_options`` {type hnsw | int8_hnsw | bbq_hnsw, m,
  ef_construction}). int8_hnsw and bbq_hnsw quantize the stored vectors: scores become approximate (bbq needs
  dims ≥ 64); plain hnsw scores exactly as the engine.
- ``product`` (every product field) is stored in ``_source`` but not indexed; the spec rides in ``_meta.mrs``.

Documentation relied on: Elasticsearch reference "Dense vector field type" (dims, index, similarity,
index_options type/m/ef_construction, "bbq_hnsw ... only supports dims ≥ 64"), "Similarity module"
(index.similarity.<name> with type BM25, k1, b), "text" and "keyword" field types, "_meta" mapping field,
"dynamic" mapping parameter.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from mrs.elasticsearch.spaces import bm25_factor, es_similarity_for_space
from mrs.engine.attributes import CLUSTER_OBJECT, cluster_properties
from mrs.errors import InputError
from mrs.opensearch.mapping import DEFAULT_TEXT_FIELDS, SIMILARITIES, SIMILARITY_NAME, IndexSpec

INDEX_TYPES = ("hnsw", "int8_hnsw", "bbq_hnsw")
MAX_NUM_CANDIDATES = 10_000


@dataclass
class ElasticIndexSpec:
    """What the Elasticsearch index holds and how it scores.

    dimension: vector length. text_fields: {BM25 field: query-time boost}. bm25_similarity / k1 / b: the LOCAL
    index's BM25 formula (BM25 | LegacyBM25). analyzer: of the text fields. vector_field: dense_vector name.
    space_type: the engine space the calibration used (cosinesimil | innerproduct | l2). similarity: the
    dense_vector similarity (default from space_type: cosine, max_inner_product, l2_norm). index_type: hnsw |
    int8_hnsw | bbq_hnsw. m / ef_construction: HNSW graph parameters. shards / replicas: index layout (1 shard
    keeps BM25 statistics identical to the single local index). attributes: typed attribute fields for filters
    and facets (mrs.engine.attributes), mapped under the ``attr`` object.
    """

    dimension: int
    text_fields: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_TEXT_FIELDS))
    bm25_similarity: str = "BM25"
    k1: float = 1.2
    b: float = 0.75
    analyzer: str = "english"
    vector_field: str = "embedding"
    space_type: str = "cosinesimil"
    similarity: str | None = None
    index_type: str = "hnsw"
    m: int = 16
    ef_construction: int = 100
    shards: int = 1
    replicas: int = 0
    keyword_ignore_above: int = 256
    attributes: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.bm25_similarity not in SIMILARITIES:
            raise InputError(f"BM25 similarity {self.bm25_similarity!r}: expected one of {', '.join(SIMILARITIES)}")
        self.similarity = es_similarity_for_space(self.space_type, self.similarity)
        if self.index_type not in INDEX_TYPES:
            raise InputError(f"index_options type {self.index_type!r}: expected one of {', '.join(INDEX_TYPES)}")
        if int(self.dimension) < 1:
            raise InputError(f"vector dimension must be ≥ 1 (got {self.dimension})")
        if self.index_type == "bbq_hnsw" and int(self.dimension) < 64:
            raise InputError(f"bbq_hnsw needs dims ≥ 64 (the model makes {self.dimension}-d vectors)")
        if not self.text_fields:
            raise InputError("index needs at least one BM25 text field")
        if self.k1 < 0 or not 0.0 <= self.b <= 1.0:
            raise InputError(f"BM25 parameters out of range: k1={self.k1} (≥ 0), b={self.b} (in [0, 1])")
        if self.m < 2 or self.ef_construction < 2:
            raise InputError("hnsw parameters: m ≥ 2, ef_construction ≥ 2")
        if self.vector_field in self.text_fields:
            raise InputError(f"vector field {self.vector_field!r} is also a text field")

    @property
    def bm25_factor(self) -> float:
        """ES lexical ``_score`` ÷ engine BM25 score (1 or k1 + 1)."""
        return bm25_factor(self.bm25_similarity, self.k1)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ElasticIndexSpec:
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d and d[k] is not None}
        if "dimension" not in known:
            raise InputError("index spec has no vector dimension")
        return cls(**known)

    @classmethod
    def from_opensearch(cls, spec: IndexSpec, **overrides: Any) -> ElasticIndexSpec:
        """The same index for Elasticsearch: fields, BM25 formula, analyzer, space, HNSW m/ef_construction."""
        d: dict[str, Any] = {"dimension": spec.dimension, "text_fields": dict(spec.text_fields),
                             "bm25_similarity": spec.similarity, "k1": spec.k1, "b": spec.b,
                             "analyzer": spec.analyzer, "vector_field": spec.vector_field,
                             "space_type": spec.space_type, "m": spec.m, "ef_construction": spec.ef_construction,
                             "shards": spec.shards, "replicas": spec.replicas,
                             "attributes": dict(spec.attributes)}
        d.update({k: v for k, v in overrides.items() if v is not None})
        return cls.from_dict(d)


def spec_from_manifest(manifest: Mapping[str, Any], **overrides: Any) -> ElasticIndexSpec:
    """The ElasticIndexSpec reproducing an embedded index manifest (see mrs.opensearch.mapping.spec_from_manifest)."""
    from mrs.opensearch.mapping import spec_from_manifest as os_spec

    os_overrides = {k: overrides.pop(k) for k in ("text_fields", "k1", "b", "analyzer", "space_type", "m",
                                                  "ef_construction", "attributes") if k in overrides}
    if "bm25_similarity" in overrides and overrides["bm25_similarity"] is not None:
        os_overrides["similarity"] = overrides.pop("bm25_similarity")
    return ElasticIndexSpec.from_opensearch(os_spec(manifest, **os_overrides), **overrides)


def dense_vector_mapping(spec: ElasticIndexSpec) -> dict[str, Any]:
    """``{"type": "dense_vector", "dims", "index": true, "similarity", "index_options": {type, m, ef_construction}}``."""
    return {
        "type": "dense_vector",
        "dims": int(spec.dimension),
        "index": True,
        "similarity": spec.similarity,
        "index_options": {"type": spec.index_type, "m": int(spec.m), "ef_construction": int(spec.ef_construction)},
    }


def text_field_mapping(spec: ElasticIndexSpec) -> dict[str, Any]:
    """A BM25 text field with the explicit similarity and a keyword subfield."""
    return {"type": "text", "analyzer": spec.analyzer, "similarity": SIMILARITY_NAME,
            "fields": {"keyword": {"type": "keyword", "ignore_above": int(spec.keyword_ignore_above)}}}


def index_body(spec: ElasticIndexSpec, model: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The ``PUT /<index>`` body: settings (shards, replicas, similarity) and mappings (text fields, id,
    embedding_text, product, dense_vector; ``dynamic: false``; ``_meta.mrs`` = the spec, ``_meta.mrs_model`` =
    the model identity {name, path, sha256, dimension} when given, so queries are encoded by the same model)."""
    properties: dict[str, Any] = {name: text_field_mapping(spec) for name in spec.text_fields}
    properties[spec.vector_field] = dense_vector_mapping(spec)
    properties.setdefault("id", {"type": "keyword"})
    properties.setdefault("embedding_text", {"type": "text", "index": False})
    properties.setdefault("product", {"type": "object", "enabled": False})
    if spec.attributes:
        properties[CLUSTER_OBJECT] = cluster_properties(spec.attributes)
    meta: dict[str, Any] = {"mrs": spec.to_dict()}
    if model:
        meta["mrs_model"] = {k: model.get(k) for k in ("name", "path", "sha256", "dimension") if k in model}
    return {
        "settings": {"index": {
            "number_of_shards": int(spec.shards),
            "number_of_replicas": int(spec.replicas),
            "similarity": {SIMILARITY_NAME: {"type": "BM25", "k1": float(spec.k1), "b": float(spec.b)}},
        }},
        "mappings": {"dynamic": False, "_meta": meta, "properties": properties},
    }
