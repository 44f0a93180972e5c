"""``mrs index catalog CATALOG --backend elasticsearch --index NAME``: catalog → documents → vectors (shared text
template and content-hash embedding cache) → resilient bulk load into ``NAME-<timestamp>`` → count check →
atomic alias swap, keeping N old generations.

Everything but the mapping and the bulk send step is the flow shared with OpenSearch
(mrs.cluster.indexing, with mrs.cluster.bulk and mrs.cluster.aliases): work files (``NAME.checkpoint.jsonl``,
``NAME.dead-letter.jsonl``, ``NAME.embedding_cache.npz`` under ``work_dir``, default ``.mrs-elasticsearch/``),
resume semantics (written ids skipped, the same physical index continued), and the rule that the alias is NOT
moved while any document sits in the dead letter.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

from mrs.cluster.bulk import BulkConfig
from mrs.cluster.indexing import IndexReport, index_catalog_to_cluster
from mrs.data.catalog import Product
from mrs.data.text import ProductTextTemplate
from mrs.elasticsearch.bulk import ElasticsearchBulkWriter
from mrs.elasticsearch.mapping import ElasticIndexSpec, index_body

__all__ = ["index_catalog_elasticsearch"]


def index_catalog_elasticsearch(
    products: Iterable[Product],
    *,
    client: Any,
    alias: str,
    encoder: Any,
    spec: ElasticIndexSpec | None = None,
    template: ProductTextTemplate | None = None,
    work_dir: str | os.PathLike = ".mrs-elasticsearch",
    resume: bool = False,
    keep: int = 1,
    bulk: BulkConfig | None = None,
    use_cache: bool = True,
    on_documents: Callable[[int], None] | None = None,
    sleep: Callable[[float], None] | None = None,
    rand: Callable[[], float] | None = None,
    now: Any = None,
    ingest_pipeline: str | None = None,
) -> IndexReport:
    """Index ``products`` into a new generation of ``alias`` and move the alias to it (module doc).

    client: elasticsearch.Elasticsearch (mrs.elasticsearch.connection.make_client). encoder:
    mrs.indexer.embed.Encoder — its dimension and space_type override ``spec``'s. spec: text fields, BM25
    formula of the local index, dense_vector similarity and index_options. Other arguments as
    mrs.opensearch.indexing.index_catalog_opensearch (ingest_pipeline: mrs.elasticsearch.ingest_pipeline).
    """
    base = spec or ElasticIndexSpec(dimension=int(encoder.dimension))
    space = getattr(encoder, "space_type", base.space_type)
    spec = ElasticIndexSpec.from_dict({**base.to_dict(), "dimension": int(encoder.dimension), "space_type": space,
                                       "similarity": base.similarity if space == base.space_type else None})
    return index_catalog_to_cluster(
        products, client=client, alias=alias, encoder=encoder, spec=spec,
        create_body=lambda: _with_pipeline(index_body(spec, model=_model_meta(encoder)), ingest_pipeline),
        writer_class=ElasticsearchBulkWriter,
        template=template, work_dir=work_dir, resume=resume, keep=keep, bulk=bulk, use_cache=use_cache,
        on_documents=on_documents, sleep=sleep, rand=rand, now=now,
        ingest_pipeline=ingest_pipeline)


def _model_meta(encoder: Any) -> dict[str, Any]:
    identity = dict(getattr(encoder, "identity", {}) or {})
    identity["dimension"] = int(encoder.dimension)
    return identity


def _with_pipeline(body: dict[str, Any], ingest_pipeline: str | None) -> dict[str, Any]:
    """The index body with ``index.default_pipeline`` when the cluster embeds."""
    if ingest_pipeline:
        body.setdefault("settings", {}).setdefault("index", {})["default_pipeline"] = ingest_pipeline
    return body
