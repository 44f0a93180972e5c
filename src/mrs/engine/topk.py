"""Top-k selection with Lucene's tie order: score descending, then document index ascending."""

from __future__ import annotations

import numpy as np


def top_k(scores: np.ndarray, mask: np.ndarray, k: int, ids: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Indices and scores of the k best masked entries, by score desc then index asc (ties kept stable).

    ids: the document index of each entry (ascending; default the entry's position)."""
    pos = np.flatnonzero(mask)
    if pos.size == 0:
        return pos.astype(np.int64), np.zeros(0, dtype=scores.dtype)
    cand = pos if ids is None else ids[pos]
    cand_scores = scores[pos]
    if cand.size > k:
        # keep everything tied with the k-th best so the index tie-break is exact
        kth = np.partition(cand_scores, cand.size - k)[cand.size - k]
        keep = cand_scores >= kth
        cand, cand_scores = cand[keep], cand_scores[keep]
    order = np.lexsort((cand, -cand_scores.astype(np.float64)))[:k]
    return cand[order].astype(np.int64), cand_scores[order]
