"""The scale benchmark's realistic-vector generator: shapes, unit norms, the cosine to each source row."""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from scale_vectors import nearest_neighbour_cosines, noise_basis, perturbed_copies  # noqa: E402


def unit_rows(n, d, seed=0):
    x = np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_copies_are_unit_rows_at_the_drawn_cosine_to_their_source():
    base = unit_rows(50, 16)
    targets = np.array([0.6, 0.8, 0.95])
    out = perturbed_copies(base, 1_000, targets, seed=1)
    assert out.shape == (1_000, 16) and out.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(out[:50], base)  # the real rows come first, unchanged
    cos = np.sum(out * base[np.arange(1_000) % 50], axis=1)
    # every copy sits at one of the target cosines to its source (cos = 1 / sqrt(1 + σ²) by construction)
    nearest = targets[np.abs(cos[50:, None] - targets[None, :]).argmin(axis=1)]
    np.testing.assert_allclose(cos[50:], nearest, atol=1e-5)
    assert set(np.round(cos[50:].astype(np.float64), 3).tolist()) == {0.6, 0.8, 0.95}  # all three drawn


def test_same_seed_same_rows_and_chunks_fill_a_given_array():
    base = unit_rows(7, 8)
    out = np.zeros((100, 8), dtype=np.float32)
    filled = perturbed_copies(base, 100, np.array([0.9]), seed=3, out=out)
    assert filled is out
    np.testing.assert_array_equal(out, perturbed_copies(base, 100, np.array([0.9]), seed=3))


def test_noise_follows_the_catalog_covariance():
    rng = np.random.default_rng(0)
    scales = np.array([5.0, 1.0, 0.1], dtype=np.float32)
    x = rng.standard_normal((20_000, 3)).astype(np.float32) * scales
    basis = noise_basis(x)
    np.testing.assert_allclose(basis @ basis.T, np.cov(x.T), rtol=1e-3, atol=1e-3)


def test_bad_target_cosines_are_refused():
    with pytest.raises(ValueError):
        perturbed_copies(unit_rows(3, 4), 10, np.array([0.0]))
    with pytest.raises(ValueError):
        perturbed_copies(unit_rows(3, 4), 10, np.array([]))


def test_nearest_neighbour_cosines_by_hand():
    v = np.array([[1, 0], [0.6, 0.8], [0, 1], [-1, 0]], dtype=np.float32)
    # 0 ↔ 1: 0.6; 1 ↔ 2: 0.8; 2 ↔ 1: 0.8; 3 ↔ 2: 0.0 (its cosine to 0 is −1)
    np.testing.assert_allclose(nearest_neighbour_cosines(v, chunk=3), [0.6, 0.8, 0.8, 0.0], atol=1e-6)
    np.testing.assert_allclose(nearest_neighbour_cosines(v, np.array([3, 0]), chunk=2), [0.0, 0.6], atol=1e-6)
