"""The one faiss HNSW builder: every approximate nearest-neighbour graph in mrs is built here.

A neutral module below every room (like mrs.atomic), so the toolkit (Stage-2 mining) and the engine (the
embedded k-NN index) build their graphs the same way, each with its own explicit parameters.

Reference: faiss ``IndexHNSWFlat`` (Malkov & Yashunin 2018, "Efficient and robust approximate nearest
neighbor search using Hierarchical Navigable Small World graphs"); OpenSearch's faiss engine names the same
parameters m, ef_construction and ef_search.
"""

from __future__ import annotations

import numpy as np

METRICS: tuple[str, ...] = ("inner_product", "l2")


def build_hnsw(vectors: np.ndarray, *, metric: str, m: int, ef_construction: int, ef_search: int | None = None):
    """A faiss IndexHNSWFlat holding ``vectors`` (n, d), rows added in order (row i is label i).

    metric: "inner_product" (cosine on unit vectors) or "l2" (squared Euclidean distance). m: neighbours per
    node; ef_construction: candidate list while inserting; ef_search: the index's default candidate list
    while searching (None keeps faiss's default; a caller that passes SearchParametersHNSW per query needs
    none). ValueError for an unknown metric or a vectors array that is not 2-D.
    """
    import faiss

    if metric not in METRICS:
        raise ValueError(f"unknown HNSW metric {metric!r}; use one of {', '.join(METRICS)}")
    rows = np.ascontiguousarray(vectors, dtype=np.float32)
    if rows.ndim != 2:
        raise ValueError(f"vectors must be 2-D (n, d), got shape {rows.shape}")
    faiss_metric = faiss.METRIC_L2 if metric == "l2" else faiss.METRIC_INNER_PRODUCT
    index = faiss.IndexHNSWFlat(rows.shape[1], m, faiss_metric)
    index.hnsw.efConstruction = ef_construction
    if ef_search is not None:
        index.hnsw.efSearch = ef_search
    index.add(rows)
    return index
