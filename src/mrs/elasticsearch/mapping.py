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
"dynamic" mapping parameter. The parts both clusters share (text fields, stored fields, attributes, spec
checks) are mrs.cluster.mapping's.
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
)
from mrs.elasticsearch.spaces import bm25_factor, es_similarity_for_space
from mrs.engine.bm25 import SIMILARITIES
from mrs.errors import InputError

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
        check_spec(self)
        if self.index_type == "bbq_hnsw" and int(self.dimension) < 64:
            raise InputError(f"bbq_hnsw needs dims ≥ 64 (the model makes {self.dimension}-d vectors)")
        if self.m < 2 or self.ef_construction < 2:
            raise InputError("hnsw parameters: m ≥ 2, ef_construction ≥ 2")

    @property
    def bm25_factor(self) -> float:
        """ES lexical ``_score`` ÷ engine BM25 score (1 or k1 + 1)."""
        return bm25_factor(self.bm25_similarity, self.k1)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ElasticIndexSpec:
        return cls(**known_fields(cls, d))

    @classmethod
    def from_opensearch(cls, spec: Any, **overrides: Any) -> ElasticIndexSpec:
        """The same index for Elasticsearch: fields, BM25 formula, analyzer, space, HNSW m/ef_construction.

        spec: an OpenSearch index spec (mrs.opensearch.mapping.IndexSpec; read by attribute, not imported)."""
        d: dict[str, Any] = {"dimension": spec.dimension, "text_fields": dict(spec.text_fields),
                             "bm25_similarity": spec.similarity, "k1": spec.k1, "b": spec.b,
                             "analyzer": spec.analyzer, "vector_field": spec.vector_field,
                             "space_type": spec.space_type, "m": spec.m, "ef_construction": spec.ef_construction,
                             "shards": spec.shards, "replicas": spec.replicas,
                             "attributes": dict(spec.attributes)}
        d.update({k: v for k, v in overrides.items() if v is not None})
        return cls.from_dict(d)


def spec_from_manifest(manifest: Mapping[str, Any], **overrides: Any) -> ElasticIndexSpec:
    """The ElasticIndexSpec reproducing an embedded index manifest (mrs.cluster.mapping.manifest_spec_fields; the
    manifest's BM25 ``similarity`` is the spec's bm25_similarity). ``overrides`` (e.g. index_type="int8_hnsw") win."""
    d = manifest_spec_fields(manifest)
    d["bm25_similarity"] = d.pop("similarity")
    d.update({k: v for k, v in overrides.items() if v is not None})
    return ElasticIndexSpec.from_dict(d)


def dense_vector_mapping(spec: ElasticIndexSpec) -> dict[str, Any]:
    """``{"type": "dense_vector", "dims", "index": true, "similarity", "index_options": {type, m, ef_construction}}``."""
    return {
        "type": "dense_vector",
        "dims": int(spec.dimension),
        "index": True,
        "similarity": spec.similarity,
        "index_options": {"type": spec.index_type, "m": int(spec.m), "ef_construction": int(spec.ef_construction)},
    }


def index_body(spec: ElasticIndexSpec, model: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The ``PUT /<index>`` body: settings (shards, replicas, similarity) and mappings (text fields, id,
    embedding_text, product, dense_vector; ``dynamic: false``; ``_meta.mrs`` = the spec, ``_meta.mrs_model`` =
    the model identity {name, path, sha256, dimension} when given, so queries are encoded by the same model)."""
    meta: dict[str, Any] = {"mrs": spec.to_dict()}
    if model:
        meta["mrs_model"] = {k: model.get(k) for k in ("name", "path", "sha256", "dimension") if k in model}
    return {
        "settings": {"index": {
            "number_of_shards": int(spec.shards),
            "number_of_replicas": int(spec.replicas),
            "similarity": bm25_similarity("BM25", spec.k1, spec.b),
        }},
        "mappings": mappings(spec, dense_vector_mapping(spec), meta),
    }
