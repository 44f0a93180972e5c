"""What the OpenSearch and Elasticsearch index bodies share, so both score as the embedded engine did: the BM25
fields with one explicit named similarity, the stored document fields, the typed attributes, the one-shard rule,
the checks every index spec makes, and the spec fields read back from an embedded index's manifest.

- BM25 text fields: ``{"type": "text", "analyzer", "similarity": "mrs_bm25", "fields": {"keyword": ...}}`` — the
  named similarity is declared in the index settings with the local index's k1 and b; the ``keyword`` subfield
  serves exact filters and aggregations.
- Every document also holds ``id`` (keyword), ``embedding_text`` (stored, not indexed), ``product`` (every product
  field as read: in ``_source``, not indexed) and, with typed attributes, the ``attr`` object
  (mrs.engine.attributes.cluster_properties). ``dynamic: false`` keeps unknown fields out of the mapping.
- One shard: Lucene computes idf (n_docs, df) and avgdl per shard, so only a single shard scores as the single
  embedded index does (``shard_notes``).

The vector field (knn_vector / dense_vector) and the similarity type per cluster version are each backend's
(mrs.opensearch.mapping, mrs.elasticsearch.mapping).

Documentation relied on: OpenSearch "Similarity" (im-plugin/similarity) and Elasticsearch "Similarity module"
(index.similarity.<name> with type, k1, b); "text" and "keyword" field types; the "_meta" and "dynamic" mapping
parameters.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mrs.engine.attributes import CLUSTER_OBJECT, cluster_properties
from mrs.errors import InputError

SIMILARITY_NAME = "mrs_bm25"
DEFAULT_TEXT_FIELDS: dict[str, float] = {
    "title": 3.0, "brand": 2.0, "color": 1.0, "category": 1.0, "bullet_points": 1.0, "description": 1.0,
}


def check_spec(spec: Any) -> None:
    """The checks every index spec makes: vector dimension ≥ 1, at least one BM25 field, k1 ≥ 0 and b in [0, 1],
    a vector field that is not also a text field. InputError naming the rule broken."""
    if int(spec.dimension) < 1:
        raise InputError(f"vector dimension must be ≥ 1 (got {spec.dimension})")
    if not spec.text_fields:
        raise InputError("index needs at least one BM25 text field")
    if spec.k1 < 0 or not 0.0 <= spec.b <= 1.0:
        raise InputError(f"BM25 parameters out of range: k1={spec.k1} (≥ 0), b={spec.b} (in [0, 1])")
    if spec.vector_field in spec.text_fields:
        raise InputError(f"vector field {spec.vector_field!r} is also a text field")


def known_fields(spec_class: Any, d: Mapping[str, Any]) -> dict[str, Any]:
    """The keys of ``d`` that are fields of the dataclass ``spec_class`` and not None (unknown keys are ignored).
    InputError when there is no vector dimension."""
    known = {k: d[k] for k in spec_class.__dataclass_fields__ if k in d and d[k] is not None}
    if "dimension" not in known:
        raise InputError("index spec has no vector dimension")
    return known


def manifest_spec_fields(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """The spec fields an embedded index manifest (mrs.engine.manifest, format mrs-embedded-index) records, None
    where it records nothing: dimension (``model``, else ``vectors``); text_fields, similarity, k1, b, analyzer
    (``bm25``; an analyzer object gives its name, none gives "standard"); space_type, m, ef_construction, ef_search
    (``vectors``); attributes."""
    bm25 = manifest.get("bm25") or {}
    vectors = manifest.get("vectors") or {}
    model = manifest.get("model") or {}
    analyzer = bm25.get("analyzer", "standard")
    if isinstance(analyzer, Mapping):
        analyzer = analyzer.get("name", "standard")
    return {
        "dimension": model.get("dimension") or vectors.get("dimension"),
        "text_fields": bm25.get("fields"),
        "similarity": bm25.get("similarity"),
        "k1": bm25.get("k1"),
        "b": bm25.get("b"),
        "analyzer": analyzer,
        "space_type": vectors.get("space_type"),
        "m": vectors.get("m"),
        "ef_construction": vectors.get("ef_construction"),
        "ef_search": vectors.get("ef_search"),
        "attributes": manifest.get("attributes"),
    }


def shard_notes(shards: int, target: str = "opensearch") -> list[str]:
    """Lines rendered beside a mapping (manifest.json ``scoring``, CLI warnings) on what keeps BM25 scores equal
    to the embedded engine's with ``shards`` primary shards on ``target`` (opensearch | elasticsearch)."""
    lines = ["BM25 idf and avgdl are per shard: lexical scores, the calibrated thresholds and the blend equal the "
             "embedded engine's only on one shard (number_of_shards: 1, as rendered)"]
    if int(shards) > 1:
        if target == "opensearch":
            fix = ("re-create the index with number_of_shards: 1 (OpenSearch's hybrid query rejects "
                   "search_type=dfs_query_then_fetch; lexical-only searches may send it)")
        else:
            fix = ("re-create the index with number_of_shards: 1, or send search_type=dfs_query_then_fetch, which "
                   "makes term and field statistics global (not verified by mrs for retriever searches)")
        lines.insert(0, f"warning: number_of_shards {int(shards)}: scores will differ from the embedded engine's "
                        f"and from the calibration; {fix}")
    return lines


def bm25_similarity(similarity_type: str, k1: float, b: float) -> dict[str, Any]:
    """``{"mrs_bm25": {"type", "k1", "b"}}`` for ``index.similarity``."""
    return {SIMILARITY_NAME: {"type": similarity_type, "k1": float(k1), "b": float(b)}}


def text_field_mapping(spec: Any) -> dict[str, Any]:
    """A BM25 text field with the explicit similarity and a keyword subfield for exact filters (spec: analyzer,
    keyword_ignore_above)."""
    return {
        "type": "text",
        "analyzer": spec.analyzer,
        "similarity": SIMILARITY_NAME,
        "fields": {"keyword": {"type": "keyword", "ignore_above": int(spec.keyword_ignore_above)}},
    }


def mappings(spec: Any, vector_mapping: Mapping[str, Any], meta: Mapping[str, Any]) -> dict[str, Any]:
    """The ``mappings`` of an index body: the text fields, ``vector_mapping`` under spec.vector_field, ``id``,
    ``embedding_text``, ``product``, the ``attr`` object of spec.attributes; ``dynamic: false``; ``_meta`` =
    ``meta``."""
    properties: dict[str, Any] = {name: text_field_mapping(spec) for name in spec.text_fields}
    properties[spec.vector_field] = dict(vector_mapping)
    properties.setdefault("id", {"type": "keyword"})
    properties.setdefault("embedding_text", {"type": "text", "index": False})
    properties.setdefault("product", {"type": "object", "enabled": False})
    if spec.attributes:
        properties[CLUSTER_OBJECT] = cluster_properties(spec.attributes)
    return {"dynamic": False, "_meta": dict(meta), "properties": properties}
