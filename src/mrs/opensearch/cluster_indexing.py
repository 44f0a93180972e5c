"""The catalog → cluster indexing flow shared by the OpenSearch and Elasticsearch targets: duplicate-id check,
checkpoint/resume, embedding through the content-hash cache, resilient bulk load into ``ALIAS-<timestamp>``,
count check, atomic alias swap (blue/green) keeping N old generations, and the run report.

What differs per target is passed in: the body that creates the new index (mapping + settings; built only when
a new generation is created) and the bulk writer class (mrs.opensearch.bulk.BulkWriter or a subclass that
replaces only the client-specific send step). mrs.opensearch.indexing and mrs.elasticsearch.indexing resolve
their index spec and call ``index_catalog_to_cluster``; this module imports nothing from mrs.elasticsearch.

Files beside the work (``work_dir``): ``ALIAS.checkpoint.jsonl`` (resume), ``ALIAS.dead-letter.jsonl`` (items
that failed), ``ALIAS.embedding_cache.npz`` (vectors by content hash). When any document ends in the dead letter
the alias is NOT moved (the new index is incomplete); fix the cause and rerun with ``resume=True``: written ids
are skipped and the failed ones are sent again.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mrs.data.catalog import Product
from mrs.data.text import ProductTextTemplate
from mrs.errors import InputError
from mrs.opensearch.aliases import check_index_name, generation_name, swap_alias
from mrs.opensearch.backend import document_source
from mrs.opensearch.bulk import BulkConfig, BulkWriter, Checkpoint, verify_count

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


class CachedEmbedder:
    """Encodes embedding texts through the content-hash cache of mrs.indexer.cache (same keys as the embedded
    indexer: model sha256, encoder backend, normalization, text). Keeps every key/vector it served so
    ``save`` writes exactly the current catalog's vectors."""

    def __init__(self, encoder: Any, cache_path: str | os.PathLike | None,
                 seed_cache: str | os.PathLike | None = None) -> None:
        from mrs.indexer.cache import EmbeddingCache

        self.encoder = encoder
        self.cache_path = Path(cache_path) if cache_path else None
        self.cache = EmbeddingCache.load(self.cache_path) if self.cache_path else EmbeddingCache()
        # read-only extra cache, e.g. the embedded index's <index>/embedding_cache.npz (same keys)
        self.seed = EmbeddingCache.load(seed_cache) if seed_cache else None
        self.keys: list[str] = []
        self.vectors: list[np.ndarray] = []
        self.embedded = 0
        self.cached = 0

    def __call__(self, texts: list[str]) -> np.ndarray:
        from mrs.indexer.cache import cache_key

        sha = self.encoder.identity.get("sha256", "")
        keys = [cache_key(sha, self.encoder.backend, self.encoder.normalize, t,
                          getattr(self.encoder, "max_seq_length", None)) for t in texts]
        found, hit_vectors = self.cache.lookup(keys)
        out = np.zeros((len(texts), int(self.encoder.dimension)), dtype=np.float32)
        if found.any():
            out[found] = hit_vectors
        if self.seed is not None and not found.all():
            rest = np.flatnonzero(~found)
            seed_found, seed_vectors = self.seed.lookup([keys[i] for i in rest])
            if seed_found.any():
                out[rest[seed_found]] = seed_vectors
                found[rest[seed_found]] = True
        missing = np.flatnonzero(~found)
        if len(missing):
            out[missing] = self.encoder.encode([texts[i] for i in missing])
        self.embedded += len(missing)
        self.cached += int(found.sum())
        self.keys.extend(keys)
        self.vectors.append(out)
        return out

    def save(self) -> None:
        if self.cache_path is None or not self.keys:
            return
        from mrs.indexer.cache import EmbeddingCache

        keys, idx = np.unique(np.asarray(self.keys), return_index=True)
        EmbeddingCache.save(self.cache_path, list(keys), np.concatenate(self.vectors)[idx])


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
    writer_class: type[BulkWriter] = BulkWriter,
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
    ``dimension`` and ``text_fields`` shape each document (mrs.opensearch.backend.document_source).
    create_body(): the index-creation body, called once and only when a new generation is created.
    writer_class: the bulk writer for the client. template: the product text template (default: the shared
    default). resume: continue the generation recorded in the checkpoint. keep: old generations to keep after
    the swap. seed_cache: an extra, read-only embedding cache file whose vectors are reused bit for bit.
    on_documents(n): progress callback after each bulk chunk. sleep/rand/now: injectable for tests.
    ingest_pipeline: the cluster embeds (mrs.opensearch.ingest_pipeline): documents go without vector and
    embedding text through this pipeline, nothing is encoded here and no embedding cache is written.
    InputError: nothing to resume, the checkpointed index is gone, the new index name exists, a product id twice.
    """
    from mrs.indexer.documents import bm25_texts, to_document

    check_index_name(alias)
    template = template or ProductTextTemplate()
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
        client.indices.create(index=index, body=create_body())
        checkpoint.start(index, alias)
        if paths["dead_letter"].exists():
            paths["dead_letter"].unlink()

    use_cache = use_cache and not ingest_pipeline
    embed = CachedEmbedder(encoder, paths["cache"] if use_cache else None, seed_cache if use_cache else None)
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
            if ingest_pipeline:  # the pipeline writes embedding_text and the vector
                for p, doc in zip(fresh, docs, strict=True):
                    source = document_source(doc, spec, bm25_texts(p, spec.text_fields))
                    source.pop("embedding_text", None)
                    yield doc.id, source
                continue
            vectors = embed([d.text for d in docs]) if docs else np.zeros((0, spec.dimension), np.float32)
            for p, doc, vec in zip(fresh, docs, vectors, strict=True):
                doc.vector = vec
                yield doc.id, document_source(doc, spec, bm25_texts(p, spec.text_fields))

    writer_kwargs: dict[str, Any] = {"config": bulk, "dead_letter": paths["dead_letter"], "checkpoint": checkpoint,
                                     "on_chunk": on_documents, "rand": rand, "pipeline": ingest_pipeline}
    if sleep is not None:
        writer_kwargs["sleep"] = sleep
    bulk_report = writer_class(client, index, **writer_kwargs).write(sources())
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
