"""Elasticsearch's ``linear`` and ``rrf`` retriever combination for many weight vectors at once: the arithmetic
of mrs.engine.linear_retriever.combine_retriever, vectorised over weight vectors for the blend grid
(``mrs calibrate --target elasticsearch``), float32 step by step as the Java code.

- ``linear_kernel``: Σᵢ wᵢ · normᵢ over the sub-retrievers that returned the document (each term rounded to
  float, then added in sub-retriever order: ``score += weight * normalizedScore``); no division.
- ``rrf_kernel``: Σᵢ wᵢ · (1f / (rank_constant + rankᵢ)) over the sub-retrievers that returned it.
"""

from __future__ import annotations

import numpy as np

from mrs.engine.linear_retriever import l2_norm, minmax, rrf_scores

ES_NORMALIZERS = {"min_max": minmax, "l2": l2_norm}
"""OpenSearch technique name → the Elasticsearch normalizer function it is deployed as (mrs.engine.techniques)."""


def linear_kernel(normalized, weight_matrix) -> np.ndarray:
    """normalized: (n_docs, n_subqueries) normalized scores, NaN where absent; weight_matrix: (n_w,
    n_subqueries). Returns float32 (n_w, n_docs)."""
    m = np.asarray(normalized, dtype=np.float32)
    w = np.asarray(weight_matrix, dtype=np.float32)
    total = np.zeros((w.shape[0], m.shape[0]), dtype=np.float32)
    for j in range(m.shape[1]):
        present = ~np.isnan(m[:, j])[None, :]
        term = (w[:, j:j + 1] * np.nan_to_num(m[:, j], nan=0.0)[None, :]).astype(np.float32)
        total = np.where(present, total + term, total).astype(np.float32)
    return total


def rrf_kernel(rank, weight_matrix, rank_constant: int) -> np.ndarray:
    """rank: (n_subqueries, n_docs) 1-based ranks, 0 where absent; weight_matrix: (n_w, n_subqueries).
    Returns float32 (n_w, n_docs)."""
    rank = np.asarray(rank, dtype=np.int64)
    max_rank = int(rank.max()) if rank.size else 0
    table = np.concatenate([np.zeros(1, dtype=np.float32), rrf_scores(max_rank, rank_constant)])
    terms = table[rank]
    w = np.asarray(weight_matrix, dtype=np.float32)
    total = np.zeros((w.shape[0], rank.shape[1]), dtype=np.float32)
    for j in range(rank.shape[0]):
        present = (rank[j] > 0)[None, :]
        total = np.where(present, total + (w[:, j:j + 1] * terms[j][None, :]).astype(np.float32), total)
        total = total.astype(np.float32)
    return total
