"""Build an embedded index directory from a catalog: documents, embeddings (cached), BM25, vectors.

``build_index(index_dir, products, encoder=...)`` is what `mrs index catalog` and
``EmbeddedEngine.build`` run. Embeddings of products whose embedding text did not change come from the
previous index's cache; identical texts are encoded once; the directory is replaced atomically
(mrs.engine.store).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mrs.data.catalog import Product
from mrs.data.text import DEFAULT_TEMPLATE, ProductTextTemplate
from mrs.engine import store
from mrs.engine.analysis import DEFAULT_ANALYZER, Analyzer
from mrs.engine.attributes import ATTRIBUTES_DIR, AttributeColumns, detect_field_types
from mrs.engine.bm25 import MultiFieldBM25
from mrs.engine.manifest import MANIFEST_FILE, build_manifest, content_fingerprint, write_manifest
from mrs.engine.vectors import (
    DEFAULT_EF_CONSTRUCTION,
    DEFAULT_EF_SEARCH,
    DEFAULT_HNSW_THRESHOLD,
    DEFAULT_M,
    VectorIndex,
)
from mrs.errors import InputError
from mrs.indexer.cache import EmbeddingCache, cache_key
from mrs.indexer.documents import DEFAULT_FIELDS, bm25_texts, format_fields, to_document
from mrs.indexer.embed import Encoder

# on_progress(stage, completed, total): stage is "read", "embed", "bm25", "vectors" or "write";
# total is None while unknown (reading the catalog).
ProgressCallback = Callable[[str, int, int | None], None]


@dataclass
class IndexStats:
    """What one build did. documents: indexed; embedded: texts encoded now; cached: documents whose
    vector came from the embedding cache; seconds: wall time of the whole build; attributes: the typed
    attribute fields (name → type, mrs.engine.attributes); leftovers_removed: names of the directories a
    killed earlier build left beside the index (mrs.engine.store.clean_leftovers)."""

    documents: int
    embedded: int
    cached: int
    seconds: float
    vector_method: str
    index: str
    attributes: dict[str, str] = field(default_factory=dict)
    leftovers_removed: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def build_index(
    directory: str | os.PathLike,
    products: Iterable[Product],
    *,
    encoder: Encoder,
    template: ProductTextTemplate | str | None = None,
    fields: dict[str, float] | None = None,
    analyzer: str = DEFAULT_ANALYZER,
    similarity: str = "BM25",
    k1: float = 1.2,
    b: float = 0.75,
    hnsw_threshold: int = DEFAULT_HNSW_THRESHOLD,
    m: int = DEFAULT_M,
    ef_construction: int = DEFAULT_EF_CONSTRUCTION,
    ef_search: int = DEFAULT_EF_SEARCH,
    field_types: dict[str, str | None] | None = None,
    on_progress: ProgressCallback | None = None,
    locked: bool = False,
    wait: bool = False,
) -> IndexStats:
    """Index ``products`` into ``directory`` (replaced atomically; see mrs.engine.store).

    encoder: decides the model and the vector space (encoder.space_type). template: the embedding text
    template (default mrs.data.text.DEFAULT_TEMPLATE). fields: BM25 field → boost (default
    title^3, brand^2, color, category, bullet_points, description). analyzer/similarity/k1/b: see
    mrs.engine.bm25. hnsw_*: see VectorIndex. field_types: overrides of the detected attribute types
    (mrs.engine.attributes.parse_field_types). Embeddings of products whose embedding text is unchanged
    come from the previous index's cache at ``directory``.
    locked: the caller already holds mrs.engine.store.index_lock(directory); else the build takes it (wait:
    block until another writer is done, instead of InputError naming it). Under the lock, leftovers of killed
    builds are removed first.
    """
    with nullcontext() if locked else store.index_lock(directory, wait=wait):
        leftovers = store.clean_leftovers(directory)
        stats = _build_locked(directory, products, encoder=encoder, template=template, fields=fields,
                              analyzer=analyzer, similarity=similarity, k1=k1, b=b, hnsw_threshold=hnsw_threshold,
                              m=m, ef_construction=ef_construction, ef_search=ef_search, field_types=field_types,
                              on_progress=on_progress)
    stats.leftovers_removed = leftovers
    return stats


def _build_locked(directory: str | os.PathLike, products: Iterable[Product], *, encoder: Encoder, template,
                  fields, analyzer, similarity, k1, b, hnsw_threshold, m, ef_construction, ef_search,
                  field_types, on_progress) -> IndexStats:
    """build_index's work, with the index lock held."""
    started = time.perf_counter()
    target = Path(directory)
    if isinstance(template, str) or template is None:
        template = ProductTextTemplate(template or DEFAULT_TEMPLATE)
    fields = dict(fields or DEFAULT_FIELDS)
    report = on_progress or (lambda stage, done, total: None)

    docs = _read_documents(products, template, report)
    rows = [d.fields for d in docs]
    types = detect_field_types(rows, field_types, exclude=("id",))
    attributes = AttributeColumns.build(rows, types, ids=[d.id for d in docs])
    keys, vectors, embedded, cached = _embed_documents(target, docs, encoder, report)

    report("bm25", 0, 1)
    bm25 = MultiFieldBM25(fields=fields, analyzer=Analyzer(analyzer), similarity=similarity, k1=k1, b=b)
    bm25.build([bm25_texts(_as_product(d), fields) for d in docs])
    report("bm25", 1, 1)

    report("vectors", 0, 1)
    vindex = VectorIndex(vectors, encoder.space_type, hnsw_threshold=hnsw_threshold, m=m,
                         ef_construction=ef_construction, ef_search=ef_search)
    report("vectors", 1, 1)

    report("write", 0, 1)
    with store.atomic_directory(target) as tmp:
        store.write_documents(tmp, ((d.id, d.fields) for d in docs))
        bm25.save(tmp / store.BM25_DIR)
        vindex.save(tmp / store.VECTORS_DIR)
        attributes.save(tmp / ATTRIBUTES_DIR)
        EmbeddingCache.save(tmp / store.CACHE_FILE, keys, vectors)
        manifest = build_manifest(
            model=encoder.identity, dimension=encoder.dimension, encoder=encoder.backend,
            normalized=encoder.normalize, vectors=vindex.params(), fields=fields, analyzer=analyzer,
            similarity=similarity, k1=k1, b=b, text_template=template.template,
            counts={"documents": len(docs), "embedded": embedded, "cached": cached}, attributes=types,
            content_sha256=content_fingerprint([d.id for d in docs], keys),
        )
        write_manifest(tmp, manifest)  # last: a directory without it is never taken for an index
    report("write", 1, 1)
    return IndexStats(documents=len(docs), embedded=embedded, cached=cached,
                      seconds=round(time.perf_counter() - started, 3), vector_method=vindex.method,
                      index=str(target), attributes=types)


def _read_documents(products: Iterable[Product], template: ProductTextTemplate, report: ProgressCallback) -> list:
    """Every product as an indexer Document (fields + embedding text); InputError for an empty catalog."""
    docs = []
    for product in products:
        docs.append(to_document(product, template))
        if len(docs) % 1000 == 0:
            report("read", len(docs), None)
    if not docs:
        raise InputError("the catalog has no products to index")
    report("read", len(docs), len(docs))
    return docs


def _embed_documents(target: Path, docs: list, encoder: Encoder,
                     report: ProgressCallback) -> tuple[list[str], np.ndarray, int, int]:
    """(cache keys, vectors (n, dim) float32, texts encoded now, vectors from the cache): vectors of unchanged
    embedding texts come from the previous index's cache at ``target``; the rest are encoded once per
    distinct text."""
    identity = encoder.identity
    keys = [cache_key(identity.get("sha256", ""), encoder.backend, encoder.normalize, d.text,
                      getattr(encoder, "max_seq_length", None)) for d in docs]  # None: encoder does not truncate
    store.recover_previous(target)
    cache = EmbeddingCache.load(target / store.CACHE_FILE) if (target / MANIFEST_FILE).exists() else EmbeddingCache()
    if cache.dimension is not None and cache.dimension != encoder.dimension:
        cache = EmbeddingCache()
    found, cached_vectors = cache.lookup(keys)
    vectors = np.zeros((len(docs), encoder.dimension), dtype=np.float32)
    if found.any():
        vectors[found] = cached_vectors
    missing_rows = np.flatnonzero(~found)
    first_row_of_key: dict[str, int] = {}
    for row in missing_rows:
        first_row_of_key.setdefault(keys[row], int(row))
    to_encode = list(first_row_of_key.values())
    done = 0
    report("embed", 0, len(to_encode))

    def step(n: int) -> None:
        nonlocal done
        done += n
        report("embed", done, len(to_encode))

    if to_encode:
        encoded = encoder.encode([docs[r].text for r in to_encode], progress=step)
        row_vectors = dict(zip(first_row_of_key.keys(), encoded, strict=True))
        for row in missing_rows:
            vectors[row] = row_vectors[keys[row]]
    return keys, vectors, len(to_encode), int(found.sum())


def _as_product(doc) -> Product:
    return Product(id=doc.id, fields=doc.fields)


def rejects_beside(index_dir: str | os.PathLike) -> Path:
    """``<index>.rejects.jsonl`` beside the index directory (inside it would vanish with the next swap)."""
    index_dir = Path(index_dir)
    return index_dir.with_name(index_dir.name + ".rejects.jsonl")


def index_catalog(directory: str | os.PathLike, products: Iterable[Product], *, encoder: Encoder,
                  rejects=None, **options: Any) -> tuple[IndexStats, dict[str, Any]]:
    """`mrs index catalog` on the embedded backend: build_index(directory, products, encoder=…, **options)
    (the caller holds the index lock), then the catalog's rejected rows (an mrs.data.rejects.Rejects, when
    any) written beside the index (rejects_beside).

    Returns (stats, summary): summary is what the command prints with --json: the stats plus "rejected",
    "rejects" (the file or None), "model", "encoder", "dimension", "space_type", "fields" (name^boost,…),
    "similarity", "analyzer"."""
    stats = build_index(directory, products, encoder=encoder, locked=True, **options)
    count = rejects.count if rejects is not None else 0
    rejects_file = str(rejects.write(rejects_beside(directory))) if count else None
    summary = {
        **stats.to_dict(),
        "rejected": count,
        "rejects": rejects_file,
        "model": encoder.identity.get("name"),
        "encoder": encoder.backend,
        "dimension": encoder.dimension,
        "space_type": encoder.space_type,
        "fields": format_fields(dict(options.get("fields") or DEFAULT_FIELDS)),
        "similarity": options.get("similarity", "BM25"),
        "analyzer": options.get("analyzer", DEFAULT_ANALYZER),
    }
    return stats, summary
