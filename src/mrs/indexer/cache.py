"""Content-hash embedding cache: re-indexing an unchanged catalog embeds nothing.

Key of one embedding: sha256 over the model identity (its sha256), the encoder backend, whether vectors
are normalized, and the embedding text. A product whose embedding text did not change keeps its key, so
its vector is reused; a changed product gets a new key and is embedded again alone.

On disk: one file ``<index>/embedding_cache.npz`` holding
- ``keys``: (n,) array of 64-character hex keys (dtype ``<U64``);
- ``vectors``: (n, dimension) float32, row i is the vector of ``keys[i]``.
Keys and vectors live in ONE file written to a temporary name and renamed, so they can never be paired
across two writes; a file that cannot be read, or whose arrays disagree in length, is treated as an
empty cache (costs time, never correctness).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

CACHE_FILE = "embedding_cache.npz"


def cache_key(model_sha256: str, backend: str, normalized: bool, text: str,
              max_seq_length: int | None = None) -> str:
    """The 64-char hex sha256 key of one embedding text under one model/encoder setting: model sha256,
    encoder backend, normalization and max_seq_length (tokens kept before truncation: another cut embeds the
    same text differently)."""
    h = hashlib.sha256()
    for part in (model_sha256, backend, "normalized" if normalized else "raw", f"max_seq_length={max_seq_length}",
                 text):
        h.update(part.encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()


class EmbeddingCache:
    """In-memory map key → float32 vector, loaded from and saved to a cache directory.

    dimension: vector length (None until the first vector is added or a cache is loaded).
    """

    def __init__(self, dimension: int | None = None) -> None:
        self.dimension = dimension
        self._rows: dict[str, int] = {}
        self._vectors: np.ndarray = np.zeros((0, dimension or 0), dtype=np.float32)

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, key: str) -> bool:
        return key in self._rows

    @classmethod
    def load(cls, path: str | os.PathLike) -> EmbeddingCache:
        """The cache file at ``path``; an empty cache when it is missing or unreadable."""
        try:
            with np.load(Path(path), allow_pickle=False) as npz:
                keys, vectors = npz["keys"], npz["vectors"]
        except (OSError, ValueError, KeyError, EOFError):
            return cls()
        if keys.ndim != 1 or vectors.ndim != 2 or len(keys) != len(vectors):
            return cls()
        cache = cls(int(vectors.shape[1]))
        cache._vectors = vectors.astype(np.float32, copy=False)
        cache._rows = {str(k): i for i, k in enumerate(keys.tolist())}
        return cache

    def lookup(self, keys: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(found, vectors): found is a bool mask over ``keys``; vectors holds the found rows in order,
        shape (found.sum(), dimension)."""
        rows = [self._rows.get(k, -1) for k in keys]
        found = np.array([r >= 0 for r in rows], dtype=bool)
        idx = np.array([r for r in rows if r >= 0], dtype=np.int64)
        return found, self._vectors[idx] if len(idx) else np.zeros((0, self.dimension or 0), dtype=np.float32)

    @staticmethod
    def save(path: str | os.PathLike, keys: Sequence[str], vectors: np.ndarray) -> None:
        """Write exactly ``keys`` → ``vectors`` rows to the file ``path``, all or nothing (mrs.atomic)."""
        from mrs.atomic import atomic_file

        p = Path(path)
        vectors = np.asarray(vectors, dtype=np.float32)
        if len(keys) != len(vectors):
            raise ValueError(f"{len(keys)} keys for {len(vectors)} vectors")
        with atomic_file(p, "wb") as fh:
            np.savez(fh, keys=np.asarray(list(keys), dtype="<U64"), vectors=vectors)
