"""``mrs index catalog CATALOG --backend elasticsearch --index NAME``: catalog → documents → vectors (shared text
template and content-hash embedding cache) → resilient bulk load into ``NAME-<timestamp>`` → count check →
atomic alias swap, keeping N old generations.

Everything but the mapping and the bulk send step is the OpenSearch writer's code (mrs.opensearch.indexing,
.bulk, .aliases): work files (``NAME.checkpoint.jsonl``, ``NAME.dead-letter.jsonl``,
``NAME.embedding_cache.npz`` under ``work_dir``, default ``.mrs-elasticsearch/``), resume semantics (written
ids skipped, the same physical index continued), and the rule that the alias is NOT moved while any document
sits in the dead letter.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from mrs.data.catalog import Product
from mrs.data.text import ProductTextTemplate
from mrs.elasticsearch.bulk import BulkConfig, Checkpoint, ElasticsearchBulkWriter, verify_count
from mrs.elasticsearch.mapping import ElasticIndexSpec, index_body
from mrs.errors import InputError
from mrs.opensearch.aliases import check_index_name, generation_name, swap_alias
from mrs.opensearch.backend import document_source
from mrs.opensearch.indexing import BATCH_PRODUCTS, CachedEmbedder, IndexReport, _batches, work_paths

__all__ = ["IndexReport", "index_catalog_elasticsearch"]


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
) -> IndexReport:
    """Index ``products`` into a new generation of ``alias`` and move the alias to it (module doc).

    client: elasticsearch.Elasticsearch (mrs.elasticsearch.connection.make_client). encoder:
    mrs.indexer.embed.Encoder — its dimension and space_type override ``spec``'s. spec: text fields, BM25
    formula of the local index, dense_vector similarity and index_options. Other arguments as
    mrs.opensearch.indexing.index_catalog_opensearch.
    """
    from mrs.indexer.documents import bm25_texts, to_document

    check_index_name(alias)
    template = template or ProductTextTemplate()
    base = spec or ElasticIndexSpec(dimension=int(encoder.dimension))
    space = getattr(encoder, "space_type", base.space_type)
    spec = ElasticIndexSpec.from_dict({**base.to_dict(), "dimension": int(encoder.dimension), "space_type": space,
                                       "similarity": base.similarity if space == base.space_type else None})
    paths = work_paths(work_dir, alias)
    checkpoint = Checkpoint.load(paths["checkpoint"]) if resume else Checkpoint(paths["checkpoint"])
    if resume:
        if checkpoint.index is None:
            raise InputError("nothing to resume: no checkpoint", path=str(paths["checkpoint"]))
        if not client.indices.exists(index=checkpoint.index):
            raise InputError(f"cannot resume: index {checkpoint.index} no longer exists on the cluster",
                             path=str(paths["checkpoint"]))
        index = checkpoint.index
        if checkpoint.done:
            return IndexReport(alias=alias, index=index, status="up-to-date", skipped=len(checkpoint.written),
                               checkpoint=str(paths["checkpoint"]))
    else:
        index = generation_name(alias, now)
        if client.indices.exists(index=index):
            raise InputError(f"index {index} already exists (two runs in the same second?)")
        client.indices.create(index=index, body=index_body(spec, model=_model_meta(encoder)))
        checkpoint.start(index, alias)
        if paths["dead_letter"].exists():
            paths["dead_letter"].unlink()

    embed = CachedEmbedder(encoder, paths["cache"] if use_cache else None)
    seen: set[str] = set()
    report = IndexReport(alias=alias, index=index, status="incomplete", dead_letter=str(paths["dead_letter"]),
                         checkpoint=str(paths["checkpoint"]))

    def sources() -> Iterator[tuple[str, dict[str, Any]]]:
        for batch in _batches(products, BATCH_PRODUCTS):
            fresh = []
            for p in batch:
                if p.id in seen:
                    raise InputError(f"product id {p.id!r} appears twice in the catalog", line=p.source_line)
                seen.add(p.id)
                if p.id not in checkpoint.written:
                    fresh.append(p)
            docs = [to_document(p, template) for p in fresh]
            vectors = embed([d.text for d in docs]) if docs else np.zeros((0, spec.dimension), np.float32)
            for p, doc, vec in zip(fresh, docs, vectors, strict=True):
                doc.vector = vec
                yield doc.id, document_source(doc, spec, bm25_texts(p, spec.text_fields))  # type: ignore[arg-type]

    writer_kwargs: dict[str, Any] = {"config": bulk, "dead_letter": paths["dead_letter"], "checkpoint": checkpoint,
                                     "on_chunk": on_documents, "rand": rand}
    if sleep is not None:
        writer_kwargs["sleep"] = sleep
    bulk_report = ElasticsearchBulkWriter(client, index, **writer_kwargs).write(sources())
    embed.save()
    report.documents = len(seen)
    report.indexed, report.failed, report.retries = bulk_report.indexed, bulk_report.failed, bulk_report.retries
    report.skipped = len(seen & checkpoint.written) - bulk_report.indexed if resume else 0
    report.embedded, report.cached = embed.embedded, embed.cached
    report.failure_reasons = bulk_report.failure_reasons
    if bulk_report.failed:
        return report
    report.count = verify_count(client, index, len(checkpoint.written))
    checkpoint.finish(len(checkpoint.written))
    swap = swap_alias(client, alias, index, keep=keep)
    report.previous, report.deleted, report.kept = swap.previous, swap.deleted, swap.kept
    report.status = "swapped"
    return report


def _model_meta(encoder: Any) -> dict[str, Any]:
    identity = dict(getattr(encoder, "identity", {}) or {})
    identity["dimension"] = int(encoder.dimension)
    return identity
