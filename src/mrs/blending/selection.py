"""Which blend to deploy: the one-standard-error rule over the blend search's candidates.

The grid (mrs.blending.grid.search_blends) ranks hundreds of configurations by their mean metric on the
training queries; the top of that list is partly luck of the query sample (a richer family fits the noise of
80 queries). Selection follows the one-standard-error rule (Breiman et al. 1984, "Classification and
Regression Trees", §3.4.3; Hastie, Tibshirani & Friedman, "The Elements of Statistical Learning", §7.10):

1. take the best configuration of each family (normalization + combination, or RRF k) by train mean, and the
   default pipeline (min_max + arithmetic_mean, lexical 0.7 / dense 0.3);
2. for each, the per-query differences d_q = metric(best overall, q) − metric(candidate, q) over the training
   queries; its standard error SE = std(d, ddof=1) / sqrt(n);
3. a candidate is *within one SE* when mean(d) ≤ SE;
4. choose the simplest candidate within one SE (complexity below), ties broken by train mean.

Complexity (lower is simpler): 0 the default pipeline; 1 min_max + arithmetic_mean with other weights;
2 any other unbounded normalization × combination, or RRF; 3 min_max with threshold-derived lower bounds.
The returned reason says which configuration won, by how much, and against which SE.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mrs.blending.candidates import QueryCandidates
from mrs.blending.grid import BlendConfig, ConfigScore, GridResult, config_scorer
from mrs.blending.objective import Metric, evaluate_rankings


@dataclass
class BlendChoice:
    """The chosen configuration and why. best: the top train mean; reason: one sentence for calibration.json;
    candidates: [{"name", "complexity", "train", "mean_gap", "se", "within_one_se"}] (the ones compared)."""

    chosen: ConfigScore
    best: ConfigScore
    reason: str
    candidates: list[dict]

    def to_dict(self) -> dict:
        return {"rule": "one standard error", "chosen": self.chosen.config.name, "best_train": self.best.config.name,
                "reason": self.reason, "candidates": self.candidates}


def complexity(config: BlendConfig, default: BlendConfig) -> int:
    """0 default pipeline, 1 min_max + arithmetic_mean reweighted, 2 other unbounded or RRF, 3 bounded min_max."""
    if config == default:
        return 0
    if config.is_rrf:
        return 2
    norm = config.normalization
    if norm.lower_bounds is not None:
        return 3
    if norm.technique == "min_max" and config.combination == "arithmetic_mean":
        return 1
    return 2


def per_query_scores(candidates: Sequence[QueryCandidates], config: BlendConfig, metric: Metric) -> np.ndarray:
    """The metric of ``config`` on each query (n_queries,), computed as the grid computes it, with the
    semantics of ``config.target`` (mrs.blending.grid.config_scorer; 0 for a query with no candidates)."""
    score = config_scorer(config)
    out = np.zeros(len(candidates))
    for i, qc in enumerate(candidates):
        if len(qc.ids) == 0:
            continue
        out[i] = evaluate_rankings(metric, score(qc), qc.grades, qc.id_order, qc.judged_grades)[0]
    return out


def choose_blend(grid: GridResult, train: Sequence[QueryCandidates], metric: Metric) -> BlendChoice:
    """Apply the one-standard-error rule (module doc) to ``grid`` over its ``train`` candidates."""
    best = grid.best
    default = grid.default.config
    pool: dict[str, ConfigScore] = {}
    for cs in grid.scores:  # best train first, so the first seen of each family is its best
        pool.setdefault(cs.config.family, cs)
    pool["__default__"] = grid.default
    best_q = per_query_scores(train, best.config, metric)
    n = len(train)
    rows = []
    for cs in pool.values():
        diff = best_q - per_query_scores(train, cs.config, metric)
        gap = float(diff.mean()) if n else 0.0
        se = float(diff.std(ddof=1) / np.sqrt(n)) if n > 1 else 0.0
        rows.append({"name": cs.config.name, "complexity": complexity(cs.config, default), "train": cs.train,
                     "mean_gap": round(gap, 6), "se": round(se, 6), "within_one_se": gap <= se, "_score": cs})
    eligible = [r for r in rows if r["within_one_se"]]
    pick = min(eligible, key=lambda r: (r["complexity"], -r["train"]))
    chosen = pick["_score"]
    if chosen.config == best.config:
        reason = (f"{best.config.name} has the best train {grid.metric} ({best.train:.4f}) and no simpler "
                  "blend is within one standard error of it")
    else:
        reason = (f"{chosen.config.name} (train {grid.metric} {chosen.train:.4f}) is within one standard error "
                  f"of the best, {best.config.name} ({best.train:.4f}; gap {pick['mean_gap']:.4f} ≤ SE "
                  f"{pick['se']:.4f} over {n} train queries), and is simpler")
    candidates = [{k: v for k, v in r.items() if k != "_score"} for r in sorted(rows, key=lambda r: -r["train"])]
    return BlendChoice(chosen, best, reason, candidates)
