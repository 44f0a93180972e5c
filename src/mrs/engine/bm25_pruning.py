"""Exact top-k BM25 with block-max pruning: skip document blocks whose score bound cannot reach the k-th best.

The documents are cut into fixed blocks of 2**shift consecutive indices. For every (term, block) pair that
has postings, ``BlockMax`` keeps the maximum precomputed term score in that block and where the block's
postings start. A query then:

1. bounds every block: per field, the sum over the query tokens (duplicates counted, as scoring does) of
   their block maxima; across fields, best_fields' (1 − tie_breaker) · max_f U_f + tie_breaker · Σ_f U_f
   (the score is non-decreasing in every field score, so this bounds it); the bound is widened by a relative
   1e-5 so the float32/float64 rounding of the real scores can never cross it;
2. scores the blocks exactly in descending bound order, a growing batch at a time, gathering only the
   postings inside those blocks (each field's tokens in query-token order, so every document's score is
   summed in the same order and comes out bit-identical to exhaustive scoring);
3. stops when the next block's bound is strictly below the k-th best score: every document left scores at
   most its block's bound, so it cannot enter the top k, not even by a tie (ties go to the lower index,
   and a tie needs an equal score).

This is block-max pruning over doc-id ranges (Mallia, Suel & Tonellotto, "Faster Learned Sparse Retrieval
with Block-Max Pruning", SIGIR 2024) rather than block-max WAND's per-posting cursors (Ding & Suel, SIGIR
2011): ranges vectorize in numpy and need no cursor loop in Python. The result equals exhaustive scoring
(mrs.engine.bm25.MultiFieldBM25.score_matched + top_k), order and ties included.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from mrs.engine.topk import top_k

DEFAULT_BLOCK_SHIFT = 10  # 1,024 documents per block
BOUND_SLACK = 1e-5  # relative widening of every block bound (float32 ulp ≈ 1.2e-7)
FIRST_BATCH = 4  # blocks scored in the first round; each round doubles it, up to MAX_BATCH
MAX_BATCH = 64

Postings = tuple[np.ndarray, np.ndarray]  # (doc rows, per-(doc, term) scores float64)
BestFields = Callable[[list[Postings]], tuple[np.ndarray, np.ndarray]]


class BlockMax:
    """One field's block table, built from its CSC postings (indptr per term; indices = doc rows ascending
    within a term; data = float32 term scores).

    entry e (one per (term, block) with postings): ``block[e]`` (int32), ``start[e]``/``end[e]`` (posting
    offsets, int64), ``max_score[e]`` (float32); term t's entries are ``term_ptr[t]:term_ptr[t + 1]``, in
    ascending block order."""

    def __init__(self, indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, shift: int = DEFAULT_BLOCK_SHIFT):
        self.shift = int(shift)
        n_postings = int(indptr[-1]) if len(indptr) else 0
        blocks = (np.asarray(indices, dtype=np.int64) >> self.shift).astype(np.int32)
        change = np.zeros(n_postings, dtype=bool)
        if n_postings:
            change[0] = True
            change[1:] = blocks[1:] != blocks[:-1]
            term_starts = np.asarray(indptr[:-1], dtype=np.int64)
            change[term_starts[term_starts < n_postings]] = True  # a new term starts a new entry
        self.start = np.flatnonzero(change).astype(np.int64)
        self.end = np.append(self.start[1:], n_postings).astype(np.int64)
        self.block = blocks[self.start]
        self.max_score = (np.maximum.reduceat(np.asarray(data, dtype=np.float32), self.start)
                          if n_postings else np.zeros(0, dtype=np.float32))
        self.term_ptr = np.searchsorted(self.start, np.asarray(indptr, dtype=np.int64), side="left")

    def entries(self, term: int) -> slice:
        return slice(int(self.term_ptr[term]), int(self.term_ptr[term + 1]))


def _ranges(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Concatenation of arange(s, e) for each (s, e), int64, in the given order."""
    lengths = ends - starts
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.cumsum(lengths) - lengths
    return np.arange(total, dtype=np.int64) + np.repeat(starts - offsets, lengths)


class _FieldQuery:
    """One field's query tokens against its block table: the per-block bound and the postings of a set of
    blocks. terms: the field's term ids of the query tokens in query-token order (duplicates kept)."""

    def __init__(self, table: BlockMax, indices: np.ndarray, data: np.ndarray, terms: Sequence[int], n_blocks: int):
        self.table, self.indices, self.data = table, indices, data
        self.bound = np.zeros(n_blocks, dtype=np.float64)
        self.entry_of_block: list[np.ndarray] = []
        for t in terms:
            span = table.entries(t)
            blocks = table.block[span]
            self.bound[blocks] += table.max_score[span]  # a term has at most one entry per block
            lookup = np.full(n_blocks, -1, dtype=np.int64)
            lookup[blocks] = np.arange(span.start, span.stop, dtype=np.int64)
            self.entry_of_block.append(lookup)

    def postings(self, blocks: np.ndarray) -> Postings:
        """The postings inside ``blocks``, token after token in query order (doc rows, float64 scores)."""
        parts = []
        for lookup in self.entry_of_block:
            e = lookup[blocks]
            e = e[e >= 0]
            if e.size:
                parts.append(_ranges(self.table.start[e], self.table.end[e]))
        if not parts:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
        pos = np.concatenate(parts) if len(parts) > 1 else parts[0]
        return self.indices[pos], self.data[pos].astype(np.float64)


def block_bounds(field_queries: Sequence[_FieldQuery], tie_breaker: float) -> np.ndarray:
    """Upper bound of every block's best_fields score (float64 per block, widened by BOUND_SLACK)."""
    stacked = np.vstack([fq.bound for fq in field_queries])
    bound = stacked.max(axis=0)
    if tie_breaker > 0 and len(field_queries) > 1:
        bound = (1.0 - tie_breaker) * bound + tie_breaker * stacked.sum(axis=0)
    return bound * (1.0 + BOUND_SLACK)


def pruned_top_k(
    tables: Sequence[BlockMax],
    fields: Sequence,
    terms: Sequence[Sequence[int]],
    k: int,
    n_docs: int,
    tie_breaker: float,
    best_fields: BestFields,
    allowed: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k (doc indices int64, scores float32; score desc then index asc) of a multi-field query.

    tables[i], fields[i] (a FieldBM25: indices, data), terms[i] (the query's term ids in that field) per
    field; best_fields: scores a list of per-field postings → (doc indices, float32 scores), the same
    function exhaustive scoring uses; allowed: a filter bitset (bool per document) or None."""
    shift = tables[0].shift
    n_blocks = max(1, (n_docs + (1 << shift) - 1) >> shift)
    queries = [_FieldQuery(t, f.indices, f.data, ts, n_blocks) for t, f, ts in zip(tables, fields, terms, strict=True)]
    bound = block_bounds(queries, tie_breaker)
    live = np.flatnonzero(bound > 0)
    order = live[np.argsort(-bound[live], kind="stable")]
    best_rows = np.zeros(0, dtype=np.int64)
    best_scores = np.zeros(0, dtype=np.float32)
    pos, batch = 0, FIRST_BATCH
    while pos < order.size:
        if best_rows.size == k and bound[order[pos]] < float(best_scores[-1]):
            break  # nothing left can reach the k-th best score
        blocks = order[pos: pos + batch]
        pos += blocks.size
        batch = min(2 * batch, MAX_BATCH)
        rows, scores = best_fields([fq.postings(blocks) for fq in queries])
        if allowed is not None:
            keep = allowed[rows]
            rows, scores = rows[keep], scores[keep]
        rows = np.concatenate([best_rows, rows])
        scores = np.concatenate([best_scores, scores])
        best_rows, best_scores = top_k(scores, np.ones(rows.size, dtype=bool), k, ids=rows)
    return best_rows, best_scores
