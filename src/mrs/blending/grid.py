"""Blend search: which normalization × combination × weights (or RRF) ranks judged queries best.

Search space (N sub-queries, N = 2..5; weights in steps of 0.1 summing to 1, endpoints included):
- normalization-processor: min_max, l2, z_score (arithmetic_mean only, as OpenSearch requires), and min_max with
  lower bounds from calibrated thresholds: the dense sub-query's bound is a level's threshold t_L (mode apply or
  clip), every lexical sub-query's bound is ignore or apply with min_score 0 (BM25 scaled by its max);
  × combination arithmetic_mean, geometric_mean, harmonic_mean × weights;
- score-ranker-processor: RRF with rank_constant ∈ {1, 5, 10, 20, 60} × weights.

Each query's sub-query candidate lists (mrs.blending.candidates.QueryCandidates) are normalized ONCE per
normalization variant with the technique registry's functions (mrs.engine.techniques, the target's score space);
every weight vector is then combined at once as a matrix product (n_weights × n_subqueries) · (n_subqueries ×
n_docs), with the missing-doc semantics of the registry's combinations: arithmetic_mean counts a missing doc as 0
with its weight kept; geometric/harmonic run over scores > 0 only. The chosen configurations are re-checked
with mrs.engine.hybrid.combine (see ``verify_with_engine``).

Target (``search_blends(target=...)``, ``mrs calibrate --target``): only the families the deployment target can
run are searched, by the technique registry (mrs.engine.techniques), and each is scored with that target's
semantics — OpenSearch: the normalization-processor / score-ranker-processor above; Elasticsearch: the linear
retriever (minmax ← min_max, l2_norm ← l2, no bounds, no z_score, a weighted sum over the retrievers that
returned the doc) and the rrf retriever (float 1/(k + rank), per-retriever weights), as
mrs.engine.retriever_combine computes them.

Selection happens on train queries only; the held-out (dev) score of every configuration is reported beside it.
Baselines: the default pipeline (min_max + arithmetic_mean, lexical 0.7 / dense 0.3; equal weights when the
sub-queries are not exactly lexical + dense) and RRF with rank_constant 60 and equal weights.
OpenSearch's Workbench hybrid optimizer tunes only two clauses without bounds; this search covers N clauses
and the threshold-derived lower bounds.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np

from mrs.blending.blends import BlendConfig, ConfigScore, GridResult, Normalization
from mrs.blending.candidates import QueryCandidates
from mrs.blending.objective import Metric, evaluate_rankings
from mrs.engine import techniques
from mrs.engine.pipeline import MAX_SUBQUERIES
from mrs.engine.techniques import (
    DEFAULT_COMBINATION,
    DEFAULT_NORMALIZATION,
    DEFAULT_WEIGHTS,
    ELASTICSEARCH,
    OPENSEARCH,
    RRF,
)
from mrs.engine.techniques.min_max import ScoreBound
from mrs.engine.techniques.rrf import rank_terms
from mrs.indexer.backend import SUBQUERY_DENSE, SUBQUERY_LEXICAL

RRF_RANK_CONSTANTS = (1, 5, 10, 20, 60)
WEIGHT_STEP = 0.1
DEFAULT_SUBQUERIES = (SUBQUERY_LEXICAL, SUBQUERY_DENSE)
"""The sub-queries the default weights (mrs.engine.techniques.DEFAULT_WEIGHTS) are for, in their order."""


# ---------------------------------------------------------------- low level (arrays only)


def weight_grid(n_subqueries: int, step: float = WEIGHT_STEP) -> np.ndarray:
    """All weight vectors with entries in multiples of ``step`` summing to 1: (n_vectors, n_subqueries).

    2 sub-queries → 11 vectors (0, 1), (0.1, 0.9), …, (1, 0); 3 → 66.
    """
    units = int(round(1.0 / step))
    rows = [c for c in itertools.product(range(units + 1), repeat=n_subqueries) if sum(c) == units]
    return np.round(np.asarray(rows, dtype=np.float64) / units, 10)


def combine_batch(normalized: np.ndarray, weights: np.ndarray, combination: str,
                  target: str = OPENSEARCH) -> np.ndarray:
    """Combined scores for every weight vector at once, by the registry's kernel of ``combination`` on
    ``target`` (mrs.engine.techniques), so scores, ties and the tie-break match the engine's.

    normalized: (n_subqueries, n_docs), NaN where the doc is missing from that sub-query. weights:
    (n_weights, n_subqueries). Returns float32 (n_weights, n_docs).
    """
    try:
        kernel = techniques.combiner(combination, target)
    except KeyError:
        raise ValueError(f"unknown combination {combination!r}") from None
    return kernel(np.asarray(normalized, dtype=np.float32).T, weights)


def rrf_batch(rank: np.ndarray, weights: np.ndarray, rank_constant: int, target: str = OPENSEARCH) -> np.ndarray:
    """Weighted RRF sums Σ wᵢ · rrf(rankᵢ) for every weight vector: float32 (n_weights, n_docs), by the
    registry's rrf on ``target`` (its rank scores and its sum). rank: (n_subqueries, n_docs), 1-based, 0 where
    absent."""
    support = techniques.support(RRF, target)
    return support.combine(rank_terms(rank, rank_constant, support.normalize).T, weights)


def normalize_candidates(qc: QueryCandidates, norm: Normalization, target: str = OPENSEARCH) -> np.ndarray:
    """(n_subqueries, n_ids) normalized scores (NaN where absent): each sub-query's returned scores normalized
    by the registry's function for ``norm.technique`` on ``target`` (statistics over that sub-query's
    candidates only; min_max with that sub-query's lower bound when ``norm`` has bounds)."""
    try:
        normalize = techniques.normalizer(norm.technique, target)
    except KeyError:
        raise ValueError(f"unknown normalization {norm.technique!r}") from None
    out = np.full(qc.raw.shape, np.nan)
    for i in range(qc.raw.shape[0]):
        present = ~np.isnan(qc.raw[i])
        if not present.any():
            continue
        scores = qc.raw[i, present]
        if norm.lower_bounds is not None and norm.lower_bounds[i].bounded:
            out[i, present] = normalize(scores, lower_bound=norm.lower_bounds[i])
        else:
            out[i, present] = normalize(scores)
    return out


# ---------------------------------------------------------------- high level


def normalization_variants(names: Sequence[str], dense_bounds: Mapping[str, float] | None = None) -> list[Normalization]:
    """min_max, min_max with threshold-derived lower bounds, l2, z_score for sub-queries ``names``.

    dense_bounds: {level: threshold on the dense score} (reachable thresholds only). For each: dense mode
    apply|clip × lexical mode ignore|apply(0). Without a sub-query named 'dense' no bounded variants exist.
    """
    out = [Normalization("min_max")]
    if dense_bounds and SUBQUERY_DENSE in names:
        for level, t in dense_bounds.items():
            for dense_mode in ("apply", "clip"):
                for lex_mode in ("ignore", "apply"):
                    bounds = tuple(ScoreBound(dense_mode, float(t)) if n == SUBQUERY_DENSE
                                   else ScoreBound(lex_mode, 0.0)
                                   for n in names)
                    out.append(Normalization("min_max", bounds, f"dense≥{level}"))
    out += [Normalization("l2"), Normalization("z_score")]
    return out


def default_config(names: Sequence[str], target: str = OPENSEARCH) -> BlendConfig:
    """min_max + arithmetic_mean with lexical 0.7 / dense 0.3 (OpenSearch-style default), equal weights otherwise
    (on Elasticsearch: the linear retriever with minmax and the same weights)."""
    w = DEFAULT_WEIGHTS if tuple(names) == DEFAULT_SUBQUERIES else tuple(round(1.0 / len(names), 4) for _ in names)
    return BlendConfig(Normalization(DEFAULT_NORMALIZATION), DEFAULT_COMBINATION, tuple(w), target=target)


def rrf_config(names: Sequence[str], rank_constant: int = 60, target: str = OPENSEARCH) -> BlendConfig:
    """RRF with equal weights (the score-ranker-processor's and the rrf retriever's default)."""
    return BlendConfig(None, "rrf", tuple(round(1.0 / len(names), 4) for _ in names), rank_constant, target)


def blend_families(names: Sequence[str], dense_bounds: Mapping[str, float] | None, target: str,
                   rank_constants: Iterable[int]) -> list[tuple[Normalization | None, str, int | None]]:
    """(normalization, combination, rank_constant) of every family ``target`` can run, by the technique
    registry: bounded min_max, z_score and geometric/harmonic means only where the target has them."""
    families: list[tuple[Normalization | None, str, int | None]] = []
    for norm in normalization_variants(names, dense_bounds):
        bounded = norm.lower_bounds is not None and any(b.bounded for b in norm.lower_bounds)
        for combo in techniques.names(techniques.COMBINATION):
            if techniques.blend_unsupported(target, norm.technique, combo, bounded=bounded) is None:
                families.append((norm, combo, None))
    if techniques.blend_unsupported(target, "rrf", "rrf", weighted=True) is None:
        families += [(None, "rrf", rc) for rc in rank_constants]
    return families


def _scorer(norm: Normalization | None, combo: str, rc: int | None, w: np.ndarray, target: str, cache: dict,
            split: int) -> Callable[[QueryCandidates], np.ndarray]:
    """qc → (n_weights, n_ids) combined scores of one family under ``target``'s semantics; each query is
    normalized once per variant (``cache``, shared by the variant's combinations and all weights)."""
    def score(qc: QueryCandidates) -> np.ndarray:
        if combo == RRF:
            return rrf_batch(qc.rank, w, rc, target)
        key = (split, id(qc), norm, target)
        if key not in cache:
            cache[key] = normalize_candidates(qc, norm, target)
        return combine_batch(cache[key], w, combo, target)
    return score


def _family_scores(candidates: Sequence[QueryCandidates], metric: Metric, weights: np.ndarray,
                   scorer: Callable[[QueryCandidates], np.ndarray]) -> np.ndarray:
    """Mean metric over queries for each weight vector: (n_weights,). scorer(qc) → (n_weights, n_ids) scores."""
    total = np.zeros(weights.shape[0])
    for qc in candidates:
        if len(qc.ids) == 0:
            continue  # nothing retrieved: the metric is 0 for every configuration
        total += evaluate_rankings(metric, scorer(qc), qc.grades, qc.id_order, qc.judged_grades)
    return total / max(len(candidates), 1)


def search_blends(train: Sequence[QueryCandidates], dev: Sequence[QueryCandidates], metric: Metric,
                  dense_bounds: Mapping[str, float] | None = None, *, step: float = WEIGHT_STEP,
                  rank_constants: Iterable[int] = RRF_RANK_CONSTANTS,
                  on_family: Callable[[str], None] | None = None, target: str = OPENSEARCH) -> GridResult:
    """Score every configuration ``target`` can run on train (and dev) queries; best train score first.

    train / dev: candidates of the train / held-out queries (same sub-query names). dense_bounds: reachable
    dense thresholds {level: t} for the bounded min_max variants. on_family: progress callback per family.
    target: opensearch | elasticsearch (module doc); Elasticsearch takes exactly [lexical, dense].
    """
    if not train:
        raise ValueError("search_blends needs at least one train query")
    names = train[0].names
    if not 2 <= len(names) <= MAX_SUBQUERIES:
        raise ValueError(f"a hybrid query takes 2..{MAX_SUBQUERIES} sub-queries, got {len(names)}")
    techniques.check_target(target)
    if target == ELASTICSEARCH and tuple(names) != (SUBQUERY_LEXICAL, SUBQUERY_DENSE):
        raise ValueError(f"Elasticsearch blends take the sub-queries [lexical, dense], got {list(names)}")
    weights = weight_grid(len(names), step)
    cache: dict = {}
    scores: list[ConfigScore] = []
    for norm, combo, rc in blend_families(names, dense_bounds, target, rank_constants):
        train_m = _family_scores(train, metric, weights, _scorer(norm, combo, rc, weights, target, cache, 0))
        dev_m = _family_scores(dev, metric, weights, _scorer(norm, combo, rc, weights, target, cache, 1)) \
            if dev else None
        for j, w in enumerate(weights):
            cfg = BlendConfig(norm, combo, tuple(float(x) for x in w), rc, target)
            scores.append(ConfigScore(cfg, float(train_m[j]), None if dev_m is None else float(dev_m[j])))
        if on_family is not None:
            on_family(BlendConfig(norm, combo, tuple(weights[0]), rc, target).family)
    # stable sort: on equal train score the earlier (simpler) family and weight order wins
    scores.sort(key=lambda cs: -cs.train)

    def baseline(cfg: BlendConfig) -> ConfigScore:
        w = np.asarray([cfg.weights])
        args = (cfg.normalization, cfg.combination, cfg.rank_constant, w, target, cache)
        tr = _family_scores(train, metric, w, _scorer(*args, 0))
        dv = _family_scores(dev, metric, w, _scorer(*args, 1)) if dev else None
        return ConfigScore(cfg, float(tr[0]), None if dv is None else float(dv[0]))

    return GridResult(metric.name, tuple(names), scores, baseline(default_config(names, target)),
                      baseline(rrf_config(names, target=target)), n_train=len(train), n_dev=len(dev), target=target)


def blend_query(qc: QueryCandidates, config: BlendConfig, size: int | None = None):
    """The engine's own hybrid combination of one query's candidate lists under ``config``, with its target's
    semantics: OpenSearch → mrs.engine.hybrid.combine (list[CombinedHit]); Elasticsearch →
    mrs.engine.retriever_combine.combine_retriever (list[CombinedHit], at most rank_window_size = the longest
    candidate list). Both: score desc, then index order (product id without doc ids)."""
    from mrs.engine.hybrid import SubqueryResult, combine
    from mrs.engine.pipeline import parse_pipeline

    lists = []
    for i, name in enumerate(qc.names):
        present = np.flatnonzero(qc.rank[i] > 0)
        present = present[np.argsort(qc.rank[i, present])]
        lists.append((name, present))
    if config.target == ELASTICSEARCH:
        from mrs.engine.retriever_combine import combine_retriever

        window = max(1, max(len(p) for _, p in lists))
        results = {name: ([qc.ids[j] for j in p], qc.raw[qc.names.index(name), p],
                          None if qc.doc_ids is None else qc.doc_ids[p]) for name, p in lists}
        results = {k: v if v[2] is not None else v[:2] for k, v in results.items()}
        return combine_retriever(results, config.retriever_spec(window), min(size or len(qc.ids), window))
    pipeline = parse_pipeline(config.pipeline_body(), n_subqueries=len(qc.names))
    subresults = [SubqueryResult(name, [qc.ids[j] for j in p], qc.raw[i, p].astype(np.float64),
                                 doc_ids=None if qc.doc_ids is None else qc.doc_ids[p])
                  for i, (name, p) in enumerate(lists)]
    return combine(subresults, pipeline, size=size or len(qc.ids))


def config_scorer(config: BlendConfig) -> Callable[[QueryCandidates], np.ndarray]:
    """qc → (1, n_ids) combined scores of one configuration, with its target's semantics (the grid's path)."""
    w = np.asarray([config.weights])
    return _scorer(config.normalization, config.combination, config.rank_constant, w, config.target, {}, 0)


def verify_with_engine(candidates: Sequence[QueryCandidates], config: BlendConfig, depth: int = 10) -> bool:
    """True when the fast numpy path ranks the top ``depth`` of every query exactly as the engine does for
    ``config`` (blend_query: same ids in the same order)."""
    score = config_scorer(config)
    for qc in candidates:
        if not qc.ids:
            continue
        fast = score(qc)
        order = np.lexsort((qc.id_order, -fast[0]))[:depth]
        fast_ids = [qc.ids[j] for j in order]
        engine_ids = [h.id for h in blend_query(qc, config)[:depth]]
        if fast_ids != engine_ids:
            return False
    return True
