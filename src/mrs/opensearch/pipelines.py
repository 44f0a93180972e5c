"""Search pipeline bodies (normalization-processor, score-ranker RRF, hybrid_score_explanation) and the
calibration.json reader that feeds them.

Pipelines are plain dicts in OpenSearch's JSON shape — the same file is PUT to ``_search/pipeline/NAME`` and
read by the embedded engine, so offline evaluation uses exactly what gets deployed.

Documentation relied on (docs.opensearch.org, search-plugins/search-pipelines/):
- normalization-processor: ``{"normalization": {"technique": min_max|l2|z_score, "parameters": {"lower_bounds":
  [{"mode": apply|clip|ignore, "min_score": x}, ...]}}, "combination": {"technique": arithmetic_mean|
  geometric_mean|harmonic_mean, "parameters": {"weights": [...]}}}`` in ``phase_results_processors``;
  lower_bounds only with min_max, one per sub-query, min_score in [-10000, 10000]; weights in [0, 1], sum 1;
  z_score only with arithmetic_mean.
- score-ranker-processor: ``{"combination": {"technique": "rrf", "rank_constant": 60, "parameters":
  {"weights": [...]}}}`` (rank_constant ≥ 1).
- hybrid_score_explanation (2.19+): a response processor ``{"hybrid_score_explanation": {}}``. A search with
  ``explain=true`` needs it in its pipeline to return the normalization/combination details per hit; without
  ``explain=true`` it does nothing. Every pipeline mrs renders for deployment carries it (with_explanation);
  the blend bodies calibrate writes (calibration.pipeline.json) hold only the phase results processor.

Calibration schema (docs/calibration-format.md, ``mrs-calibration/1``); every key is optional:
``blend.pipeline`` (a pipeline body), ``blend.rrf_best.pipeline`` (the best RRF configuration's body),
``blend.subqueries`` (["lexical", "dense"]),
``thresholds.dense.<level>.threshold`` (k-NN score space), ``index.{space_type, similarity, documents}``,
``model.{name, dimension}``, ``scheme.levels`` (ordered low → high). Missing → defaults: min_max +
arithmetic_mean with weights lexical 0.7 / dense 0.3, no thresholds.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mrs.errors import InputError, json_error_text

NORMALIZATION_TECHNIQUES = ("min_max", "l2", "z_score")
COMBINATION_TECHNIQUES = ("arithmetic_mean", "geometric_mean", "harmonic_mean")
BOUND_MODES = ("apply", "clip", "ignore")
DEFAULT_SUBQUERIES = ("lexical", "dense")
DEFAULT_WEIGHTS = (0.7, 0.3)
BOUND_LIMIT = 10000.0


def _check_weights(weights: Sequence[float], n: int, what: str) -> list[float]:
    ws = [float(w) for w in weights]
    if len(ws) != n:
        raise InputError(f"{what}: {len(ws)} weights for {n} sub-queries")
    if any(not 0.0 <= w <= 1.0 for w in ws):
        raise InputError(f"{what}: weights must lie in [0, 1] (got {ws})")
    if abs(sum(ws) - 1.0) > 0.01:
        raise InputError(f"{what}: weights must sum to 1 (± 0.01), got {sum(ws):g}")
    return ws


def normalization_pipeline(
    technique: str = "min_max",
    combination: str = "arithmetic_mean",
    weights: Sequence[float] = DEFAULT_WEIGHTS,
    lower_bounds: Sequence[Mapping[str, Any] | None] | None = None,
    *,
    explain: bool = True,
    description: str = "mrs hybrid: normalization-processor",
) -> dict[str, Any]:
    """A search pipeline with one normalization-processor (and the hybrid_score_explanation response processor).

    weights: one per sub-query, in the hybrid query's order (lexical first, dense second by default).
    lower_bounds: one per sub-query, each {"mode": apply|clip|ignore, "min_score": x} or None (→ ignore);
    min_max only. explain: add the hybrid_score_explanation response processor.
    """
    if technique not in NORMALIZATION_TECHNIQUES:
        raise InputError(f"normalization technique {technique!r}: expected one of {', '.join(NORMALIZATION_TECHNIQUES)}")
    if combination not in COMBINATION_TECHNIQUES:
        raise InputError(f"combination technique {combination!r}: expected one of {', '.join(COMBINATION_TECHNIQUES)}")
    if technique == "z_score" and combination != "arithmetic_mean":
        raise InputError("z_score normalization works only with arithmetic_mean combination")
    ws = _check_weights(weights, len(weights), "normalization-processor")
    normalization: dict[str, Any] = {"technique": technique}
    if lower_bounds is not None:
        if technique != "min_max":
            raise InputError("lower_bounds apply only to min_max normalization")
        if len(lower_bounds) != len(ws):
            raise InputError(f"{len(lower_bounds)} lower_bounds for {len(ws)} sub-queries")
        bounds = []
        for b in lower_bounds:
            if b is None:
                bounds.append({"mode": "ignore"})
                continue
            mode = b.get("mode", "apply")
            if mode not in BOUND_MODES:
                raise InputError(f"lower bound mode {mode!r}: expected one of {', '.join(BOUND_MODES)}")
            entry: dict[str, Any] = {"mode": mode}
            if mode != "ignore":
                score = float(b.get("min_score", 0.0))
                if not -BOUND_LIMIT <= score <= BOUND_LIMIT or math.isnan(score):
                    raise InputError(f"lower bound min_score {score} outside [-10000, 10000]")
                entry["min_score"] = score
            bounds.append(entry)
        normalization["parameters"] = {"lower_bounds": bounds}
    body: dict[str, Any] = {
        "description": description,
        "phase_results_processors": [
            {"normalization-processor": {
                "normalization": normalization,
                "combination": {"technique": combination, "parameters": {"weights": ws}},
            }}
        ],
    }
    if explain:
        body["response_processors"] = [{"hybrid_score_explanation": {}}]
    return body


def rrf_pipeline(
    weights: Sequence[float] | None = None,
    rank_constant: int = 60,
    *,
    explain: bool = True,
    description: str = "mrs hybrid: score-ranker-processor (RRF)",
) -> dict[str, Any]:
    """A search pipeline with the score-ranker-processor (reciprocal rank fusion), the rank-based alternative.

    Score = Σ wᵢ / (rank_constant + rankᵢ). weights: one per sub-query (None → equal).
    """
    if not 1 <= int(rank_constant) <= 10000:
        raise InputError(f"rank_constant must be in [1, 10000] (got {rank_constant})")
    combination: dict[str, Any] = {"technique": "rrf", "rank_constant": int(rank_constant)}
    if weights is not None:
        combination["parameters"] = {"weights": _check_weights(weights, len(weights), "score-ranker-processor")}
    body: dict[str, Any] = {
        "description": description,
        "phase_results_processors": [{"score-ranker-processor": {"combination": combination}}],
    }
    if explain:
        body["response_processors"] = [{"hybrid_score_explanation": {}}]
    return body


def check_pipeline(body: Mapping[str, Any], n_subqueries: int | None = None) -> dict[str, Any]:
    """Validate a pipeline body (from calibration.json or a user file) and return it as a dict.

    Accepts exactly one normalization-processor or score-ranker-processor in phase_results_processors.
    InputError names what is wrong.
    """
    if not isinstance(body, Mapping):
        raise InputError("search pipeline must be a JSON object")
    procs = body.get("phase_results_processors")
    if not isinstance(procs, list) or len(procs) != 1 or not isinstance(procs[0], Mapping):
        raise InputError("search pipeline needs exactly one entry in phase_results_processors")
    if len(procs[0]) != 1:
        raise InputError("each phase_results_processors entry holds exactly one processor")
    name, conf = next(iter(procs[0].items()))
    conf = conf if isinstance(conf, Mapping) else {}
    if name == "normalization-processor":
        norm = conf.get("normalization", {}) or {}
        comb = conf.get("combination", {}) or {}
        ws = (comb.get("parameters") or {}).get("weights")
        bounds = (norm.get("parameters") or {}).get("lower_bounds")
        n = n_subqueries or (len(ws) if ws else 2)
        normalization_pipeline(norm.get("technique", "min_max"), comb.get("technique", "arithmetic_mean"),
                               ws if ws is not None else [1.0 / n] * n, bounds)
    elif name == "score-ranker-processor":
        comb = conf.get("combination", {}) or {}
        if comb.get("technique", "rrf") != "rrf":
            raise InputError(f"score-ranker-processor technique {comb.get('technique')!r}: only rrf exists")
        rrf_pipeline((comb.get("parameters") or {}).get("weights"), comb.get("rank_constant", 60))
    else:
        raise InputError(f"unsupported phase results processor {name!r} "
                         "(expected normalization-processor or score-ranker-processor)")
    return json.loads(json.dumps(body))


def pipeline_weights(body: Mapping[str, Any]) -> list[float] | None:
    """The weights list of a pipeline body (None when not set)."""
    proc = body["phase_results_processors"][0]
    conf = next(iter(proc.values()))
    return (conf.get("combination", {}).get("parameters") or {}).get("weights")


@dataclass
class Calibration:
    """What templates and pipelines need from calibration.json (all optional, defaults documented above).

    pipeline: the chosen blend as a pipeline body. subqueries: sub-query names in the pipeline's order.
    rrf_pipeline: the best RRF configuration calibrate found (score-ranker body), None when not recorded.
    thresholds: {level: dense k-NN score threshold}. levels: level names low → high (when known).
    space_type / similarity / dimension: of the index the calibration ran on. source: the file (or None).
    target: the deployment target the blend was fitted for (None: not recorded, i.e. opensearch).
    ranking: the best configuration of each blend family, best first ({"name", "train", "dev", "family",
    "pipeline"}), where a renderer for another target picks the best one it can run.
    """

    pipeline: dict[str, Any]
    subqueries: list[str] = field(default_factory=lambda: list(DEFAULT_SUBQUERIES))
    rrf_pipeline: dict[str, Any] | None = None
    thresholds: dict[str, float] = field(default_factory=dict)
    levels: list[str] = field(default_factory=list)
    space_type: str | None = None
    similarity: str | None = None
    dimension: int | None = None
    source: str | None = None
    target: str | None = None
    ranking: list[dict[str, Any]] = field(default_factory=list)

    def threshold(self, level: str) -> float:
        """The dense threshold of ``level`` (InputError listing the calibrated levels when absent)."""
        if level not in self.thresholds:
            have = ", ".join(self.thresholds) or "none"
            raise InputError(f"no calibrated dense threshold for level {level!r} (calibrated: {have})",
                             path=self.source)
        return self.thresholds[level]


def default_pipeline() -> dict[str, Any]:
    """min_max + arithmetic_mean, weights lexical 0.7 / dense 0.3, with the explanation processor."""
    return normalization_pipeline("min_max", "arithmetic_mean", DEFAULT_WEIGHTS)


def with_explanation(body: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a pipeline body with the hybrid_score_explanation response processor (once), so a deployed
    pipeline answers ``explain=true`` (see module doc)."""
    out = json.loads(json.dumps(body))
    processors = list(out.get("response_processors") or [])
    if not any(isinstance(p, Mapping) and "hybrid_score_explanation" in p for p in processors):
        processors.append({"hybrid_score_explanation": {}})
    out["response_processors"] = processors
    return out


def calibration_from_dict(data: Mapping[str, Any], source: str | None = None) -> Calibration:
    """Read the tolerant calibration schema (see module doc) from a parsed JSON object."""
    if not isinstance(data, Mapping):
        raise InputError("calibration must be a JSON object", path=source)
    blend = data.get("blend") or {}
    subqueries = list(blend.get("subqueries") or DEFAULT_SUBQUERIES)
    pipeline = blend.get("pipeline")
    if pipeline is None:
        n = len(subqueries)
        weights = DEFAULT_WEIGHTS if n == 2 else [1.0 / n] * n
        pipeline = normalization_pipeline("min_max", "arithmetic_mean", weights)
    else:
        try:
            pipeline = check_pipeline(pipeline, len(subqueries))
        except InputError as e:
            raise InputError(f"blend.pipeline: {e.message}", path=source) from None
    rrf = (blend.get("rrf_best") or {}).get("pipeline")
    if rrf is not None:
        try:
            rrf = check_pipeline(rrf, len(subqueries))
        except InputError as e:
            raise InputError(f"blend.rrf_best.pipeline: {e.message}", path=source) from None
    thresholds: dict[str, float] = {}
    dense = ((data.get("thresholds") or {}).get("dense")) or {}
    for level, entry in dense.items():
        value = entry.get("threshold") if isinstance(entry, Mapping) else entry
        if isinstance(value, (int, float)) and math.isfinite(value):
            thresholds[str(level)] = float(value)
    index = data.get("index") or {}
    model = data.get("model") or {}
    scheme = data.get("scheme") or {}
    dim = model.get("dimension")
    return Calibration(
        pipeline=pipeline,
        subqueries=subqueries,
        rrf_pipeline=rrf,
        thresholds=thresholds,
        levels=[str(x) for x in scheme.get("levels") or []],
        space_type=index.get("space_type"),
        similarity=index.get("similarity"),
        dimension=int(dim) if isinstance(dim, int) else None,
        source=source,
        target=blend.get("target") if isinstance(blend.get("target"), str) else None,
        ranking=[dict(r) for r in blend.get("ranking") or [] if isinstance(r, Mapping) and "pipeline" in r],
    )


def read_calibration(path: str | os.PathLike | None) -> Calibration:
    """calibration.json → Calibration; None → all defaults. InputError (with the file) on bad JSON."""
    if path is None:
        return calibration_from_dict({})
    p = os.fspath(path)
    try:
        with open(p, encoding="utf-8") as fh:
            data = json.load(fh)
    except json.JSONDecodeError as e:
        raise InputError(f"malformed JSON ({json_error_text(e)})", path=p, line=e.lineno) from None
    return calibration_from_dict(data, source=p)
