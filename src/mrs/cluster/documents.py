"""The ``_source`` of one product document as both clusters store it (the fields mrs.cluster.mapping maps).

| field | holds |
|---|---|
| each BM25 field | the exact text the embedded engine indexed for it (mrs.indexer.documents.bm25_texts); empty texts are
  left out, so field statistics (documents that have the field) match the local index |
| ``id`` | the product id |
| ``embedding_text`` | the text the vector was made from (the product text template) |
| ``product`` | every product field as read (stored, not indexed) |
| ``attr`` | the typed attribute values filters and facets read (mrs.engine.attributes.attribute_source) |
| the vector field | the vector, float32 values as JSON (mrs.cluster.bodies.vector_list) |
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mrs.cluster.bodies import vector_list
from mrs.engine.attributes import CLUSTER_OBJECT, attribute_source
from mrs.indexer.backend import Document


def document_source(doc: Document, spec: Any, bm25: Mapping[str, str]) -> dict[str, Any]:
    """The ``_source`` written for ``doc`` (see module doc).

    spec: the index spec (mrs.opensearch.mapping.IndexSpec or mrs.elasticsearch.mapping.ElasticIndexSpec): its
    ``attributes`` and ``vector_field`` are read. bm25: {field: text} exactly as the embedded engine indexes it.
    """
    source: dict[str, Any] = {name: text for name, text in bm25.items() if text}
    source["id"] = doc.id
    source["embedding_text"] = doc.text
    source["product"] = doc.fields
    if spec.attributes:
        source[CLUSTER_OBJECT] = attribute_source(doc.fields, spec.attributes)
    if doc.vector is not None:
        source[spec.vector_field] = vector_list(doc.vector)
    return source
