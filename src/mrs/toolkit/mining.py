"""Hard-sample mining for Mine & Refine Stage 2: ANN search over the Stage-1 space, kept where the space is
least sure (the score band around each query's level boundaries), labeled by the judge.

For every TRAINING query (the dev queries of the same seeded query split as Stage 1 are never mined):

1. search the catalog with faiss (inner product on unit vectors = cosine; exact IndexFlatIP, or HNSW when the
   catalog has more than ``hnsw_threshold`` products) for the top ``k`` products;
2. estimate the query's boundary between every adjacent pair of levels from its judged products: the
   midpoint of the median cosine of the products at grade >= b and of those at grade < b;
3. keep the unjudged top-k products whose cosine lies within ``band`` of some boundary (a query with no
   boundary estimate keeps all its unjudged top-k products), closest to a boundary first, at most
   ``per_query``; optionally also the judged products lying on the wrong side of a boundary of their level
   (``include_judged``), for re-annotation;
4. label them with the judge (source "mined" for new pairs, "audited" for re-judged judged pairs). Without
   a judge, mined products are written as hard negatives (grade 0, confidence 0, source "mined_negative"):
   the usual assumption about unjudged top-k products, which the judge exists to avoid.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from mrs.ann import build_hnsw
from mrs.data.judgments import Judgment, JudgmentSet
from mrs.data.splits import train_dev_split
from mrs.errors import InputError
from mrs.toolkit.judge_protocol import Judge

SOURCE_MINED = "mined"
SOURCE_REJUDGED = "audited"
SOURCE_NEGATIVE = "mined_negative"


@dataclass(frozen=True)
class MiningConfig:
    """k: ANN depth per query. band: half-width of the cosine band around each boundary (None = keep every
    unjudged top-k product). per_query: most mined pairs per query (0 = no cap). include_judged: also return
    judged products on the wrong side of a boundary for re-judging. dev_fraction / seed: the Stage-1 query
    split (dev queries are excluded). hnsw_threshold: catalogs larger than this use faiss HNSW (M = 32,
    efSearch = max(2k, 64)) instead of exact search. batch_size: encoding batch size."""

    k: int = 50
    band: float | None = 0.05
    per_query: int = 20
    include_judged: bool = False
    dev_fraction: float = 0.2
    seed: int = 0
    hnsw_threshold: int = 200_000
    batch_size: int = 64


@dataclass
class Candidate:
    """One mined (query, product) pair before labeling. cosine: Stage-1 cosine; rank: 1-based ANN rank;
    distance: |cosine − nearest boundary| (None when the query has no boundary); judged_grade: the human grade
    for a re-judge candidate, else None."""

    query_id: str
    query: str
    product_id: str
    cosine: float
    rank: int
    distance: float | None
    judged_grade: int | None = None


@dataclass
class MiningResult:
    """Labeled pairs plus what was done: candidates, per-source counts, the train/dev split used."""

    judgments: JudgmentSet
    candidates: list[Candidate]
    train_queries: list[str]
    dev_queries: list[str]
    stats: dict = field(default_factory=dict)


def level_boundaries(cosines: Sequence[float], grades: Sequence[int], num_levels: int) -> dict[int, float]:
    """{b: boundary cosine} for each b in 1..num_levels−1 with judged products on both sides:
    (median cos of grade >= b + median cos of grade < b) / 2."""
    out = {}
    for b in range(1, num_levels):
        above = [c for c, g in zip(cosines, grades, strict=True) if g >= b]
        below = [c for c, g in zip(cosines, grades, strict=True) if g < b]
        if above and below:
            out[b] = (statistics.median(above) + statistics.median(below)) / 2
    return out


def build_ann_index(vectors: np.ndarray, hnsw_threshold: int, ef_search: int = 64):
    """A faiss inner-product index over unit vectors: IndexFlatIP (exact) up to hnsw_threshold rows, else
    mrs.ann.build_hnsw with m 32, ef_construction 80 and this ef_search."""
    import faiss

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if len(vectors) > hnsw_threshold:
        return build_hnsw(vectors, metric="inner_product", m=32, ef_construction=80, ef_search=ef_search)
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    return index


def select_candidates(
    query_id: str,
    query: str,
    hits: Sequence[tuple[str, float]],
    judged: Mapping[str, tuple[int, float]],
    num_levels: int,
    config: MiningConfig,
) -> list[Candidate]:
    """Pick one query's hard samples.

    hits: ANN results (product id, cosine) best first. judged: product id → (human grade, cosine) for the
    query's judged products. Returns the unjudged in-band hits (closest to a boundary first, capped at
    per_query) and, with include_judged, the judged products on the wrong side of a boundary."""
    bounds = level_boundaries([c for _, c in judged.values()], [g for g, _ in judged.values()], num_levels)
    picked: list[Candidate] = []
    for rank, (pid, cos) in enumerate(hits, start=1):
        if pid in judged:
            continue
        if bounds:
            distance = min(abs(cos - t) for t in bounds.values())
            if config.band is not None and distance > config.band:
                continue
        else:
            distance = None
        picked.append(Candidate(query_id, query, pid, float(cos), rank, distance))
    picked.sort(key=lambda c: (c.distance if c.distance is not None else 0.0, c.rank))
    if config.per_query:
        picked = picked[: config.per_query]
    if config.include_judged and bounds:
        rank_of = {pid: r for r, (pid, _) in enumerate(hits, start=1)}
        for pid, (grade, cos) in judged.items():
            wrong = [abs(cos - t) for b, t in bounds.items() if (grade >= b and cos < t) or (grade < b and cos > t)]
            if wrong:
                picked.append(Candidate(query_id, query, pid, float(cos), rank_of.get(pid, 0), min(wrong), grade))
    return picked


def mine(
    encode: Callable[[Sequence[str]], np.ndarray],
    product_texts: Mapping[str, str],
    judgments: JudgmentSet,
    config: MiningConfig | None = None,
    judge: Judge | None = None,
    on_query: Callable[[int, int], None] | None = None,
    judge_texts: Mapping[str, str] | None = None,
) -> MiningResult:
    """Mine and label hard samples for the training queries.

    encode: texts → unit-normalised float32 vectors [n, dim] (the Stage-1 model; see mrs.toolkit.dev_eval.encode,
    which sorts by length inside). product_texts: product id → the shared product text (ProductTextTemplate).
    judgments: all judgments (train and dev; the split is recomputed here). judge: labels the candidates
    (its scheme must equal the judgments'); None → hard-negative labels (see module doc).
    on_query(done, total) after each query. judge_texts: product id → the text the judge was trained on
    (when its template differs from the model's; default product_texts). Returns MiningResult; its judgments hold only mined and
    re-judged pairs (merge them with the human judgments for training).
    """
    config = config or MiningConfig()
    scheme = judgments.scheme
    if judge is not None and judge.scheme.name != scheme.name:
        raise InputError(f"the judge labels in scheme {judge.scheme.name!r} but the judgments use {scheme.name!r}")
    if config.k < 1:
        raise InputError(f"--k must be at least 1, not {config.k}")
    train_ids, dev_ids = train_dev_split(judgments, config.dev_fraction, config.seed)
    ids = list(product_texts)
    if not ids:
        raise InputError("the catalog is empty")
    col = {pid: i for i, pid in enumerate(ids)}
    product_vecs = np.asarray(encode([product_texts[p] for p in ids]), dtype=np.float32)
    queries = judgments.queries()
    by_query = judgments.by_query()
    query_vecs = np.asarray(encode([queries[q] for q in train_ids]), dtype=np.float32) if train_ids else None
    k = min(config.k, len(ids))
    candidates: list[Candidate] = []
    if train_ids:
        index = build_ann_index(product_vecs, config.hnsw_threshold, ef_search=max(2 * k, 64))
        scores, rows = index.search(np.ascontiguousarray(query_vecs), k)
        for n, qid in enumerate(train_ids):
            hits = [(ids[r], float(s)) for r, s in zip(rows[n], scores[n], strict=True) if r >= 0]
            judged = {j.product_id: (j.grade, float(product_vecs[col[j.product_id]] @ query_vecs[n]))
                      for j in by_query[qid] if j.product_id in col}
            candidates.extend(select_candidates(qid, queries[qid], hits, judged, len(scheme.levels), config))
            if on_query is not None:
                on_query(n + 1, len(train_ids))

    out = JudgmentSet(scheme)
    if judge is not None and candidates:
        texts_for_judge = judge_texts if judge_texts is not None else product_texts
        labels = judge.label([(c.query, texts_for_judge[c.product_id]) for c in candidates])
        for c, lab in zip(candidates, labels, strict=True):
            source = SOURCE_REJUDGED if c.judged_grade is not None else SOURCE_MINED
            out.add(Judgment(c.query_id, c.query, c.product_id, lab.grade, source=source, confidence=lab.confidence))
    else:
        for c in candidates:
            if c.judged_grade is None:
                out.add(Judgment(c.query_id, c.query, c.product_id, 0, source=SOURCE_NEGATIVE, confidence=0.0))
    sources: dict[str, int] = {}
    for j in out:
        sources[j.source] = sources.get(j.source, 0) + 1
    stats = {
        "train_queries": len(train_ids),
        "dev_queries_excluded": len(dev_ids),
        "catalog_products": len(ids),
        "index": "hnsw" if len(ids) > config.hnsw_threshold else "flat_ip",
        "candidates": len(candidates),
        "rejudge_candidates": sum(c.judged_grade is not None for c in candidates),
        "sources": sources,
        "levels": out.level_counts(),
        "rejudged_changed": _changed(candidates, out) if judge is not None else 0,
        "config": asdict(config),
    }
    return MiningResult(out, candidates, train_ids, dev_ids, stats)


def _changed(candidates: Sequence[Candidate], labeled: JudgmentSet) -> int:
    """How many re-judged judged pairs got a grade different from their human grade."""
    n = 0
    for c, j in zip(candidates, labeled, strict=True):
        n += c.judged_grade is not None and c.judged_grade != j.grade
    return n


def merge_mined(judgments: JudgmentSet, mined: JudgmentSet, min_confidence: float = 0.0) -> tuple[JudgmentSet, dict]:
    """Human judgments + mined pairs for Stage-2 training.

    A mined row for a (query id, product id) that is already judged replaces the judged row only when its
    source is "audited" (a re-judged pair); other duplicates are ignored. Mined rows with confidence below
    min_confidence are left out. Returns (merged set, counts {"added", "replaced", "low_confidence",
    "duplicates"})."""
    if mined.scheme.name != judgments.scheme.name:
        raise InputError(f"mined pairs use scheme {mined.scheme.name!r}, judgments {judgments.scheme.name!r}")
    counts = {"added": 0, "replaced": 0, "low_confidence": 0, "duplicates": 0}
    replace: dict[tuple[str, str], Judgment] = {}
    extra: list[Judgment] = []
    judged = {(j.query_id, j.product_id) for j in judgments}
    seen: set[tuple[str, str]] = set()
    for m in mined:
        key = (m.query_id, m.product_id)
        if m.source != SOURCE_NEGATIVE and m.confidence < min_confidence:
            counts["low_confidence"] += 1
            continue
        if key in seen:
            counts["duplicates"] += 1
            continue
        seen.add(key)
        if key in judged:
            if m.source == SOURCE_REJUDGED:
                replace[key] = m
                counts["replaced"] += 1
            else:
                counts["duplicates"] += 1
            continue
        extra.append(m)
        counts["added"] += 1
    rows = [replace.get((j.query_id, j.product_id), j) for j in judgments] + extra
    return JudgmentSet(judgments.scheme, rows), counts
