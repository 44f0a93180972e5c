"""judged@k: how much of what a run shows was ever judged.

Pooled judgments (ESCI pooled 40–78 products per query) leave many retrieved products unjudged, and
every metric here counts an unjudged product as irrelevant. judged@k says how far to trust that: a run
with low judged@10 may be better than its nDCG says.
"""

from __future__ import annotations

from collections.abc import Mapping


def judged_at_k(
    run: Mapping[str, Mapping[str, float]], qrels: Mapping[str, Mapping[str, int]], k: int
) -> tuple[float, dict[str, float]]:
    """Fraction of the top-k positions that hold a judged product (any grade, irrelevant included).

    run: {query id: {product id: score}}; qrels: {query id: {product id: grade}}; k: cutoff (≥ 1).
    The denominator is k, like precision@k: when a run returns fewer than k products, the empty
    positions count as unjudged. Only queries in qrels are scored; a query the run lacks scores 0.
    Returns (mean over the qrels' queries, {query id: fraction}).
    """
    if k < 1:
        raise ValueError(f"k must be ≥ 1, got {k}")
    per_query: dict[str, float] = {}
    for qid, judged in qrels.items():
        docs = run.get(qid) or {}
        top = sorted(docs.items(), key=lambda kv: -kv[1])[:k]
        per_query[qid] = sum(1 for doc, _ in top if doc in judged) / k
    mean = sum(per_query.values()) / len(per_query) if per_query else 0.0
    return mean, per_query
