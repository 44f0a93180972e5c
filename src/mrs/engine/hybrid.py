"""Combine hybrid sub-query results exactly as OpenSearch's hybrid query + search pipeline does.

https://opensearch.org/docs/latest/query-dsl/compound/hybrid/ (sub-queries, pagination_depth, at most 5),
https://opensearch.org/docs/latest/search-plugins/search-pipelines/normalization-processor/,
https://opensearch.org/docs/latest/search-plugins/search-pipelines/score-ranker-processor/.

``combine`` is pure: the engine runs each sub-query (BM25 top-k, k-NN top-k), hands their candidates here and
gets the final ranking back. The normalization and combination functions are the technique registry's
(mrs.engine.techniques, OpenSearch semantics); ``fuse`` is the step sequence itself, which Elasticsearch's
retrievers (mrs.engine.retriever_combine) run too with their own functions. Steps, as on a cluster:
1. each sub-query keeps its best ``pagination_depth`` candidates (else ``size``, OpenSearch's from + size);
2. normalization statistics (min, max, mean, σ, L2 norm, ranks) per sub-query over exactly those candidates;
3. combination per document over the union of candidates — a document missing from a sub-query is NaN there
   (arithmetic_mean counts it as 0 with the weight kept; geometric/harmonic skip it; RRF adds nothing);
4. ``min_score`` filters the combined scores; 5. sort by combined score desc, ties in index order (the Lucene
   doc id, ``SubqueryResult.doc_ids``: what BM25 and k-NN ties follow too, and what neural-search's ScoreCombiner
   leaves when its stable sort runs over the doc ids of one shard); keep ``size``. Sub-query results that carry
   no doc ids (lists read back from a cluster) break ties by product id instead.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from mrs.engine import techniques
from mrs.engine.pipeline import MAX_SUBQUERIES, HybridPipeline
from mrs.engine.techniques import FUSION, OPENSEARCH
from mrs.errors import InputError


@dataclass
class SubqueryResult:
    """One sub-query's returned candidates. name: "lexical", "dense", ...; ids: product ids; scores: raw scores
    (BM25, k-NN score), same length; doc_ids: each candidate's position in the index (the Lucene doc id: the
    row of the embedded engine), or None when unknown. Order does not matter: candidates are ranked by score
    desc, ties by doc id (without doc ids: the given order)."""

    name: str
    ids: list[str]
    scores: np.ndarray
    doc_ids: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.ids = list(self.ids)
        self.scores = np.asarray(self.scores, dtype=np.float32).reshape(-1)
        if len(self.ids) != self.scores.size:
            raise InputError(f"sub-query {self.name!r}: {len(self.ids)} ids but {self.scores.size} scores")
        if self.doc_ids is not None:
            self.doc_ids = np.asarray(self.doc_ids, dtype=np.int64).reshape(-1)
            if self.doc_ids.size != len(self.ids):
                raise InputError(f"sub-query {self.name!r}: {len(self.ids)} ids but {self.doc_ids.size} doc ids")
        if len(set(self.ids)) != len(self.ids):
            raise InputError(f"sub-query {self.name!r} returned a document twice")
        if self.scores.size and not np.all(np.isfinite(self.scores)):
            raise InputError(f"sub-query {self.name!r} has a non-finite score")


@dataclass
class CombinedHit:
    """One hybrid result. score: combined score; raw / normalized: per sub-query name, None where the document
    was not among that sub-query's candidates (like hybrid_score_explanation)."""

    id: str
    score: float
    raw: dict[str, float | None] = field(default_factory=dict)
    normalized: dict[str, float | None] = field(default_factory=dict)


def ranked(sub: SubqueryResult, depth: int) -> SubqueryResult:
    """The sub-query's best ``depth`` candidates, best first: score desc, ties by doc id (without doc ids: the
    given order)."""
    if sub.doc_ids is None:
        order = np.argsort(-sub.scores.astype(np.float64), kind="stable")[:depth]
        return SubqueryResult(sub.name, [sub.ids[i] for i in order], sub.scores[order])
    order = np.lexsort((sub.doc_ids, -sub.scores.astype(np.float64)))[:depth]
    return SubqueryResult(sub.name, [sub.ids[i] for i in order], sub.scores[order], sub.doc_ids[order])


def fuse(subresults: Sequence[SubqueryResult], normalizers: Sequence[Callable[[np.ndarray], np.ndarray]],
         kernel: Callable, weights: Sequence[float], size: int, depth: int,
         min_score: float | None = None) -> list[CombinedHit]:
    """The normalize-then-combine core both targets share (module doc, steps 1–5).

    subresults: the sub-queries' candidates; normalizers: one per sub-query, ranked raw scores → normalized
    (a technique's ``normalize`` with its parameters bound); kernel: a technique's ``combine``
    (matrix with NaN for missing, (1, n_sub) weights) → (1, n_docs); weights: one per sub-query; depth:
    candidates kept per sub-query; min_score: drop combined scores below it. Returns CombinedHit list, best
    first, at most ``size``.
    """
    names = [s.name for s in subresults]
    top = [ranked(s, depth) for s in subresults]
    doc_index: dict[str, int] = {}
    lucene_doc: dict[str, int] = {}
    for sub in top:
        for pos, doc_id in enumerate(sub.ids):
            doc_index.setdefault(doc_id, len(doc_index))
            if sub.doc_ids is not None:
                lucene_doc.setdefault(doc_id, int(sub.doc_ids[pos]))
    n_docs = len(doc_index)
    if n_docs == 0:
        return []
    raw = np.full((n_docs, len(top)), np.nan, dtype=np.float32)
    norm = np.full((n_docs, len(top)), np.nan, dtype=np.float32)
    for j, (sub, normalize) in enumerate(zip(top, normalizers, strict=True)):
        if not sub.ids:
            continue
        rows = np.fromiter((doc_index[d] for d in sub.ids), dtype=np.int64, count=len(sub.ids))
        raw[rows, j] = sub.scores
        norm[rows, j] = normalize(sub.scores)
    combined = kernel(norm, np.asarray([weights], dtype=np.float32))[0]
    ids_all = list(doc_index)
    keep = np.ones(n_docs, dtype=bool) if min_score is None else combined >= np.float32(min_score)
    cand = np.flatnonzero(keep)
    scores = combined.tolist()  # Python floats of the float32 values: the sort and the hits use these
    if len(lucene_doc) == n_docs:  # score desc, then index order
        tie = [lucene_doc[d] for d in ids_all]
        order = sorted(cand.tolist(), key=lambda i: (-scores[i], tie[i]))[: int(size)]
    else:  # no doc ids: score desc, then product id
        order = sorted(cand.tolist(), key=lambda i: (-scores[i], ids_all[i]))[: int(size)]
    raw_rows, norm_rows = raw[order].tolist(), norm[order].tolist()
    return [
        CombinedHit(
            id=ids_all[i],
            score=scores[i],
            raw={name: (None if r != r else r) for name, r in zip(names, raw_row, strict=True)},  # NaN: absent
            normalized={name: (None if x != x else x) for name, x in zip(names, norm_row, strict=True)},
        )
        for i, raw_row, norm_row in zip(order, raw_rows, norm_rows, strict=True)
    ]


def pipeline_normalizers(pipeline: HybridPipeline, n_subqueries: int) -> list[Callable[[np.ndarray], np.ndarray]]:
    """One OpenSearch normalizer per sub-query for ``pipeline``, from the technique registry: min_max with
    that sub-query's bounds, l2, z_score, or rrf's rank scores (rank_constant)."""
    technique = techniques.technique(pipeline.normalization)
    normalize = techniques.normalizer(pipeline.normalization, OPENSEARCH)
    if technique.kind == FUSION:
        return [lambda s: normalize(s.size, pipeline.rank_constant)] * n_subqueries
    if technique.name == "min_max":
        def bounded(j: int):
            lower = pipeline.lower_bounds[j] if pipeline.lower_bounds is not None else None
            upper = pipeline.upper_bounds[j] if pipeline.upper_bounds is not None else None
            return lambda s: normalize(s, lower, upper)
        return [bounded(j) for j in range(n_subqueries)]
    return [normalize] * n_subqueries


def check_positive_int(value, name: str) -> int:
    """``value`` as int when it is a positive integer (not a bool), else InputError naming ``name``."""
    if isinstance(value, bool) or int(value) != value or value < 1:
        raise InputError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def combine(
    subresults: Sequence[SubqueryResult],
    pipeline: HybridPipeline,
    size: int,
    pagination_depth: int | None = None,
    min_score: float | None = None,
) -> list[CombinedHit]:
    """Normalize and combine sub-query candidates into the final hybrid ranking (module doc for the steps).

    subresults: 1..5 SubqueryResult, in the hybrid query's sub-query order (weights and bounds follow it).
    size: number of hits to return (≥ 1). pagination_depth: candidates kept per sub-query (≥ 1; default size).
    min_score: drop hits whose combined score is below it. Returns CombinedHit list, best first.
    """
    n_sub = len(subresults)
    if not 1 <= n_sub <= MAX_SUBQUERIES:
        raise InputError(f"a hybrid query takes 1 to {MAX_SUBQUERIES} sub-queries, got {n_sub}")
    names = [s.name for s in subresults]
    if len(set(names)) != n_sub:
        raise InputError(f"sub-query names must be unique, got {names}")
    check_positive_int(size, "size")
    if pagination_depth is not None:
        check_positive_int(pagination_depth, "pagination_depth")
    if min_score is not None and not math.isfinite(min_score):
        raise InputError(f"min_score must be finite, got {min_score!r}")
    pipeline.validate(n_sub)
    depth = int(pagination_depth) if pagination_depth is not None else int(size)
    weights = list(pipeline.weights) if pipeline.weights is not None else [1.0] * n_sub
    return fuse(subresults, pipeline_normalizers(pipeline, n_sub), techniques.combiner(pipeline.combination),
                weights, size, depth, min_score)
