"""The one HNSW builder: parameters as given, rows labelled in order, neighbours as exact search finds them."""

from __future__ import annotations

import faiss
import numpy as np
import pytest

from mrs.ann import build_hnsw


def _unit_rows(n: int, d: int, seed: int) -> np.ndarray:
    rows = np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


@pytest.mark.parametrize("metric", ["inner_product", "l2"])
def test_build_hnsw_sets_its_parameters_and_finds_the_exact_neighbours_of_a_small_set(metric):
    rows = _unit_rows(60, 8, seed=1)
    index = build_hnsw(rows, metric=metric, m=8, ef_construction=40, ef_search=60)
    assert index.ntotal == 60 and index.d == 8
    assert (index.hnsw.efConstruction, index.hnsw.efSearch) == (40, 60)
    assert index.metric_type == (faiss.METRIC_L2 if metric == "l2" else faiss.METRIC_INNER_PRODUCT)
    # efSearch 60 ≥ n: the graph walk sees every row, so each row's nearest neighbour is itself (label = row)
    _, labels = index.search(rows, 1)
    assert labels[:, 0].tolist() == list(range(60))


def test_build_hnsw_rejects_an_unknown_metric_and_a_flat_array():
    with pytest.raises(ValueError, match="unknown HNSW metric"):
        build_hnsw(_unit_rows(4, 2, 0), metric="cosine", m=4, ef_construction=8)
    with pytest.raises(ValueError, match="2-D"):
        build_hnsw(np.zeros(4, dtype=np.float32), metric="l2", m=4, ef_construction=8)
