"""Score separation: how well a run's scores tell the relevance levels apart on judged pairs.

Calibration (mrs.blending) puts thresholds between levels, so it needs scores whose level distributions
overlap little. For each run we take the scores of judged (query, product) pairs and report, per level,
count / mean / std / quantiles, and the AUC between adjacent levels and between the top and bottom level.

AUC(hi > lo) is mrs.measures.auc.auc (P(hi > lo) + ½ P(equal), Mann–Whitney U / (n_hi n_lo)). "pooled" mixes all queries (what one global threshold sees); "per_query" is the mean
of the per-query AUCs over queries that have both levels (what ranking sees).

Which scores: lexical and dense use the backend's raw scores of ALL judged pairs
(SearchBackend.score_documents, retrieved or not; a lexical None — no query term in the product — is
BM25 0.0). Hybrid runs only score what they retrieve, so their separation covers the judged products in
the run's top k; the per-level counts say how many.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from mrs.data.levels import LevelScheme
from mrs.measures.auc import auc

QUANTILES: tuple[float, ...] = (0.1, 0.25, 0.5, 0.75, 0.9)


@dataclass(frozen=True)
class ScoredPair:
    """A judged pair with one run's score. grade: the judgment's level; score: in the run's score space."""

    query_id: str
    product_id: str
    grade: int
    score: float


def level_stats(scores: Sequence[float]) -> dict[str, float | int | None]:
    """{"n", "mean", "std" (population), "min", "p10", "p25", "p50", "p75", "p90", "max"} of one level's scores."""
    arr = np.asarray(scores, dtype=np.float64)
    if arr.size == 0:
        return {"n": 0, "mean": None, "std": None, "min": None, **{f"p{int(q * 100)}": None for q in QUANTILES},
                "max": None}
    out: dict[str, float | int | None] = {"n": int(arr.size), "mean": float(arr.mean()), "std": float(arr.std()),
                                          "min": float(arr.min())}
    for q in QUANTILES:
        out[f"p{int(q * 100)}"] = float(np.quantile(arr, q))
    out["max"] = float(arr.max())
    return out


def level_pairs(scheme: LevelScheme) -> list[tuple[int, int]]:
    """The (hi, lo) grade pairs to compare: adjacent levels from the top down, then top vs bottom
    (ESCI: exact>substitute, substitute>complement, complement>irrelevant, exact>irrelevant)."""
    pairs = [(g, g - 1) for g in range(scheme.top, 0, -1)]
    if scheme.top > 1:
        pairs.append((scheme.top, 0))
    return pairs


def separation(pairs: Iterable[ScoredPair], scheme: LevelScheme) -> dict:
    """Per-level stats and AUCs of one run's judged-pair scores.

    Returns {"n_pairs", "levels": {level name: level_stats}, "auc": {"exact>substitute": {"pooled",
    "per_query", "n_queries"}, ...}} with level names from the scheme, top level first."""
    by_grade: dict[int, list[float]] = defaultdict(list)
    by_query: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    n = 0
    for p in pairs:
        by_grade[p.grade].append(p.score)
        by_query[p.query_id][p.grade].append(p.score)
        n += 1
    levels = {scheme.name_of(g): level_stats(by_grade.get(g, [])) for g in range(scheme.top, -1, -1)}
    aucs = {}
    for hi, lo in level_pairs(scheme):
        per_q = [auc(g[hi], g[lo]) for g in by_query.values() if g.get(hi) and g.get(lo)]
        aucs[f"{scheme.name_of(hi)}>{scheme.name_of(lo)}"] = {
            "pooled": auc(by_grade.get(hi, []), by_grade.get(lo, [])),
            "per_query": float(np.mean(per_q)) if per_q else None,
            "n_queries": len(per_q),
        }
    return {"n_pairs": n, "levels": levels, "auc": aucs}


def pairs_from_run(
    run: Mapping[str, Mapping[str, float]], qrels: Mapping[str, Mapping[str, int]]
) -> list[ScoredPair]:
    """The judged products a run retrieved, with the run's scores (used for hybrid runs and run files)."""
    out = []
    for qid, judged in qrels.items():
        docs = run.get(qid) or {}
        for pid, grade in judged.items():
            if pid in docs:
                out.append(ScoredPair(qid, pid, grade, float(docs[pid])))
    return out
