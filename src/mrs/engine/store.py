"""The on-disk index directory, written atomically.

Layout of ``<index>/``::

    manifest.json          how the index was built (mrs.engine.manifest); written last
    documents.jsonl        one line per document, in index order: {"id": ..., "fields": {stored fields}}
    bm25/                  MultiFieldBM25.save
    vectors/               VectorIndex.save (vectors.npy, vectors.json, hnsw.faiss)
    attributes/            typed attribute columns (mrs.engine.attributes; format version ≥ 2)
    embedding_cache.npz    content-hash embedding cache (mrs.indexer.cache)

Atomic writes: ``atomic_directory(target)`` yields a fresh temporary directory BESIDE the target (same
filesystem, so renames are atomic); when the ``with`` block ends normally the old index is renamed aside,
the new one renamed into place, and the old one deleted. When the block raises, the temporary directory is
deleted and the previous index is untouched. A crash between the two renames leaves the previous index
under ``.<name>.old-*``; ``recover_previous`` (run by every open) renames it back.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mrs.engine.manifest import MANIFEST_FILE
from mrs.errors import InputError

DOCUMENTS_FILE = "documents.jsonl"
BM25_DIR = "bm25"
VECTORS_DIR = "vectors"
CACHE_FILE = "embedding_cache.npz"


def _old_prefix(target: Path) -> str:
    return f".{target.name}.old-"


def recover_previous(target: str | os.PathLike) -> bool:
    """When ``target`` is missing but a previous index was left renamed aside by an interrupted swap,
    rename it back. Returns True when something was recovered."""
    t = Path(target)
    if t.exists() or not t.parent.is_dir():
        return False
    olds = sorted(t.parent.glob(_old_prefix(t) + "*"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in olds:
        if (old / MANIFEST_FILE).exists():
            os.rename(old, t)
            return True
    return False


@contextmanager
def atomic_directory(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary directory to fill; on success it replaces ``target`` (see module doc).

    InputError when ``target`` exists and is a file, or a non-empty directory that is not an mrs index
    (never replace a directory of the user's own files).
    """
    t = Path(target)
    recover_previous(t)
    if t.exists():
        if not t.is_dir():
            raise InputError("index path exists and is not a directory", path=t)
        if any(t.iterdir()) and not (t / MANIFEST_FILE).exists():
            raise InputError("directory is not empty and is not an mrs index; refusing to replace it", path=t)
    t.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{t.name}.building-", dir=t.parent))
    os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700; the index gets ordinary directory permissions
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if t.exists():
        old = Path(tempfile.mkdtemp(prefix=_old_prefix(t), dir=t.parent))
        os.rmdir(old)
        os.rename(t, old)
    os.rename(tmp, t)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_documents(directory: str | os.PathLike, docs: Iterable[tuple[str, dict[str, Any]]]) -> int:
    """Write (id, stored fields) pairs as documents.jsonl. Returns the number written."""
    n = 0
    with (Path(directory) / DOCUMENTS_FILE).open("w", encoding="utf-8") as out:
        for doc_id, fields in docs:
            out.write(json.dumps({"id": doc_id, "fields": fields}, ensure_ascii=False, default=str) + "\n")
            n += 1
    return n


def read_documents(directory: str | os.PathLike) -> tuple[list[str], list[dict[str, Any]]]:
    """(ids, stored fields) from documents.jsonl, in index order. InputError (file, line) when corrupt."""
    path = Path(directory) / DOCUMENTS_FILE
    ids: list[str] = []
    fields: list[dict[str, Any]] = []
    try:
        fh = path.open(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("index is missing its documents", path=path) from None
    with fh:
        for line_no, line in enumerate(fh, start=1):
            try:
                row = json.loads(line)
                ids.append(str(row["id"]))
                fields.append(dict(row.get("fields") or {}))
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
                raise InputError(f"corrupt document row ({e})".splitlines()[0], path=path, line=line_no) from None
    return ids, fields
