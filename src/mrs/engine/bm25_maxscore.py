"""Exact top-k BM25 with MaxScore: documents that match only low-scoring query terms are never scored.

Every query token (per field, duplicates counted) has an upper bound: its term's largest precomputed score
(``term_max_scores``). A document's best_fields score is at most the sum of the bounds of the tokens it
matches (best_fields' (1 − tie_breaker) · max_f + tie_breaker · Σ_f never exceeds Σ_f for scores ≥ 0). So
(Turtle & Flood, "Query evaluation: strategies and optimizations", IP&M 1995, MaxScore):

1. seed: score, exactly, an evenly spread sample of at most 4,096 documents of the highest-bound tokens
   (all of them, or more tokens, until at least k pass the filter); their k-th best score θ₀ is a lower
   bound of the final k-th best score θ (they are real documents);
2. split: the lowest-bound tokens whose bounds (widened by a relative 1e-5 against float rounding) sum to
   strictly less than θ₀ are non-essential: a document matching only those scores < θ₀ ≤ θ and cannot enter
   the top k, not even by a tie (a tie needs an equal score);
3. score the documents in the essential tokens' postings, looking tokens up in descending bound order and
   dropping, after each, the candidates whose score so far plus the bounds still to come is below θ₀; take
   the top k of the rest.

Candidates are scored term at a time over the candidates only: a binary search of the candidates in each
term's (ascending) postings finds their term scores; the kept candidates' scores are summed in float64 in
query-token order, the order exhaustive scoring uses, so they come out bit-identical
(mrs.engine.bm25.MultiFieldBM25.score_matched + top_k), ties and order included. When the essential
postings are most of the query's postings, pruning cannot pay and the query is scored exhaustively.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from mrs.engine.topk import top_k

BOUND_SLACK = 1e-5  # relative widening of the bounds (float32 ulp ≈ 1.2e-7)
DENSE_SHARE = 0.5  # essential postings above this share of all postings → exhaustive scoring
SEED_DOCS = 4_096  # documents sampled to seed θ₀

Combine = Callable[[np.ndarray], np.ndarray]  # per-field float32 scores (n_fields, n) → best_fields float32 (n,)


def term_max_scores(indptr: np.ndarray, data: np.ndarray) -> np.ndarray:
    """Largest precomputed score of each term's postings (float32 per term; 0.0 for a term with none)."""
    indptr = np.asarray(indptr, dtype=np.int64)
    out = np.zeros(len(indptr) - 1, dtype=np.float32)
    nonempty = np.flatnonzero(np.diff(indptr) > 0)
    if nonempty.size:
        out[nonempty] = np.maximum.reduceat(np.asarray(data, dtype=np.float32), indptr[nonempty])[: nonempty.size]
    return out


class _Token:
    """One query token in one field: its postings span and score bound."""

    __slots__ = ("field", "lo", "hi", "bound")

    def __init__(self, field: int, lo: int, hi: int, bound: float):
        self.field, self.lo, self.hi, self.bound = field, lo, hi, bound


def _union(fields: Sequence, tokens: Sequence[_Token]) -> np.ndarray:
    """Distinct documents (ascending int64) of the tokens' postings."""
    parts = [fields[t.field].indices[t.lo: t.hi] for t in tokens]
    if len(parts) == 1:
        return parts[0].astype(np.int64)  # one term's postings are already distinct and ascending
    if not parts:
        return np.zeros(0, dtype=np.int64)
    rows = np.sort(np.concatenate(parts).astype(np.int64))
    return rows[np.append(True, rows[1:] != rows[:-1])]


def _contributions(field, token: _Token, cand: np.ndarray, zeros: np.ndarray) -> np.ndarray:
    """The token's term score of each (ascending) candidate, float32, 0.0 where the term is absent.

    zeros: an all-zero float32 scratch array of n_docs entries, left all-zero. Long candidate lists scatter
    the term's postings into it and gather (sequential, O(postings)); short ones binary-search the postings
    (O(candidates · log postings)), whichever costs less."""
    rows = field.indices[token.lo: token.hi]
    data = field.data[token.lo: token.hi]
    if rows.size == 0 or cand.size == 0:
        return np.zeros(cand.size, dtype=np.float32)
    if rows.size == cand.size and np.array_equal(rows, cand):
        return data.astype(np.float32, copy=True)  # the candidates are this term's documents
    if 2 * rows.size < cand.size * np.log2(rows.size + 1):
        zeros[rows] = data
        out = zeros[cand]
        zeros[rows] = 0.0
        return out
    out = np.zeros(cand.size, dtype=np.float32)
    pos = np.minimum(np.searchsorted(rows, cand), rows.size - 1)
    hit = rows[pos] == cand
    out[hit] = data[pos[hit]]
    return out


def score_candidates(fields: Sequence, tokens_by_field: Sequence[Sequence[_Token]], cand: np.ndarray,
                     combine: Combine, zeros: np.ndarray, theta: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(candidates kept, their best_fields float32 scores) for ascending candidate documents.

    Tokens are looked up in descending bound order; with ``theta``, after each lookup the candidates whose
    score so far plus the bounds of the tokens still to look up (widened by BOUND_SLACK) fall below theta
    are dropped (MaxScore's candidate pruning). The kept candidates' scores are then summed per field in
    query-token order in float64, as exhaustive scoring sums them, so they are bit-identical to it.
    zeros: see _contributions."""
    tokens = sorted((t for ts in tokens_by_field for t in ts), key=lambda t: -t.bound)
    remaining = sum(t.bound for t in tokens)
    contrib = {id(t): np.zeros(cand.size, dtype=np.float32) for t in tokens}
    alive = np.arange(cand.size)
    partial = np.zeros(cand.size, dtype=np.float64)
    for t in tokens:
        values = _contributions(fields[t.field], t, cand[alive], zeros)
        contrib[id(t)][alive] = values
        partial[alive] += values
        remaining -= t.bound
        if theta is not None:
            alive = alive[(partial[alive] + max(remaining, 0.0)) * (1.0 + BOUND_SLACK) >= theta]
    per_field = np.zeros((len(fields), alive.size), dtype=np.float32)
    for i, field_tokens in enumerate(tokens_by_field):
        acc = np.zeros(alive.size, dtype=np.float64)
        for t in field_tokens:
            acc += contrib[id(t)][alive].astype(np.float64)
        per_field[i] = acc.astype(np.float32)
    return cand[alive], combine(per_field)


def maxscore_top_k(fields: Sequence, terms: Sequence[Sequence[int]], max_scores: Sequence[np.ndarray], k: int,
                   combine: Combine, zeros: np.ndarray,
                   allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray] | None:
    """Exact top-k (doc indices int64, scores float32; score desc then index asc), or None when pruning
    cannot pay (the caller then scores exhaustively).

    fields[i]: a FieldBM25 (indptr, indices, data); terms[i]: the query's term ids in field i, in query-token
    order, duplicates kept; max_scores[i]: term_max_scores of field i; combine: per-field scores →
    best_fields scores (the caller's own combination); zeros: an all-zero float32 array of n_docs entries
    (per thread; left all-zero); allowed: a filter bitset or None."""
    by_field = [[_Token(i, int(f.indptr[t]), int(f.indptr[t + 1]), float(max_scores[i][t])) for t in ts]
                for i, (f, ts) in enumerate(zip(fields, terms, strict=True))]
    tokens = sorted((t for ts in by_field for t in ts), key=lambda t: -t.bound)
    total = sum(t.hi - t.lo for t in tokens)

    def exact(cand: np.ndarray, theta: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        if allowed is not None:
            cand = cand[allowed[cand]]
        return score_candidates(fields, by_field, cand, combine, zeros, theta)

    theta, used = None, 0
    while theta is None and used < len(tokens):  # 1. seed θ₀ from the highest-bound tokens' documents
        used = max(1, 2 * used)
        pool = _union(fields, tokens[:used])
        sample = pool[:: -(-pool.size // SEED_DOCS)] if pool.size > SEED_DOCS else None
        for subset in (sample, pool):  # a spread sample first: any real documents bound θ from below
            if subset is None:
                continue
            cand, scores = exact(subset)
            if cand.size >= k:
                theta = float(np.partition(scores, cand.size - k)[cand.size - k])
                break
    if theta is None:  # every token's documents were scored: that was the exhaustive answer
        return top_k(scores, np.ones(cand.size, dtype=bool), k, ids=cand)
    bounds = np.cumsum([t.bound for t in reversed(tokens)]) * (1.0 + BOUND_SLACK)  # 2. ascending bounds
    n_non_essential = int(np.searchsorted(bounds, theta, side="left"))  # sums strictly below θ₀
    essential = tokens[: len(tokens) - n_non_essential]
    if sum(t.hi - t.lo for t in essential) > DENSE_SHARE * total:
        return None
    cand, scores = exact(_union(fields, essential), theta)  # 3.
    return top_k(scores, np.ones(cand.size, dtype=bool), k, ids=cand)
