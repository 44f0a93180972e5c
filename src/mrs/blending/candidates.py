"""Per-query sub-query candidate lists and judged-pair scores, gathered once through the backend protocol.

The blend search re-combines these lists for every grid point in numpy (mrs.blending.grid), so each query is
sent to the backend once per sub-query, never once per grid point.

- ``QueryCandidates``: one query's N sub-query candidate lists (e.g. lexical top-k by raw BM25, dense top-k by
  k-NN score) merged into one union matrix, with the graded judgments of the union and of the whole query.
- ``JudgedPairs``: every judged (query, product) pair with its raw score in each space (dense k-NN score,
  raw BM25; NaN where BM25 matched no term), from ``backend.score_documents``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mrs.data.judgments import JudgmentSet
from mrs.indexer.backend import SUBQUERY_DENSE, SUBQUERY_LEXICAL, Hit, SearchBackend

SubquerySource = Callable[..., Sequence[Hit]]
"""One sub-query: (query text, query vector, k[, filter]) → hits sorted by score descending (raw scores); the
filter (mrs.engine.filters) is passed only for queries that carry one."""


@dataclass
class QueryCandidates:
    """One query's candidates.

    names: sub-query names, in pipeline order (weights follow it). ids: union of the candidate ids (first-seen
    order over the sub-queries). raw: (n_subqueries, n_ids) raw scores, NaN where that sub-query did not return
    the id. rank: (n_subqueries, n_ids) 1-based rank within the sub-query's list, 0 where absent.
    grades: (n_ids,) judged grade of each id (0 for unjudged: counts as irrelevant). judged_grades: grades of
    ALL judged products of the query, retrieved or not (the ideal ranking for nDCG, the recall denominator).
    doc_ids: (n_ids,) each id's position in the index (Lucene doc id), or None when the backend does not say.
    id_order: (n_ids,) each id's place in the hybrid tie-break: index order when doc_ids are known, else
    ascending product id (mrs.engine.hybrid.combine does the same).
    """

    query_id: str
    names: tuple[str, ...]
    ids: list[str]
    raw: np.ndarray
    rank: np.ndarray
    grades: np.ndarray
    judged_grades: np.ndarray
    doc_ids: np.ndarray | None = None
    id_order: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        if self.doc_ids is not None:
            order = np.argsort(np.asarray(self.doc_ids, dtype=np.int64), kind="stable")
        else:
            order = np.argsort(np.asarray(self.ids, dtype=object).astype(str), kind="stable")
        self.id_order = np.empty(len(self.ids), dtype=np.int64)
        self.id_order[order] = np.arange(len(self.ids))

    @classmethod
    def from_lists(cls, query_id: str, lists: Mapping[str, tuple[Sequence[str], Sequence[float]]],
                   qrels: Mapping[str, int], doc_positions: Mapping[str, int] | None = None) -> QueryCandidates:
        """Build from {sub-query name: (ids, raw scores)} (each list sorted best first) and the query's qrels.
        doc_positions: {id: index position} covering every listed id, or None (ties then by product id)."""
        names = tuple(lists)
        ids: list[str] = []
        pos: dict[str, int] = {}
        for name in names:
            for doc_id in lists[name][0]:
                if doc_id not in pos:
                    pos[doc_id] = len(ids)
                    ids.append(doc_id)
        raw = np.full((len(names), len(ids)), np.nan)
        rank = np.zeros((len(names), len(ids)), dtype=np.int64)
        for i, name in enumerate(names):
            doc_ids, scores = lists[name]
            for r, (doc_id, s) in enumerate(zip(doc_ids, scores, strict=True), start=1):
                j = pos[doc_id]
                if rank[i, j] == 0:
                    raw[i, j] = float(s)
                    rank[i, j] = r
        grades = np.array([qrels.get(d, 0) for d in ids], dtype=np.float64)
        doc_ids = None
        if doc_positions is not None and all(doc_positions.get(d) is not None for d in ids):
            doc_ids = np.array([doc_positions[d] for d in ids], dtype=np.int64)
        return cls(query_id, names, ids, raw, rank, grades,
                   np.array(sorted(qrels.values(), reverse=True), dtype=np.float64), doc_ids)


@dataclass
class JudgedPairs:
    """All judged pairs in one place: parallel arrays (n_pairs,).

    dense: k-NN score in the index's space (cosinesimil: (1 + cos) / 2). lexical: raw BM25 of the index's
    multi_match (NaN when no query term matched the product). grades: integer level grades.
    """

    query_ids: np.ndarray
    product_ids: np.ndarray
    grades: np.ndarray
    dense: np.ndarray
    lexical: np.ndarray

    def subset(self, query_ids: Sequence[str]) -> JudgedPairs:
        """The pairs of these queries."""
        return self.where(np.isin(self.query_ids, np.asarray(list(query_ids), dtype=object)))

    def where(self, keep: np.ndarray) -> JudgedPairs:
        """The pairs where the boolean mask ``keep`` (n_pairs,) is True, in order."""
        return JudgedPairs(self.query_ids[keep], self.product_ids[keep], self.grades[keep], self.dense[keep],
                           self.lexical[keep])

    def __len__(self) -> int:
        return int(self.grades.size)


def default_sources(backend: SearchBackend) -> dict[str, SubquerySource]:
    """The two sub-queries of the default hybrid query: lexical (BM25 multi_match) then dense (k-NN)."""
    return {
        SUBQUERY_LEXICAL: lambda text, vector, k, *flt: backend.lexical(text, k, **_filter_kwargs(flt)),
        SUBQUERY_DENSE: lambda text, vector, k, *flt: backend.knn(vector, k=k, **_filter_kwargs(flt)),
    }


def _filter_kwargs(flt: tuple) -> dict:
    return {"filter": flt[0]} if flt and flt[0] is not None else {}


def field_source(engine, field: str) -> SubquerySource:
    """A lexical sub-query on ONE BM25 field of an EmbeddedEngine — on a cluster, a ``match`` clause on that
    field — for blends of more than two clauses (e.g. title BM25 beside the multi-field BM25 and k-NN).

    Scores are the field's BM25 with its index boost applied; every normalization technique (min_max, l2,
    z_score) and RRF is invariant to a positive scale, so the boost does not change the blend. InputError for a
    field the index has no BM25 for.
    """
    from mrs.engine.bm25 import top_k
    from mrs.errors import InputError

    bm25 = engine.bm25
    if field not in bm25.fields:
        raise InputError(f"--field-clause {field!r}: the index has BM25 fields {', '.join(bm25.fields)}")
    scorer = bm25.fields[field]

    def source(text: str, vector: np.ndarray, k: int, filter=None) -> list[Hit]:
        scores, matched = scorer.scores(bm25.analyzer.tokens(text))
        allowed = engine.filter_mask(filter) if filter is not None else None
        rows, top = top_k(scores, matched if allowed is None else matched & allowed, k)
        return [Hit(engine.ids[int(r)], float(x), {field: float(x)}) for r, x in zip(rows, top, strict=True)]

    return source


def sources_with_fields(engine, fields: Sequence[str]) -> dict[str, SubquerySource]:
    """lexical (multi-field BM25), one ``field_source`` per field, then dense: the clause order of the blend."""
    base = default_sources(engine)
    out: dict[str, SubquerySource] = {SUBQUERY_LEXICAL: base[SUBQUERY_LEXICAL]}
    for f in fields:
        out[f] = field_source(engine, f)
    out[SUBQUERY_DENSE] = base[SUBQUERY_DENSE]
    return out


def _doc_positions(backend: SearchBackend, lists: Mapping[str, tuple[Sequence[str], Sequence[float]]]
                   ) -> dict[str, int] | None:
    """{id: index position} from a backend that knows them (the embedded engine's ``doc_positions``); a
    cluster does not expose Lucene doc ids, so there ties fall back to product id order."""
    positions_of = getattr(backend, "doc_positions", None)
    if positions_of is None:
        return None
    ids = list(dict.fromkeys(d for doc_ids, _ in lists.values() for d in doc_ids))
    return {d: p for d, p in zip(ids, positions_of(ids), strict=True) if p is not None}


def collect(backend: SearchBackend, judgments: JudgmentSet, query_vectors: Mapping[str, np.ndarray], k: int,
            sources: Mapping[str, SubquerySource] | None = None,
            on_query: Callable[[str], None] | None = None,
            filters: Mapping[str, Any] | None = None) -> tuple[list[QueryCandidates], JudgedPairs]:
    """Query every judged query once per sub-query and score every judged pair.

    query_vectors: {query id: encoded query vector}. k: candidates per sub-query (the pipeline's
    pagination_depth). sources: {name: SubquerySource} (default: lexical + dense). on_query: progress callback.
    filters: {query id: filter}: those queries' candidates come from filtered sub-queries (the judged pairs are
    scored as before: thresholds do not depend on the filter).
    Returns (candidates per query in judgment order, judged pairs with dense and lexical raw scores).
    """
    sources = dict(sources or default_sources(backend))
    qrels = judgments.qrels()
    texts = judgments.queries()
    candidates: list[QueryCandidates] = []
    q_col: list[str] = []
    p_col: list[str] = []
    g_col: list[int] = []
    d_col: list[float] = []
    l_col: list[float] = []
    for qid, text in texts.items():
        vector = query_vectors[qid]
        lists = {}
        flt = (filters or {}).get(qid)
        for name, source in sources.items():
            hits = list(source(text, vector, k) if flt is None else source(text, vector, k, flt))
            lists[name] = ([h.id for h in hits], [float(h.score) for h in hits])
        candidates.append(QueryCandidates.from_lists(qid, lists, qrels[qid], _doc_positions(backend, lists)))
        judged_ids = list(qrels[qid])
        scored = backend.score_documents(text, vector, judged_ids)
        for pid in judged_ids:
            s = scored.get(pid, {})
            dense = s.get(SUBQUERY_DENSE)
            lexical = s.get(SUBQUERY_LEXICAL)
            q_col.append(qid)
            p_col.append(pid)
            g_col.append(qrels[qid][pid])
            d_col.append(np.nan if dense is None else float(dense))
            l_col.append(np.nan if lexical is None else float(lexical))
        if on_query is not None:
            on_query(qid)
    pairs = JudgedPairs(np.asarray(q_col, dtype=object), np.asarray(p_col, dtype=object),
                        np.asarray(g_col, dtype=np.int64), np.asarray(d_col), np.asarray(l_col))
    return candidates, pairs
