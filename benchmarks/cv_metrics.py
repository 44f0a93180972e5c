"""Held-out metrics of one model on one cross-validation fold (used by benchmarks/cv.py).

Input: the candidates and judged-pair scores of every judged query through one index
(mrs.blending.run.collect_for_calibration: lexical top-k by BM25, dense top-k by k-NN score, each judged pair's
dense k-NN score and raw BM25), the fold's training and held-out query ids.

``fold_metrics`` calibrates on the training queries only (mrs.blending.run.run_calibration, dev fraction 0:
thresholds, blend search) and scores the held-out queries:

- per-query nDCG@10 (grades as gains; ranx) of lexical, dense, hybrid with the default blend (min_max +
  arithmetic_mean, lexical 0.7 / dense 0.3) and hybrid with the blend calibrated on the training queries;
  the runs are the pipeline's own combination of the top-k candidate lists (pagination_depth k);
- recall@100 of top-level products for dense;
- pooled AUC of the dense score, top level vs the next level and top vs the lowest (mrs.eval.separation.auc);
- every level's calibrated dense threshold applied to held-out pairs: precision, recall, support.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mrs.blending.candidates import JudgedPairs, QueryCandidates
from mrs.blending.grid import blend_query, default_config
from mrs.blending.run import CalibrateOptions, run_calibration
from mrs.blending.thresholds import precision_recall_at
from mrs.data.judgments import JudgmentSet
from mrs.eval.separation import auc

MODES = ("lexical", "dense", "hybrid_default", "hybrid_calibrated")


def candidate_run(qc: QueryCandidates, name: str) -> dict[str, float]:
    """One sub-query's own ranked list from the candidates: {product id: raw score}."""
    i = qc.names.index(name)
    present = np.flatnonzero(qc.rank[i] > 0)
    return {qc.ids[j]: float(qc.raw[i, j]) for j in present}


def blended_run(qc: QueryCandidates, config) -> dict[str, float]:
    """The hybrid pipeline's combined list under ``config`` (the engine's own hybrid.combine)."""
    return {h.id: float(h.score) for h in blend_query(qc, config)} if qc.ids else {}


def per_query_metric(qrels: dict[str, dict[str, int]], run: dict[str, dict[str, float]],
                     metric: str) -> dict[str, float]:
    """ranx metric per query ({query id: value}); queries absent from the run score 0."""
    from ranx import Qrels, Run, evaluate

    full_run = {q: (run.get(q) or {"__none__": 0.0}) for q in qrels}
    ranx_run = Run(full_run)
    evaluate(Qrels(qrels), ranx_run, metric, save_results_in_run=True)
    return {q: float(v) for q, v in ranx_run.scores[metric].items()}


def graded_qrels(judgments: JudgmentSet, query_ids: Sequence[str]) -> dict[str, dict[str, int]]:
    """Grades as gains for queries with at least one grade > 0 (nDCG is undefined otherwise)."""
    qrels = judgments.qrels()
    return {q: qrels[q] for q in query_ids if q in qrels and any(g > 0 for g in qrels[q].values())}


def top_qrels(judgments: JudgmentSet, query_ids: Sequence[str]) -> dict[str, dict[str, int]]:
    """Top-level products as relevance 1 (recall of exact products)."""
    qrels, top = judgments.qrels(), judgments.scheme.top
    out = {q: {p: 1 for p, g in qrels.get(q, {}).items() if g == top} for q in query_ids}
    return {q: rel for q, rel in out.items() if rel}


def fold_metrics(backend, collected: tuple[list[QueryCandidates], JudgedPairs], judgments: JudgmentSet,
                 train_ids: Sequence[str], test_ids: Sequence[str], *, bootstrap: int = 200,
                 seed: int = 0) -> dict:
    """Calibrate on ``train_ids`` and score ``test_ids`` (see module doc). backend: the index the candidates
    came from (only counted). Returns {"per_query": {mode:
    {query id: nDCG@10}}, "recall@100_dense": {query id: value}, "auc": {...}, "thresholds": {level: {...}},
    "blend": {name, why, train_score}, "runs": {mode: {query id: {product id: score}}}}."""
    candidates, pairs = collected
    by_id = {qc.query_id: qc for qc in candidates}
    train_set = judgments.subset(train_ids)
    run = run_calibration(backend, None, train_set, CalibrateOptions(dev_fraction=0.0, seed=seed, bootstrap=bootstrap),
                          collected=([by_id[q] for q in train_ids if q in by_id], pairs.subset(train_ids)))
    cal = run.calibration
    chosen = run.choice.chosen.config
    default = default_config(candidates[0].names)
    test = [by_id[q] for q in test_ids if q in by_id]
    runs = {
        "lexical": {qc.query_id: candidate_run(qc, "lexical") for qc in test},
        "dense": {qc.query_id: candidate_run(qc, "dense") for qc in test},
        "hybrid_default": {qc.query_id: blended_run(qc, default) for qc in test},
        "hybrid_calibrated": {qc.query_id: blended_run(qc, chosen) for qc in test},
    }
    qrels = graded_qrels(judgments, test_ids)
    per_query = {mode: per_query_metric(qrels, r, "ndcg@10") for mode, r in runs.items()}
    recall = per_query_metric(top_qrels(judgments, test_ids), runs["dense"], "recall@100")

    held = pairs.subset(test_ids)
    scheme = judgments.scheme
    top = scheme.top
    keep = ~np.isnan(held.dense)
    dense, grades = held.dense[keep], held.grades[keep]
    aucs = {f"{scheme.name_of(top)}_vs_{scheme.name_of(top - 1)}": auc(dense[grades == top], dense[grades == top - 1]),
            f"{scheme.name_of(top)}_vs_{scheme.name_of(0)}": auc(dense[grades == top], dense[grades == 0])}
    thresholds = {}
    for level, t in cal.thresholds.items():
        positive = grades >= t.grade
        entry = {"threshold": t.threshold, "train_precision": t.precision, "train_recall": t.recall,
                 "target": t.target_precision}
        if t.threshold is not None:
            p, r, n = precision_recall_at(dense, positive, t.threshold)
            entry.update({"heldout_precision": p, "heldout_recall": r, "heldout_support": n})
        thresholds[level] = entry
    blend = cal.blend
    return {"per_query": per_query, "recall@100_dense": recall, "auc": aucs, "thresholds": thresholds,
            "blend": {"name": blend["name"], "why": blend.get("why"), "train_score": blend["train_score"],
                      "default_train_score": blend["default"]["train"]},
            "runs": runs}
