"""Search pipeline bodies mrs renders for deployment: normalization-processor, score-ranker RRF,
hybrid_score_explanation; and the check of a pipeline body before it is sent or rendered.

Pipelines are plain dicts in OpenSearch's JSON shape — the same file is PUT to ``_search/pipeline/NAME`` and
read by the embedded engine (mrs.engine.pipeline.parse_pipeline), so offline evaluation uses exactly what gets
deployed. Technique names, which normalization pairs with which combination, bounds and rank constants are
the technique registry's (mrs.engine.techniques).

Documentation relied on (docs.opensearch.org, search-plugins/search-pipelines/):
- normalization-processor: ``{"normalization": {"technique": min_max|l2|z_score, "parameters": {"lower_bounds":
  [{"mode": apply|clip|ignore, "min_score": x}, ...], "upper_bounds": [{"mode": ..., "max_score": x}, ...]}},
  "combination": {"technique": arithmetic_mean|geometric_mean|harmonic_mean, "parameters": {"weights": [...]}}}``
  in ``phase_results_processors``; bounds only with min_max, one per sub-query, scores in [-10000, 10000];
  weights in [0, 1], sum 1; z_score only with arithmetic_mean.
- score-ranker-processor: ``{"combination": {"technique": "rrf", "rank_constant": 60, "parameters":
  {"weights": [...]}}}`` (rank_constant in [1, 10000]).
- hybrid_score_explanation (2.19+): a response processor ``{"hybrid_score_explanation": {}}``. A search with
  ``explain=true`` needs it in its pipeline to return the normalization/combination details per hit; without
  ``explain=true`` it does nothing. Every pipeline mrs renders for deployment carries it (with_explanation);
  the blend bodies calibrate writes (calibration.pipeline.json) hold only the phase results processor.

The calibration a renderer deploys is read by mrs.blending (the calibration.json format owner) and handed to
the renderers as a mrs.deployment.Deployment.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from mrs.engine import techniques
from mrs.engine.techniques.base import NORMALIZATION_PROCESSOR, SCORE_RANKER_PROCESSOR
from mrs.engine.techniques.min_max import DEFAULT_LOWER_BOUND_SCORE, DEFAULT_UPPER_BOUND_SCORE, ScoreBound
from mrs.engine.techniques.rrf import DEFAULT_RANK_CONSTANT, MAX_RANK_CONSTANT, MIN_RANK_CONSTANT
from mrs.errors import InputError

NORMALIZATION_TECHNIQUES = techniques.names(techniques.NORMALIZATION, techniques.OPENSEARCH)
COMBINATION_TECHNIQUES = techniques.names(techniques.COMBINATION, techniques.OPENSEARCH)
EXPLANATION_PROCESSOR = "hybrid_score_explanation"


def _check_weights(weights: Sequence[float], n: int, what: str) -> list[float]:
    ws = [float(w) for w in weights]
    if len(ws) != n:
        raise InputError(f"{what}: {len(ws)} weights for {n} sub-queries")
    if any(not 0.0 <= w <= 1.0 for w in ws):
        raise InputError(f"{what}: weights must lie in [0, 1] (got {ws})")
    if abs(sum(ws) - 1.0) > 0.01:
        raise InputError(f"{what}: weights must sum to 1 (± 0.01), got {sum(ws):g}")
    return ws


def _bounds_json(bounds: Sequence[Mapping[str, Any] | None], n: int, name: str, score_key: str,
                default: float) -> list[dict[str, Any]]:
    """Checked bound entries ({"mode", score_key}) for a min_max ``lower_bounds`` / ``upper_bounds`` list: one
    per sub-query, None → ignore; mode and score checked as OpenSearch does (mrs.engine.techniques.min_max)."""
    if isinstance(bounds, (str, bytes, Mapping)) or not isinstance(bounds, Sequence):
        raise InputError(f"{name} must be a list, one entry per sub-query")
    if len(bounds) != n:
        raise InputError(f"{len(bounds)} {name} for {n} sub-queries")
    out = []
    for b in bounds:
        if b is None:
            out.append({"mode": "ignore"})
            continue
        if not isinstance(b, Mapping):
            raise InputError(f"each of {name} must be an object {{\"mode\", \"{score_key}\"}}")
        try:
            score = float(b.get(score_key, default))
        except (TypeError, ValueError):
            raise InputError(f"{name} {score_key} must be a number, got {b.get(score_key)!r}") from None
        out.append(ScoreBound(b.get("mode", "apply"), score).to_json(score_key))
    return out


def normalization_pipeline(
    technique: str = techniques.DEFAULT_NORMALIZATION,
    combination: str = techniques.DEFAULT_COMBINATION,
    weights: Sequence[float] = techniques.DEFAULT_WEIGHTS,
    lower_bounds: Sequence[Mapping[str, Any] | None] | None = None,
    *,
    upper_bounds: Sequence[Mapping[str, Any] | None] | None = None,
    explain: bool = True,
    description: str = "mrs hybrid: normalization-processor",
) -> dict[str, Any]:
    """A search pipeline with one normalization-processor (and the hybrid_score_explanation response processor).

    weights: one per sub-query, in the hybrid query's order (lexical first, dense second by default).
    lower_bounds / upper_bounds: one per sub-query, each {"mode": apply|clip|ignore, "min_score" /
    "max_score": x} or None (→ ignore); min_max only. explain: add the hybrid_score_explanation response
    processor. InputError for what OpenSearch rejects.
    """
    if technique not in NORMALIZATION_TECHNIQUES:
        raise InputError(f"normalization technique {technique!r}: expected one of {', '.join(NORMALIZATION_TECHNIQUES)}")
    if combination not in COMBINATION_TECHNIQUES:
        raise InputError(f"combination technique {combination!r}: expected one of {', '.join(COMBINATION_TECHNIQUES)}")
    pairs = techniques.TECHNIQUES[technique].pairs_with
    if pairs is not None and combination not in pairs:
        raise InputError(f"{technique} normalization works only with {' / '.join(pairs)} combination")
    ws = _check_weights(weights, len(weights), NORMALIZATION_PROCESSOR)
    normalization: dict[str, Any] = {"technique": technique}
    parameters: dict[str, Any] = {}
    for name, bounds, key, default in (("lower_bounds", lower_bounds, "min_score", DEFAULT_LOWER_BOUND_SCORE),
                                       ("upper_bounds", upper_bounds, "max_score", DEFAULT_UPPER_BOUND_SCORE)):
        if bounds is None:
            continue
        if name not in techniques.support(technique, techniques.OPENSEARCH).parameters:
            raise InputError(f"{name} apply only to min_max normalization")
        parameters[name] = _bounds_json(bounds, len(ws), name, key, default)
    if parameters:
        normalization["parameters"] = parameters
    body: dict[str, Any] = {
        "description": description,
        "phase_results_processors": [
            {NORMALIZATION_PROCESSOR: {
                "normalization": normalization,
                "combination": {"technique": combination, "parameters": {"weights": ws}},
            }}
        ],
    }
    if explain:
        body["response_processors"] = [{EXPLANATION_PROCESSOR: {}}]
    return body


def rrf_pipeline(
    weights: Sequence[float] | None = None,
    rank_constant: int = DEFAULT_RANK_CONSTANT,
    *,
    explain: bool = True,
    description: str = "mrs hybrid: score-ranker-processor (RRF)",
) -> dict[str, Any]:
    """A search pipeline with the score-ranker-processor (reciprocal rank fusion), the rank-based alternative.

    Score = Σ wᵢ / (rank_constant + rankᵢ). weights: one per sub-query (None → equal).
    """
    if not MIN_RANK_CONSTANT <= int(rank_constant) <= MAX_RANK_CONSTANT:
        raise InputError(f"rank_constant must be in [{MIN_RANK_CONSTANT}, {MAX_RANK_CONSTANT}] (got {rank_constant})")
    combination: dict[str, Any] = {"technique": "rrf", "rank_constant": int(rank_constant)}
    if weights is not None:
        combination["parameters"] = {"weights": _check_weights(weights, len(weights), SCORE_RANKER_PROCESSOR)}
    body: dict[str, Any] = {
        "description": description,
        "phase_results_processors": [{SCORE_RANKER_PROCESSOR: {"combination": combination}}],
    }
    if explain:
        body["response_processors"] = [{EXPLANATION_PROCESSOR: {}}]
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
    if name == NORMALIZATION_PROCESSOR:
        norm = conf.get("normalization", {}) or {}
        comb = conf.get("combination", {}) or {}
        ws = (comb.get("parameters") or {}).get("weights")
        params = norm.get("parameters") or {}
        n = n_subqueries or (len(ws) if ws else 2)
        normalization_pipeline(norm.get("technique", techniques.DEFAULT_NORMALIZATION),
                               comb.get("technique", techniques.DEFAULT_COMBINATION),
                               ws if ws is not None else [1.0 / n] * n, params.get("lower_bounds"),
                               upper_bounds=params.get("upper_bounds"))
    elif name == SCORE_RANKER_PROCESSOR:
        comb = conf.get("combination", {}) or {}
        if comb.get("technique", techniques.RRF) != techniques.RRF:
            raise InputError(f"score-ranker-processor technique {comb.get('technique')!r}: only rrf exists")
        rrf_pipeline((comb.get("parameters") or {}).get("weights"), comb.get("rank_constant", DEFAULT_RANK_CONSTANT))
    else:
        raise InputError(f"unsupported phase results processor {name!r} "
                         f"(expected {NORMALIZATION_PROCESSOR} or {SCORE_RANKER_PROCESSOR})")
    return json.loads(json.dumps(body))


def pipeline_weights(body: Mapping[str, Any]) -> list[float] | None:
    """The weights list of a pipeline body (None when not set)."""
    proc = body["phase_results_processors"][0]
    conf = next(iter(proc.values()))
    return (conf.get("combination", {}).get("parameters") or {}).get("weights")


def default_pipeline() -> dict[str, Any]:
    """min_max + arithmetic_mean, weights lexical 0.7 / dense 0.3, with the explanation processor."""
    return normalization_pipeline()


def with_explanation(body: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a pipeline body with the hybrid_score_explanation response processor (once), so a deployed
    pipeline answers ``explain=true`` (see module doc)."""
    out = json.loads(json.dumps(body))
    processors = list(out.get("response_processors") or [])
    if not any(isinstance(p, Mapping) and EXPLANATION_PROCESSOR in p for p in processors):
        processors.append({EXPLANATION_PROCESSOR: {}})
    out["response_processors"] = processors
    return out
