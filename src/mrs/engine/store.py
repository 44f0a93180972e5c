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

One writer at a time: ``index_lock(target)`` holds an exclusive ``fcntl.flock`` on ``.<name>.lock`` beside the
index (the kernel drops it when the holder dies, even by kill -9) and records who holds it (pid, host, start
time), so a second writer is refused with that, or waits. Under the lock, ``clean_leftovers`` removes what a
killed writer left: ``.<name>.building-*`` (a half-written index) and ``.<name>.old-*`` (a previous index the
swap had already replaced).

Reference: flock(2) ("A call to flock() may block if an incompatible lock is held by another process";
locks are released when all file descriptors of the open file description are closed).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mrs.atomic import ensure_directory
from mrs.engine.manifest import MANIFEST_FILE
from mrs.errors import InputError, OutputError

DOCUMENTS_FILE = "documents.jsonl"
BM25_DIR = "bm25"
VECTORS_DIR = "vectors"
CACHE_FILE = "embedding_cache.npz"


def _old_prefix(target: Path) -> str:
    return f".{target.name}.old-"


def _building_prefix(target: Path) -> str:
    return f".{target.name}.building-"


def lock_path(target: str | os.PathLike) -> Path:
    """``<parent>/.<name>.lock``: the lock file of the index ``target`` (beside it: the index itself is swapped)."""
    t = Path(target)
    return t.parent / f".{t.name}.lock"


def _holder_text(path: Path) -> str:
    try:
        info = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        info = {}
    if not isinstance(info, dict) or not info.get("pid"):
        return "another process (it has not recorded itself yet)"
    return f"pid {info['pid']} on host {info.get('host', '?')} since {info.get('started', '?')}"


@contextmanager
def index_lock(target: str | os.PathLike, *, wait: bool = False,
               on_wait: Callable[[str], None] | None = None) -> Iterator[Path]:
    """Hold the exclusive write lock of the index ``target`` for the ``with`` block (see module doc).

    wait: False → InputError naming the holder (pid, host, start time) when another process holds it;
    True → block until it is free, calling ``on_wait(holder description)`` first. Yields the lock file path.
    OutputError when the lock file cannot be created (read-only or full directory).
    """
    t = Path(target)
    path = lock_path(t)
    ensure_directory(t.parent, t)
    try:
        fh = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held open for the whole block
    except OSError as e:
        raise OutputError(path, e) from e
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder_text(path)
            if not wait:
                raise InputError(f"index is being written by {holder}: wait for it to finish, or pass --wait to "
                                 "start when it is done", path=t) from None
            if on_wait is not None:
                on_wait(holder)
            fcntl.flock(fh, fcntl.LOCK_EX)
        me = {"pid": os.getpid(), "host": socket.gethostname(),
              "started": datetime.now(UTC).isoformat(timespec="seconds")}
        try:
            fh.seek(0)
            fh.truncate()
            fh.write(json.dumps(me) + "\n")
            fh.flush()
        except OSError as e:
            raise OutputError(path, e) from e
        yield path
    finally:
        try:
            fh.seek(0)
            fh.truncate()  # the holder's record goes with the lock
        except OSError:
            pass
        fh.close()  # releases the flock


def clean_leftovers(target: str | os.PathLike) -> list[str]:
    """Remove what killed writers of ``target`` left beside it; call it holding index_lock (no live writer
    can own them then). A missing index is first recovered from its newest ``.old-*`` (recover_previous);
    then every ``.<name>.building-*`` and ``.<name>.old-*`` directory goes. Returns their names."""
    t = Path(target)
    recover_previous(t)
    removed = []
    for prefix in (_building_prefix(t), _old_prefix(t)):
        for p in sorted(t.parent.glob(prefix + "*")):
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=True)
                removed.append(p.name)
    return removed


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
    ensure_directory(t.parent, t)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=_building_prefix(t), dir=t.parent))
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700; the index gets ordinary directory permissions
    except OSError as e:
        raise OutputError(t, e) from e
    try:
        yield tmp
    except OSError as e:  # full disk, read-only file system, ... while writing the new index
        shutil.rmtree(tmp, ignore_errors=True)
        raise OutputError(t, e) from e
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    try:
        if t.exists():
            old = Path(tempfile.mkdtemp(prefix=_old_prefix(t), dir=t.parent))
            os.rmdir(old)
            os.rename(t, old)
        os.rename(tmp, t)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        recover_previous(t)
        raise OutputError(t, e) from e
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
