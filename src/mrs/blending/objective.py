"""Vectorised ranking metrics for the blend search: many candidate rankings of one query at once.

Semantics follow ranx (checked against ranx in tests/blending/test_objective.py):
- ``ndcg@k``: DCG = Σ_{i=1..k} gain_i / log2(i + 1) with gain = the judged grade (ranx's ``ndcg``), divided
  by the ideal DCG of ALL the query's judgments (0 when the ideal is 0);
- ``precision@k``, ``recall@k``, ``mrr@k``/``mrr``, ``map@k``: a doc is relevant when grade ≥ 1 (ranx counts
  qrels ≥ 1 as relevant); unjudged docs count as irrelevant.

A ranking is given as a score matrix (n_rankings, n_docs); order = score descending, ties by ``id_order`` (index
order, or product id where the backend gives no doc ids: the order mrs.engine.hybrid.combine returns).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from mrs.errors import InputError

_METRIC = re.compile(r"^(ndcg|precision|recall|mrr|map)(?:@(\d+))?$")


@dataclass(frozen=True)
class Metric:
    """A parsed metric name: kind (ndcg, precision, recall, mrr, map) and cutoff k (None = whole list)."""

    kind: str
    k: int | None

    @property
    def name(self) -> str:
        return self.kind if self.k is None else f"{self.kind}@{self.k}"


def parse_metric(name: str) -> Metric:
    """'ndcg@10' → Metric('ndcg', 10). InputError for anything else (ndcg/precision/recall need @k)."""
    m = _METRIC.match(str(name).strip().lower())
    if not m or (m.group(2) is None and m.group(1) in {"ndcg", "precision", "recall"}):
        raise InputError(f"unknown metric {name!r}; use ndcg@K, precision@K, recall@K, map@K, mrr or mrr@K")
    k = int(m.group(2)) if m.group(2) else None
    if k is not None and k < 1:
        raise InputError(f"metric {name!r}: the cutoff must be ≥ 1")
    return Metric(m.group(1), k)


def ranked_gains(scores: np.ndarray, grades: np.ndarray, id_order: np.ndarray, depth: int) -> np.ndarray:
    """Grades of the top ``depth`` docs of each ranking: (n_rankings, min(depth, n_docs)).

    scores: (n_rankings, n_docs); grades: (n_docs,); id_order: (n_docs,) position of each doc in the tie-break
    order (QueryCandidates.id_order).
    """
    n_rankings, n_docs = scores.shape
    depth = min(depth, n_docs)
    if depth == 0:
        return np.zeros((n_rankings, 0))
    ties = np.broadcast_to(id_order, scores.shape)
    order = np.lexsort((ties, -scores), axis=-1)[:, :depth]
    return grades[order]


def evaluate_rankings(metric: Metric, scores: np.ndarray, grades: np.ndarray, id_order: np.ndarray,
                      judged_grades: np.ndarray) -> np.ndarray:
    """The metric of each ranking (n_rankings,) for one query.

    judged_grades: grades of all judged docs of the query (ideal DCG, number of relevant docs).
    """
    scores = np.atleast_2d(scores)
    depth = metric.k if metric.k is not None else scores.shape[1]
    top = ranked_gains(scores, grades, id_order, depth)
    n = scores.shape[0]
    if metric.kind == "ndcg":
        ideal = np.sort(judged_grades)[::-1][:depth]
        idcg = float(np.sum(ideal / np.log2(np.arange(2, ideal.size + 2))))
        if idcg <= 0 or top.shape[1] == 0:
            return np.zeros(n)
        dcg = top @ (1.0 / np.log2(np.arange(2, top.shape[1] + 2)))
        return dcg / idcg
    relevant = top >= 1
    n_relevant = int(np.sum(judged_grades >= 1))
    if metric.kind == "precision":
        return relevant.sum(axis=1) / float(depth)
    if n_relevant == 0 or top.shape[1] == 0:
        return np.zeros(n)
    if metric.kind == "recall":
        return relevant.sum(axis=1) / n_relevant
    if metric.kind == "mrr":
        first = np.argmax(relevant, axis=1)
        return np.where(relevant.any(axis=1), 1.0 / (first + 1), 0.0)
    # map@k: Σ_{i ≤ k, relevant} precision@i / number of relevant judged docs
    precision_at = np.cumsum(relevant, axis=1) / np.arange(1, top.shape[1] + 1)
    return np.sum(precision_at * relevant, axis=1) / n_relevant
