"""The calibration run: judgments + an index (any SearchBackend) → a Calibration and its blend search.

Steps (``run_calibration``):
1. check every level has at least ``min_pairs`` judged pairs (InputError naming the level and its count);
2. split queries (never pairs) into train / dev with mrs.data.splits.train_dev_split (seeded);
3. encode every judged query once (batched) with the index's encoder;
4. per query, retrieve each sub-query's top-k candidates once and score every judged pair (dense k-NN score,
   raw BM25) through the backend protocol (mrs.blending.candidates.collect);
5. dense thresholds per level on train pairs (target precision, recall, bootstrap CI over queries) and their
   precision on dev pairs (mrs.blending.thresholds);
6. isotonic P(level ≥ L) maps on train pairs, ECE on dev pairs (mrs.blending.probability);
7. blend search on train queries, dev score beside (mrs.blending.grid), over the blends the deployment target
   (``options.target``: opensearch | elasticsearch) can run, scored with its semantics; bounded min_max
   variants from the reachable thresholds (OpenSearch); the blend is chosen by the one-standard-error rule
   (mrs.blending.selection: the simplest blend within one SE of the best train score, the reason recorded as
   blend.why) and re-checked against the engine; the best configuration of every family is kept as the
   calibration's ranking (``blend.ranking``), from which a renderer for another target takes the best one it
   can run;
8. per-level score summaries of judged pairs in each space: dense, lexical (BM25 raw) and hybrid (the chosen
   blend's combined score of judged pairs that either sub-query retrieved).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mrs.blending.calibration import Calibration, index_identity, model_identity_of
from mrs.blending.candidates import JudgedPairs, QueryCandidates, SubquerySource, collect
from mrs.blending.grid import GridResult, blend_query, search_blends, verify_with_engine
from mrs.blending.objective import parse_metric
from mrs.blending.probability import calibration_errors, fit_probability_maps
from mrs.blending.selection import BlendChoice, choose_blend
from mrs.blending.thresholds import DEFAULT_MIN_SUPPORT, fit_thresholds, threshold_warnings
from mrs.data.judgments import JudgmentSet
from mrs.data.splits import train_dev_split
from mrs.engine.techniques import DEFAULT_TARGET, ELASTICSEARCH, check_target
from mrs.errors import InputError
from mrs.indexer.backend import SearchBackend

DEFAULT_MIN_PAIRS = 10
"""Fewest judged pairs a level needs (over all queries) before calibrate trusts a threshold or a map."""

ProgressFn = Callable[[str, int, int], None]
"""on_progress(stage, done, total): stage is "encode", "retrieve", "thresholds", "blend"."""


@dataclass
class CalibrateOptions:
    """Knobs of a run. targets: {level: target precision}; dev_fraction: share of queries held out (0 → none);
    metric: blend objective (ndcg@10 …); k: candidates per sub-query (the pipeline's pagination_depth);
    bootstrap: resamples for threshold CIs; min_pairs: per level; min_support: pairs above a threshold;
    target: the deployment target whose blends are searched (mrs.engine.techniques.TARGETS)."""

    targets: Mapping[str, float] = field(default_factory=dict)
    dev_fraction: float = 0.2
    seed: int = 0
    metric: str = "ndcg@10"
    k: int = 100
    bootstrap: int = 1000
    min_pairs: int = DEFAULT_MIN_PAIRS
    min_support: int = DEFAULT_MIN_SUPPORT
    target: str = DEFAULT_TARGET


@dataclass
class CalibrationRun:
    """Everything a run produced: the calibration (what is written) and the material behind it (plots)."""

    calibration: Calibration
    grid: GridResult
    pairs: JudgedPairs
    train_ids: list[str]
    dev_ids: list[str]
    candidates: list[QueryCandidates]
    choice: BlendChoice | None = None


def check_level_counts(judgments: JudgmentSet, min_pairs: int, source: str | None = None) -> None:
    """InputError naming the first level with fewer than ``min_pairs`` judged pairs."""
    counts = judgments.level_counts()
    for level, n in counts.items():
        if n < min_pairs:
            have = ", ".join(f"{lv} {c}" for lv, c in counts.items())
            raise InputError(f"level {level!r} has {n} judged pairs; calibrate needs at least {min_pairs} per level "
                             f"(--min-pairs) — counts: {have}", path=source)


def split_for_calibration(judgments: JudgmentSet, dev_fraction: float, seed: int,
                          source: str | None = None) -> tuple[list[str], list[str]]:
    """(train query ids, dev query ids). InputError when the split leaves a side empty."""
    train, dev = train_dev_split(judgments, dev_fraction, seed)
    if dev_fraction > 0.0 and (not train or not dev):
        raise InputError(f"{len(train) + len(dev)} judged queries split at dev fraction {dev_fraction} leave "
                         f"{len(train)} train / {len(dev)} dev queries; judge more queries or "
                         "change --dev-fraction", path=source)
    return train, dev


def _level_summary(scores: np.ndarray, grades: np.ndarray, scheme) -> dict:
    out = {}
    for g in range(scheme.top, -1, -1):
        s = scores[(grades == g) & ~np.isnan(scores)]
        out[scheme.name_of(g)] = ({"pairs": int(s.size), "mean": float(s.mean()), "p10": float(np.percentile(s, 10)),
                                   "median": float(np.median(s)), "p90": float(np.percentile(s, 90))}
                                  if s.size else {"pairs": 0})
    return out


def _hybrid_pair_scores(candidates: list[QueryCandidates], pairs: JudgedPairs, config) -> np.ndarray:
    """The chosen blend's combined score for each judged pair (NaN when neither sub-query retrieved it)."""
    per_query: dict[str, dict[str, float]] = {}
    for qc in candidates:
        per_query[qc.query_id] = {h.id: h.score for h in blend_query(qc, config)} if qc.ids else {}
    return np.array([per_query.get(q, {}).get(p, np.nan) for q, p in zip(pairs.query_ids, pairs.product_ids,
                                                                          strict=True)])


def _rrf_best(grid: GridResult) -> dict:
    """The best RRF configuration of the search (by train score; the k=60 equal-weight baseline when the
    grid held no other) with its score-ranker pipeline body: what `mrs templates render` deploys as the RRF
    alternative."""
    best = next((cs for cs in grid.scores if cs.config.is_rrf), grid.rrf)
    dev = f", dev {best.dev:.4f}" if best.dev is not None else ""
    return {**best.to_dict(), "pipeline": best.config.pipeline_body(
        description=f"mrs calibrate: {best.config.name} (best RRF, {grid.metric} train {best.train:.4f}{dev})")}


def collect_for_calibration(backend: SearchBackend, encoder, judgments: JudgmentSet, k: int,
                            sources: Mapping[str, SubquerySource] | None = None,
                            report: ProgressFn | None = None,
                            filters: Mapping[str, Any] | None = None) -> tuple[list[QueryCandidates], JudgedPairs]:
    """Steps 3–4: encode every judged query once (batched), then retrieve and score through the backend
    (filters: {query id: filter} for the queries users run filtered)."""
    report = report or (lambda stage, done, total: None)
    queries = judgments.queries()
    qids = list(queries)
    report("encode", 0, len(qids))
    vectors = np.asarray(encoder.encode([queries[q] for q in qids]), dtype=np.float32)
    report("encode", len(qids), len(qids))
    query_vectors = dict(zip(qids, vectors, strict=True))
    done = 0

    def step(_qid: str) -> None:
        nonlocal done
        done += 1
        report("retrieve", done, len(qids))

    return collect(backend, judgments, query_vectors, k, sources, on_query=step, filters=filters)


def run_calibration(backend: SearchBackend, encoder, judgments: JudgmentSet, options: CalibrateOptions, *,
                    manifest: Mapping | None = None, index_path: str | None = None,
                    judgments_path: str | None = None, sources: Mapping[str, SubquerySource] | None = None,
                    on_progress: ProgressFn | None = None,
                    collected: tuple[list[QueryCandidates], JudgedPairs] | None = None,
                    filters: Mapping[str, Any] | None = None) -> CalibrationRun:
    """Run every step of the module doc. encoder: has ``encode(texts) -> (n, dim) float32`` (the index's
    query encoder). manifest: the index manifest (model / index identity recorded in the file).
    sources: sub-queries to blend (default lexical + dense). collected: candidates and judged pairs of an
    earlier run on the same judgments and index (steps 3–4 skipped; benchmarks vary the split with it).
    filters: {query id: filter}: those queries' blend candidates come from filtered sub-queries.
    Returns a CalibrationRun."""
    report = on_progress or (lambda stage, done, total: None)
    metric = parse_metric(options.metric)
    scheme = judgments.scheme
    if len(judgments) == 0:
        raise InputError("no judgments to calibrate on", path=judgments_path)
    check_level_counts(judgments, options.min_pairs, judgments_path)
    train_ids, dev_ids = split_for_calibration(judgments, options.dev_fraction, options.seed, judgments_path)

    if collected is None:
        collected = collect_for_calibration(backend, encoder, judgments, options.k, sources, report, filters)
    candidates, all_pairs = collected
    pairs = all_pairs.where(~np.isnan(all_pairs.dense)) if np.isnan(all_pairs.dense).any() else all_pairs
    train, dev = pairs.subset(train_ids), pairs.subset(dev_ids)

    report("thresholds", 0, 1)
    thresholds = fit_thresholds(train.dense, train.grades, train.query_ids, scheme, options.targets,
                                bootstrap=options.bootstrap, seed=options.seed, min_support=options.min_support,
                                dev=(dev.dense, dev.grades) if len(dev) else None)
    maps = fit_probability_maps(train.dense, train.grades, scheme)
    ece = calibration_errors(maps, dev.dense, dev.grades, scheme) if len(dev) else {}
    report("thresholds", 1, 1)

    by_id = {qc.query_id: qc for qc in candidates}
    train_cands, dev_cands = [by_id[q] for q in train_ids], [by_id[q] for q in dev_ids]
    dense_bounds = {lv: t.threshold for lv, t in thresholds.items() if t.threshold is not None}
    grid, choice = _search_and_choose(train_cands, dev_cands, metric, dense_bounds, options.target, report)
    hybrid_scores = _hybrid_pair_scores(candidates, pairs, choice.chosen.config)
    calibration = Calibration(
        scheme=scheme,
        thresholds=thresholds,
        probability=maps,
        ece=ece,
        blend=blend_record(grid, choice, options.k),
        model=model_identity_of(manifest or {}),
        index={**index_identity(manifest or {}, index_path), "documents": backend.count()},
        data={
            "judgments": judgments_path,
            "pairs": len(all_pairs),
            "pairs_scored": len(pairs),
            "pairs_missing_from_index": len(all_pairs) - len(pairs),
            "level_counts": judgments.level_counts(),
            "queries": {"train": len(train_ids), "dev": len(dev_ids)},
            "pairs_by_split": {"train": len(train), "dev": len(dev)},
            "dev_fraction": options.dev_fraction,
            "seed": options.seed,
            "bootstrap": options.bootstrap,
            "k": options.k,
        },
        scores=_score_summaries(pairs, hybrid_scores, scheme),
        warnings=threshold_warnings(thresholds, len(dev_ids)),
    )
    return CalibrationRun(calibration, grid, pairs, train_ids, dev_ids, candidates, choice)


def _search_and_choose(train: list[QueryCandidates], dev: list[QueryCandidates], metric, dense_bounds: dict,
                       target: str, report: ProgressFn) -> tuple[GridResult, BlendChoice]:
    """Step 7: the blend search over ``target``'s blends (progress per family), the one-SE choice, and the
    chosen blend re-checked against the engine (grid.verified)."""
    families_done = 0

    def family_step(_name: str) -> None:
        nonlocal families_done
        families_done += 1
        report("blend", families_done, 0)

    try:
        check_target(target)
        grid = search_blends(train, dev, metric, dense_bounds, on_family=family_step, target=target)
    except ValueError as e:
        raise InputError(f"--target {target}: {e}") from None
    choice = choose_blend(grid, train, metric)
    grid.verified = verify_with_engine(train, choice.chosen.config, depth=metric.k or 10)
    return grid, choice


def blend_record(grid: GridResult, choice: BlendChoice, k: int) -> dict:
    """calibration.json's ``blend``: the chosen configuration, its scores and why, the baselines, the top
    configurations, the best of every family (``ranking``), its OpenSearch pipeline body and, for an
    Elasticsearch target, its retriever body. k: candidates per sub-query (pagination_depth)."""
    best = choice.chosen
    blend = {
        "subqueries": list(grid.subqueries),
        "metric": grid.metric,
        "name": best.config.name,
        "train_score": best.train,
        "dev_score": best.dev,
        "why": choice.reason,
        "selection": choice.to_dict(),
        "default_score": grid.default.dev if grid.default.dev is not None else grid.default.train,
        "default": grid.default.to_dict(),
        "rrf": grid.rrf.to_dict(),
        "rrf_best": _rrf_best(grid),
        "pagination_depth": k,
        "configurations": len(grid.scores),
        "verified_with_engine": grid.verified,
        "pipeline": best.config.pipeline_body(
            description=f"mrs calibrate: {best.config.name} ({grid.metric} train {best.train:.4f}"
                        + (f", dev {best.dev:.4f})" if best.dev is not None else ")")),
        "top": [cs.to_dict() for cs in grid.top(10)],
        "target": grid.target,
        "ranking": [{**cs.to_dict(), "family": cs.config.family, "pipeline": cs.config.pipeline_body()}
                    for cs in grid.family_best()],
    }
    if grid.target == ELASTICSEARCH:
        from mrs.engine.retriever import retriever_body

        blend["retriever"] = retriever_body(best.config.retriever_spec(k))
    return blend


def _score_summaries(pairs: JudgedPairs, hybrid_scores: np.ndarray, scheme) -> dict:
    """Step 8: per-level summaries of the judged pairs' dense, lexical and hybrid scores."""
    return {
        "dense": _level_summary(pairs.dense, pairs.grades, scheme),
        "lexical": _level_summary(pairs.lexical, pairs.grades, scheme),
        "hybrid": _level_summary(hybrid_scores, pairs.grades, scheme),
        "lexical_unmatched_pairs": int(np.isnan(pairs.lexical).sum()),
        "hybrid_unretrieved_pairs": int(np.isnan(hybrid_scores).sum()),
    }
