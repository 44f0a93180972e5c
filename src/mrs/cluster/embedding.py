"""Embedding texts for a cluster load through the content-hash cache of mrs.indexer.cache, with the same keys as
the embedded indexer (model sha256, encoder backend, normalization, max sequence length, text), so a product
whose text did not change is never encoded twice — and vectors the embedded index already holds are reused bit
for bit (``seed_cache``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np


class CachedEmbedder:
    """Encodes embedding texts through the content-hash cache (see module doc). Keeps every key/vector it served
    so ``save`` writes exactly the current catalog's vectors.

    encoder: mrs.indexer.embed.Encoder (identity, backend, normalize, dimension, encode). cache_path: the cache
    file read and written (None: no cache). seed_cache: an extra, read-only cache file. Counts: ``embedded``
    (texts encoded), ``cached`` (texts found in a cache).
    """

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
        """float32 vectors (len(texts) × dimension) of ``texts``: cached ones looked up, the rest encoded."""
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
        """Write the served keys and vectors to cache_path (nothing without one or without texts)."""
        if self.cache_path is None or not self.keys:
            return
        from mrs.indexer.cache import EmbeddingCache

        keys, idx = np.unique(np.asarray(self.keys), return_index=True)
        EmbeddingCache.save(self.cache_path, list(keys), np.concatenate(self.vectors)[idx])
