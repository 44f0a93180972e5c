"""Embedding cache: keys change with model or text; the file round-trips; a broken file is an empty cache."""

from __future__ import annotations

import numpy as np

from mrs.indexer.cache import EmbeddingCache, cache_key


def test_key_depends_on_model_backend_normalization_and_text():
    base = cache_key("sha-a", "torch", True, "red shirt")
    assert len(base) == 64 and base == cache_key("sha-a", "torch", True, "red shirt")
    assert base != cache_key("sha-b", "torch", True, "red shirt")
    assert base != cache_key("sha-a", "onnx", True, "red shirt")
    assert base != cache_key("sha-a", "torch", False, "red shirt")
    assert base != cache_key("sha-a", "torch", True, "red shirts")
    # parts are separated, so moving a character across the boundary changes the key
    assert cache_key("ab", "torch", True, "c") != cache_key("a", "torch", True, "bc")


def test_save_load_lookup(tmp_path):
    keys = [cache_key("m", "torch", True, t) for t in ("a", "b", "c")]
    vectors = np.arange(6, dtype=np.float32).reshape(3, 2)
    EmbeddingCache.save(tmp_path / "c.npz", keys, vectors)
    cache = EmbeddingCache.load(tmp_path / "c.npz")
    assert len(cache) == 3 and cache.dimension == 2
    unknown = cache_key("m", "torch", True, "z")
    found, got = cache.lookup([keys[2], unknown, keys[0]])
    assert found.tolist() == [True, False, True]
    np.testing.assert_array_equal(got, [[4, 5], [0, 1]])
    assert not list((tmp_path).glob("*.tmp"))


def test_missing_or_corrupt_cache_is_empty(tmp_path):
    assert len(EmbeddingCache.load(tmp_path / "absent.npz")) == 0
    (tmp_path / "bad.npz").write_bytes(b"not a zip file")
    cache = EmbeddingCache.load(tmp_path / "bad.npz")
    found, vectors = cache.lookup(["x"])
    assert found.tolist() == [False] and len(vectors) == 0
