"""The catalog → cluster indexing flow shared by the OpenSearch and Elasticsearch targets: duplicate-id check,
checkpoint/resume, embedding through the content-hash cache, resilient bulk load into ``ALIAS-<timestamp>``,
count check, atomic alias swap (blue/green) keeping N old generations, and the run report.

What differs per target is passed in: the body that creates the new index (mapping + settings; built only when
a new generation is created) and the bulk writer class (a mrs.cluster.bulk.BulkWriter with the client's send
step). mrs.opensearch.indexing and mrs.elasticsearch.indexing resolve their index spec and call
``index_catalog_to_cluster``; ``read_typed_catalog`` and ``load_summary`` are the steps around it that
``mrs index catalog`` runs for either cluster.

Files beside the work (``work_dir``): ``ALIAS.checkpoint.jsonl`` (resume), ``ALIAS.dead-letter.jsonl`` (items
that failed), ``ALIAS.embedding_cache.npz`` (vectors by content hash), ``ALIAS.rejects.jsonl`` (catalog rows
refused with --on-error skip). When any document ends in the dead letter the alias is NOT moved (the new index is
incomplete); fix the cause and rerun with ``resume=True``: written ids are skipped and the failed ones are sent
again.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mrs.cluster.aliases import check_index_name, generation_name, swap_alias
from mrs.cluster.bulk import BulkConfig, BulkReport, BulkWriter, verify_count
from mrs.cluster.checkpoint import Checkpoint
from mrs.cluster.documents import document_source
from mrs.cluster.embedding import CachedEmbedder
from mrs.data.catalog import Product
from mrs.data.text import ProductTextTemplate
from mrs.errors import InputError

BATCH_PRODUCTS = 512


@dataclass
class IndexReport:
    """What one run did. status: "swapped" (alias moved), "incomplete" (dead letters; alias not moved),
    "up-to-date" (resume found the run already done)."""

    alias: str
    index: str
    status: str
    documents: int = 0
    indexed: int = 0
    skipped: int = 0
    failed: int = 0
    retries: int = 0
    embedded: int = 0
    cached: int = 0
    count: int | None = None
    previous: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    dead_letter: str | None = None
    checkpoint: str | None = None
    failure_reasons: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def work_paths(work_dir: str | os.PathLike, alias: str) -> dict[str, Path]:
    """{"checkpoint", "dead_letter", "cache"} file paths for ``alias`` under ``work_dir``."""
    d = Path(work_dir)
    return {"checkpoint": d / f"{alias}.checkpoint.jsonl", "dead_letter": d / f"{alias}.dead-letter.jsonl",
            "cache": d / f"{alias}.embedding_cache.npz"}


def _batches(items: Iterable[Product], n: int) -> Iterator[list[Product]]:
    batch: list[Product] = []
    for item in items:
        batch.append(item)
        if len(batch) >= n:
            yield batch
            batch = []
    if batch:
        yield batch



def index_catalog_to_cluster(
    products: Iterable[Product],
    *,
    client: Any,
    alias: str,
    encoder: Any,
    spec: Any,
    create_body: Callable[[], dict[str, Any]],
    writer_class: type[BulkWriter],
    template: ProductTextTemplate | None = None,
    work_dir: str | os.PathLike,
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
    """Index ``products`` into a new generation of ``alias`` (or the checkpointed one on resume) and move the
    alias to it once every document is written and counted.

    client: the target's client (opensearchpy.OpenSearch or elasticsearch.Elasticsearch). spec: the resolved
    index spec (mrs.opensearch.mapping.IndexSpec or mrs.elasticsearch.mapping.ElasticIndexSpec): its
    ``dimension``, ``text_fields``, ``attributes`` and ``vector_field`` shape each document
    (mrs.cluster.documents.document_source). create_body(): the index-creation body, called once and only when a
    new generation is created. writer_class: the bulk writer for the client. template: the product text template
    (default: the shared default). resume: continue the generation recorded in the checkpoint. keep: old
    generations to keep after the swap. seed_cache: an extra, read-only embedding cache file whose vectors are
    reused bit for bit. on_documents(n): progress callback after each bulk chunk. sleep/rand/now: injectable
    for tests. ingest_pipeline: the cluster embeds (mrs.opensearch.ingest_pipeline,
    mrs.elasticsearch.ingest_pipeline): documents go without vector and embedding text through this pipeline,
    nothing is encoded here and no embedding cache is written.
    InputError: nothing to resume, the checkpointed index is gone, the new index name exists, a product id twice.
    """
    check_index_name(alias)
    template = template or ProductTextTemplate()
    paths = work_paths(work_dir, alias)
    checkpoint = Checkpoint.load(paths["checkpoint"]) if resume else Checkpoint(paths["checkpoint"])
    index = _resumed_index(client, checkpoint, paths) if resume else _new_generation(
        client, alias, checkpoint, paths, create_body, now)
    if checkpoint.done:
        return IndexReport(alias=alias, index=index, status="up-to-date", skipped=len(checkpoint.written),
                           checkpoint=str(paths["checkpoint"]))

    use_cache = use_cache and not ingest_pipeline
    embed = CachedEmbedder(encoder, paths["cache"] if use_cache else None, seed_cache if use_cache else None)
    seen: set[str] = set()
    writer_kwargs: dict[str, Any] = {"config": bulk, "dead_letter": paths["dead_letter"], "checkpoint": checkpoint,
                                     "on_chunk": on_documents, "rand": rand,
                                     "pipeline": ingest_pipeline}
    if sleep is not None:
        writer_kwargs["sleep"] = sleep
    sources = product_sources(products, spec=spec, template=template, embed=embed, written=checkpoint.written,
                              seen=seen, cluster_embeds=bool(ingest_pipeline))
    bulk_report = writer_class(client, index, **writer_kwargs).write(sources)
    embed.save()
    report = _load_report(alias, index, paths, bulk_report, embed, seen, checkpoint, resume)
    if bulk_report.failed:
        return report
    report.count = verify_count(client, index, len(checkpoint.written))
    checkpoint.finish(len(checkpoint.written))
    swap = swap_alias(client, alias, index, keep=keep)
    report.previous, report.deleted, report.kept = swap.previous, swap.deleted, swap.kept
    report.status = "swapped"
    return report


def _resumed_index(client: Any, checkpoint: Checkpoint, paths: dict[str, Path]) -> str:
    """The physical index a checkpoint records (InputError: no checkpoint, or the index is gone)."""
    if checkpoint.index is None:
        raise InputError("nothing to resume: no checkpoint", path=str(paths["checkpoint"]))
    if not client.indices.exists(index=checkpoint.index):
        raise InputError(f"cannot resume: index {checkpoint.index} no longer exists on the cluster",
                         path=str(paths["checkpoint"]))
    return checkpoint.index


def _new_generation(client: Any, alias: str, checkpoint: Checkpoint, paths: dict[str, Path],
                    create_body: Callable[[], dict[str, Any]], now: Any) -> str:
    """Create ``ALIAS-<timestamp>`` with create_body(), start its checkpoint and clear an old dead letter."""
    index = generation_name(alias, now)
    if client.indices.exists(index=index):
        raise InputError(f"index {index} already exists (two runs in the same second?)")
    client.indices.create(index=index, body=create_body())
    checkpoint.start(index, alias)
    if paths["dead_letter"].exists():
        paths["dead_letter"].unlink()
    return index


def product_sources(products: Iterable[Product], *, spec: Any, template: ProductTextTemplate,
                    embed: Callable[[list[str]], np.ndarray], written: set[str],
                    seen: set[str], cluster_embeds: bool = False) -> Iterator[tuple[str, dict[str, Any]]]:
    """(id, ``_source``) of every product not yet ``written``, embedded in batches of BATCH_PRODUCTS.

    embed(texts) → vectors (a CachedEmbedder). seen: filled with every product id read. InputError (with the
    catalog line) when an id repeats. cluster_embeds: the sources carry neither vector nor embedding text (an
    ingest pipeline writes both), nothing is embedded.
    """
    from mrs.indexer.documents import bm25_texts, to_document

    for batch in _batches(products, BATCH_PRODUCTS):
        fresh = []
        for p in batch:
            if p.id in seen:
                raise InputError(f"product id {p.id!r} appears twice in the catalog", line=p.source_line)
            seen.add(p.id)
            if p.id not in written:
                fresh.append(p)
        docs = [to_document(p, template) for p in fresh]
        if cluster_embeds:
            for p, doc in zip(fresh, docs, strict=True):
                source = document_source(doc, spec, bm25_texts(p, spec.text_fields))
                source.pop("embedding_text", None)
                yield doc.id, source
            continue
        vectors = embed([d.text for d in docs]) if docs else np.zeros((0, spec.dimension), np.float32)
        for p, doc, vec in zip(fresh, docs, vectors, strict=True):
            doc.vector = vec
            yield doc.id, document_source(doc, spec, bm25_texts(p, spec.text_fields))


def _load_report(alias: str, index: str, paths: dict[str, Path], bulk_report: BulkReport, embed: CachedEmbedder,
                 seen: set[str], checkpoint: Checkpoint, resume: bool) -> IndexReport:
    """The IndexReport of a finished bulk load (status "incomplete" until the alias moves)."""
    return IndexReport(
        alias=alias, index=index, status="incomplete", documents=len(seen), indexed=bulk_report.indexed,
        skipped=len(seen & checkpoint.written) - bulk_report.indexed if resume else 0,
        failed=bulk_report.failed, retries=bulk_report.retries, embedded=embed.embedded, cached=embed.cached,
        dead_letter=str(paths["dead_letter"]), checkpoint=str(paths["checkpoint"]),
        failure_reasons=bulk_report.failure_reasons)


def read_typed_catalog(catalog: str | os.PathLike, *, id_field: str | None, on_error: str,
                       field_types: dict[str, str | None] | None = None) -> tuple[list[Product], dict[str, str], Any]:
    """(products, attribute types, rejects) of a catalog file for a cluster load: every product is read first,
    because attribute types (mrs.engine.attributes.detect_field_types; ``field_types`` overrides) must be known
    before the mapping is created. on_error: fail | skip (skipped rows are counted in the mrs.data Rejects)."""
    from mrs.data.readers import Rejects, read_catalog
    from mrs.engine.attributes import detect_field_types

    rejects = Rejects()
    products = list(read_catalog(catalog, id_field=id_field, on_error=on_error, rejects=rejects))
    attributes = detect_field_types([p.fields for p in products], field_types, exclude=("id",))
    return products, attributes, rejects


def load_summary(report: IndexReport, *, backend: str, rejects: Any, work_dir: str | os.PathLike, settings: Any,
                 spec: Any, encoder: Any) -> dict[str, Any]:
    """The JSON summary of `mrs index catalog` on a cluster: the IndexReport, the rejects file (written to
    ``work_dir/ALIAS.rejects.jsonl`` when rows were refused), the cluster (no secret), the spec and the model."""
    out = report.to_dict()
    rejects_file = str(rejects.write(Path(work_dir) / f"{report.alias}.rejects.jsonl")) if rejects.count else None
    out.update({"backend": backend, "rejected": rejects.count, "rejects": rejects_file,
                "cluster": settings.describe(), "spec": spec.to_dict(), "model": encoder.identity.get("name")})
    return out
