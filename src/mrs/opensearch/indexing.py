"""``mrs index catalog CATALOG --backend opensearch --index NAME``: catalog → documents → vectors (the shared
text template and content-hash embedding cache) → resilient bulk load into ``NAME-<timestamp>`` → count check
→ atomic alias swap (blue/green), keeping N old generations.

The flow itself (work files, resume, dead letter, alias rule) is mrs.cluster.indexing, shared with the
Elasticsearch target; this module resolves the OpenSearch index spec and mapping. Work files live under
``work_dir`` (default ``.mrs-opensearch/``): ``NAME.checkpoint.jsonl``, ``NAME.dead-letter.jsonl``,
``NAME.embedding_cache.npz``.

When any document ends in the dead letter the alias is NOT moved (the new index is incomplete); fix the cause
and rerun with ``resume=True``: written ids are skipped and the failed ones are sent again.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

from mrs.cluster.bulk import BulkConfig
from mrs.cluster.indexing import IndexReport, index_catalog_to_cluster
from mrs.data.catalog import Product
from mrs.data.text import ProductTextTemplate
from mrs.opensearch.backend import cluster_major_version
from mrs.opensearch.bulk import OpenSearchBulkWriter
from mrs.opensearch.mapping import IndexSpec, index_body

__all__ = ["index_catalog_opensearch"]


def index_catalog_opensearch(
    products: Iterable[Product],
    *,
    client: Any,
    alias: str,
    encoder: Any,
    spec: IndexSpec | None = None,
    template: ProductTextTemplate | None = None,
    work_dir: str | os.PathLike = ".mrs-opensearch",
    resume: bool = False,
    keep: int = 1,
    bulk: BulkConfig | None = None,
    use_cache: bool = True,
    seed_cache: str | os.PathLike | None = None,
    on_documents: Callable[[int], None] | None = None,
    sleep: Callable[[float], None] | None = None,
    rand: Callable[[], float] | None = None,
    now: Any = None,
    ingest_pipeline: str | None = None,
) -> IndexReport:
    """Index ``products`` into a new generation of ``alias`` on the cluster and move the alias to it.

    client: opensearchpy.OpenSearch (mrs.opensearch.connection.make_client). alias: the name readers query.
    encoder: mrs.indexer.embed.Encoder (its dimension and space_type fill ``spec``). spec: text fields,
    similarity (must be what the embedded index used), HNSW parameters; dimension/space_type are taken from
    the encoder. template: the product text template (default: the shared default). resume: continue the
    generation recorded in the checkpoint. keep: old generations to keep after the swap. seed_cache: an extra,
    read-only embedding cache file (e.g. ``<embedded index>/embedding_cache.npz``) so vectors the embedded
    indexer already computed are reused, bit for bit.
    on_documents(n): progress callback after each bulk chunk. sleep/rand/now: injectable for tests.
    """
    template = template or ProductTextTemplate()
    base = spec or IndexSpec(dimension=int(encoder.dimension))
    spec = IndexSpec.from_dict({**base.to_dict(), "dimension": int(encoder.dimension),
                                "space_type": getattr(encoder, "space_type", base.space_type)})

    def create_body() -> dict[str, Any]:
        meta = {"mrs_model": dict(getattr(encoder, "identity", {})), "mrs_text_template": template.template}
        body = index_body(spec, cluster_major_version(client), meta)
        if ingest_pipeline:  # every writer's documents get embedded, not only this load's
            body["settings"]["index"]["default_pipeline"] = ingest_pipeline
        return body

    return index_catalog_to_cluster(
        products, client=client, alias=alias, encoder=encoder, spec=spec, create_body=create_body,
        writer_class=OpenSearchBulkWriter, template=template, work_dir=work_dir, resume=resume, keep=keep, bulk=bulk,
        use_cache=use_cache, seed_cache=seed_cache, on_documents=on_documents, sleep=sleep, rand=rand, now=now,
        ingest_pipeline=ingest_pipeline)
