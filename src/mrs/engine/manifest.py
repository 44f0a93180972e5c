"""The index manifest: what an index directory holds and how it was built.

``manifest.json`` records everything a reader needs to use the index the way it was written and to
detect mismatches: format version, model identity and dimension, encoder backend, vector space and
HNSW parameters, BM25 fields with boosts, analyzer, similarity with k1/b, the embedding text template,
document counts, mrs and library versions, and the creation time (UTC, ISO 8601).
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from mrs.errors import InputError
from mrs.models import write_json

MANIFEST_FILE = "manifest.json"
FORMAT = "mrs-embedded-index"
FORMAT_VERSION = 2  # 2: typed attribute columns (``attributes``); version 1 indexes load without them

REQUIRED_KEYS = ("format", "format_version", "model", "encoder", "vectors", "bm25", "text_template", "counts")
_LIBRARIES = ("mine-refine-search", "numpy", "scipy", "faiss-cpu", "sentence-transformers", "torch")


def library_versions() -> dict[str, str | None]:
    """Installed versions of mrs and the libraries that shape scores and vectors (None when absent)."""
    out: dict[str, str | None] = {}
    for name in _LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def build_manifest(
    *,
    model: dict,
    dimension: int,
    encoder: str,
    normalized: bool,
    vectors: dict,
    fields: dict[str, float],
    analyzer: str,
    similarity: str,
    k1: float,
    b: float,
    text_template: str,
    counts: dict[str, int],
    attributes: dict[str, str] | None = None,
    content_sha256: str | None = None,
) -> dict[str, Any]:
    """The manifest dict.

    model: mrs.models.model_identity ({"name", "path", "sha256"}); dimension: vector length;
    encoder: encoder backend name ("torch"); normalized: vectors L2-normalized before storing;
    vectors: VectorIndex.params(); fields: BM25 field → boost; counts: {"documents", "embedded", "cached", ...};
    attributes: typed attribute field → type (mrs.engine.attributes), stored under ``attributes/``.
    content_sha256: fingerprint of what was indexed (content_fingerprint), so a calibration can tell that it
    was fitted on another catalog.
    """
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "model": {**model, "dimension": int(dimension)},
        "encoder": {"backend": encoder, "normalized": bool(normalized)},
        "vectors": vectors,
        "bm25": {"fields": dict(fields), "analyzer": analyzer, "similarity": similarity, "k1": k1, "b": b},
        "text_template": text_template,
        "counts": dict(counts),
        "attributes": dict(attributes or {}),
        "content_sha256": content_sha256,
        "versions": library_versions(),
    }


def content_fingerprint(ids: list[str], keys: list[str]) -> str:
    """sha256 over the documents in index order: each id with the content key of its embedding text
    (mrs.indexer.cache.cache_key: model, encoder, text). Equal for two builds of the same catalog with the
    same model and template; different when any product, its text or the model differs."""
    import hashlib

    h = hashlib.sha256()
    for doc_id, key in zip(ids, keys, strict=True):
        h.update(doc_id.encode("utf-8") + b"\0" + key.encode("utf-8") + b"\n")
    return h.hexdigest()


def write_manifest(directory: str | os.PathLike, manifest: dict) -> None:
    write_json(Path(directory) / MANIFEST_FILE, manifest)


def read_manifest(directory: str | os.PathLike) -> dict[str, Any]:
    """Read and check ``<directory>/manifest.json``. InputError when the directory is not an mrs index,
    the manifest is unreadable, or it was written by a newer format version."""
    d = Path(directory)
    if not d.exists():
        raise InputError("index directory does not exist (build it with `mrs index catalog`)", path=d)
    if not d.is_dir():
        raise InputError("not an index directory", path=d)
    path = d / MANIFEST_FILE
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("not an mrs index (no manifest.json)", path=d) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(f"corrupt manifest ({e})".splitlines()[0], path=path) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise InputError(f"not an mrs index manifest (format is not {FORMAT!r})", path=path)
    missing = [k for k in REQUIRED_KEYS if k not in manifest]
    if missing:
        raise InputError(f"corrupt manifest: missing {', '.join(missing)}", path=path)
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise InputError(f"index format version {version} is newer than this mrs reads ({FORMAT_VERSION}); "
                         "upgrade mrs or rebuild the index", path=path)
    return manifest
