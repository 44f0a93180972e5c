"""OpenSearch search-pipeline JSON bodies ↔ ``HybridPipeline`` (what the embedded engine combines with).

Users deploy a pipeline to their cluster with ``PUT /_search/pipeline/<name>`` and a body such as::

    {"description": "...",
     "phase_results_processors": [{"normalization-processor": {
         "normalization": {"technique": "min_max",
                           "parameters": {"lower_bounds": [{"mode": "apply", "min_score": 0.1}, ...]}},
         "combination": {"technique": "arithmetic_mean", "parameters": {"weights": [0.7, 0.3]}}}}],
     "response_processors": [{"hybrid_score_explanation": {}}]}

or, for rank fusion, ``{"score-ranker-processor": {"combination": {"technique": "rrf", "rank_constant": 60,
"parameters": {"weights": [0.7, 0.3]}}}}``. ``parse_pipeline`` reads the same body (so the file a user tests
locally is the file they deploy) and rejects what OpenSearch rejects, with an InputError naming the problem:
unknown processor or technique, unknown parameter, weights outside [0, 1] / not summing to 1 ± 0.01 / not one
per sub-query, bounds count or value out of range, z_score with a combination other than arithmetic_mean,
rank_constant outside [1, 10000], more than 5 sub-queries. Processors the embedded engine cannot run
(request processors, response processors other than hybrid_score_explanation) are rejected, never ignored.

Docs: https://opensearch.org/docs/latest/search-plugins/search-pipelines/normalization-processor/,
.../score-ranker-processor/, .../explanation-processor/ (hybrid_score_explanation),
https://opensearch.org/docs/latest/query-dsl/compound/hybrid/ (at most 5 sub-queries).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mrs.engine import techniques
from mrs.engine.techniques import (
    COMBINATION,
    DEFAULT_COMBINATION,
    DEFAULT_NORMALIZATION,
    DEFAULT_WEIGHTS,
    NORMALIZATION,
    OPENSEARCH,
    RRF,
    TECHNIQUES,
)
from mrs.engine.techniques.base import NORMALIZATION_PROCESSOR, SCORE_RANKER_PROCESSOR
from mrs.engine.techniques.min_max import DEFAULT_LOWER_BOUND_SCORE, DEFAULT_UPPER_BOUND_SCORE, ScoreBound
from mrs.engine.techniques.rrf import DEFAULT_RANK_CONSTANT, validate_rank_constant
from mrs.engine.techniques.weights import validate_weights
from mrs.errors import InputError, read_json

MAX_SUBQUERIES = 5
EXPLANATION_PROCESSOR = "hybrid_score_explanation"

_PROCESSOR_COMMON_KEYS = {"tag", "description", "ignore_failure"}


@dataclass(frozen=True)
class HybridPipeline:
    """How hybrid sub-query results are normalized and combined.

    normalization: "min_max" | "l2" | "z_score" | "rrf" (rrf = the score-ranker-processor's rank scores).
    combination: "arithmetic_mean" | "geometric_mean" | "harmonic_mean" | "rrf".
    weights: one per sub-query (None → 1.0 each). lower_bounds / upper_bounds: min_max only, one ScoreBound
    per sub-query (None → no bounds). rank_constant: rrf only. explanation: the pipeline had a
    hybrid_score_explanation response processor. description: the body's description, kept for round trips.
    """

    normalization: str = DEFAULT_NORMALIZATION
    combination: str = DEFAULT_COMBINATION
    weights: tuple[float, ...] | None = None
    lower_bounds: tuple[ScoreBound, ...] | None = None
    upper_bounds: tuple[ScoreBound, ...] | None = None
    rank_constant: int = DEFAULT_RANK_CONSTANT
    explanation: bool = False
    description: str | None = None

    @property
    def processor(self) -> str:
        return SCORE_RANKER_PROCESSOR if self.normalization == RRF else NORMALIZATION_PROCESSOR

    def validate(self, n_subqueries: int) -> None:
        """InputError unless this pipeline can combine ``n_subqueries`` sub-queries as OpenSearch would."""
        if not 1 <= n_subqueries <= MAX_SUBQUERIES:
            raise InputError(f"a hybrid query takes 1 to {MAX_SUBQUERIES} sub-queries, got {n_subqueries}")
        if self.normalization == RRF:
            if self.combination != RRF:
                raise InputError("score-ranker-processor supports only the rrf combination technique")
            validate_rank_constant(self.rank_constant)
        else:
            _check_technique(self.normalization, NORMALIZATION)
            _check_technique(self.combination, COMBINATION)
            pairs = TECHNIQUES[self.normalization].pairs_with  # the registry: z_score → arithmetic_mean only
            if pairs is not None and self.combination not in pairs:
                raise InputError(f"{self.normalization} normalization can only be used with the "
                                 f"{' / '.join(pairs)} combination")
        if (self.lower_bounds or self.upper_bounds) and self.normalization != "min_max":
            raise InputError("lower_bounds and upper_bounds are parameters of the min_max technique only")
        for name, bounds in (("lower_bounds", self.lower_bounds), ("upper_bounds", self.upper_bounds)):
            if bounds is not None and len(bounds) != n_subqueries:
                raise InputError(
                    f"expected {name} to contain {n_subqueries} elements matching the number of sub-queries,"
                    f" found {len(bounds)}"
                )
        if self.weights is not None:
            validate_weights(list(self.weights), n_subqueries)


def _check_technique(name: str, kind: str) -> str:
    """``name`` when OpenSearch's normalization-processor runs it as a ``kind`` technique (the registry), else
    InputError listing those it runs."""
    known = techniques.names(kind, OPENSEARCH)
    if name not in known:
        raise InputError(f"provided {kind} technique [{name}] is not supported (expected one of {', '.join(known)})")
    return name


def default_pipeline() -> HybridPipeline:
    """min_max + arithmetic_mean, weights 0.7 lexical / 0.3 dense (sub-query order: lexical, dense)."""
    return HybridPipeline(DEFAULT_NORMALIZATION, DEFAULT_COMBINATION, DEFAULT_WEIGHTS)


def _expect_dict(value: Any, where: str) -> dict:
    if not isinstance(value, dict):
        raise InputError(f"{where} must be a JSON object, got {type(value).__name__}")
    return value


def _check_keys(obj: dict, allowed: set[str], where: str) -> None:
    unknown = sorted(set(obj) - allowed)
    if unknown:
        raise InputError(f"unknown parameter [{unknown[0]}] in {where} (supported: {', '.join(sorted(allowed))})")


def _parse_bounds(raw: Any, name: str) -> tuple[ScoreBound, ...]:
    if not isinstance(raw, list):
        raise InputError(f"{name} must be a List")
    if len(raw) > MAX_SUBQUERIES:
        raise InputError(f"{name} size {len(raw)} should be less than or equal to {MAX_SUBQUERIES}")
    score_key = "min_score" if name == "lower_bounds" else "max_score"
    default = DEFAULT_LOWER_BOUND_SCORE if name == "lower_bounds" else DEFAULT_UPPER_BOUND_SCORE
    out = []
    for item in raw:
        if not isinstance(item, dict):
            raise InputError("each bound must be a map")
        _check_keys(item, {"mode", score_key}, name)
        mode = item.get("mode") or "apply"
        if not isinstance(mode, str):
            raise InputError(f"invalid mode: {mode!r}, valid values are: apply, clip, ignore")
        score = item.get(score_key, default)
        try:
            score = float(score)
        except (TypeError, ValueError):
            raise InputError(f"invalid format for {score_key}: must be a valid float value") from None
        out.append(ScoreBound(mode.lower(), score))
    return tuple(out)


def _parameters(technique: str) -> set[str]:
    """The ``parameters`` keys OpenSearch accepts for ``technique`` (the registry's Support.parameters)."""
    return set(TECHNIQUES[technique].targets[OPENSEARCH].parameters)


def _parse_weights(params: dict, where: str) -> tuple[float, ...] | None:
    if "weights" not in params:
        return None
    weights = validate_weights(params["weights"])
    return tuple(weights) if weights is not None else None


def _parse_normalization_processor(proc: dict) -> dict:
    _check_keys(proc, {"normalization", "combination"} | _PROCESSOR_COMMON_KEYS, NORMALIZATION_PROCESSOR)
    norm = _expect_dict(proc.get("normalization", {}), "normalization")
    _check_keys(norm, {"technique", "parameters"}, "normalization")
    technique = _check_technique(norm.get("technique", DEFAULT_NORMALIZATION), NORMALIZATION)
    params = _expect_dict(norm.get("parameters", {}) or {}, "normalization.parameters")
    _check_keys(params, _parameters(technique), f"{technique} parameters")
    lower = _parse_bounds(params["lower_bounds"], "lower_bounds") if "lower_bounds" in params else None
    upper = _parse_bounds(params["upper_bounds"], "upper_bounds") if "upper_bounds" in params else None
    comb = _expect_dict(proc.get("combination", {}), "combination")
    _check_keys(comb, {"technique", "parameters"}, "combination")
    combination = _check_technique(comb.get("technique", DEFAULT_COMBINATION), COMBINATION)
    cparams = _expect_dict(comb.get("parameters", {}) or {}, "combination.parameters")
    _check_keys(cparams, _parameters(combination), "combination parameters")
    return {
        "normalization": technique,
        "combination": combination,
        "weights": _parse_weights(cparams, "combination"),
        "lower_bounds": lower,
        "upper_bounds": upper,
    }


def _parse_score_ranker(proc: dict) -> dict:
    _check_keys(proc, {"combination"} | _PROCESSOR_COMMON_KEYS, SCORE_RANKER_PROCESSOR)
    comb = _expect_dict(proc.get("combination", {}), "combination")
    _check_keys(comb, {"technique", "rank_constant", "parameters"}, "combination")
    technique = comb.get("technique", RRF)
    if technique != RRF:
        raise InputError(f"provided combination technique [{technique}] is not supported by {SCORE_RANKER_PROCESSOR} (rrf)")
    rank_constant = validate_rank_constant(comb.get("rank_constant", DEFAULT_RANK_CONSTANT))
    cparams = _expect_dict(comb.get("parameters", {}) or {}, "combination.parameters")
    _check_keys(cparams, {"weights"}, "rrf parameters")
    return {"normalization": RRF, "combination": RRF, "weights": _parse_weights(cparams, "rrf"),
            "rank_constant": rank_constant}


def parse_pipeline(body: Any, n_subqueries: int = 2) -> HybridPipeline:
    """Parse an OpenSearch search-pipeline body into a HybridPipeline valid for ``n_subqueries`` sub-queries.

    Accepts the whole pipeline body (``phase_results_processors`` …) or, as a convenience, a bare processor
    object ({"normalization-processor": {...}}). Raises InputError naming the first problem found.
    """
    body = _expect_dict(body, "search pipeline")
    if NORMALIZATION_PROCESSOR in body or SCORE_RANKER_PROCESSOR in body:
        body = {"phase_results_processors": [body]}
    _check_keys(
        body,
        {"description", "version", "phase_results_processors", "response_processors", "request_processors"},
        "search pipeline",
    )
    if body.get("request_processors"):
        raise InputError("request_processors are not supported by the embedded engine")
    phase = body.get("phase_results_processors")
    if not isinstance(phase, list) or len(phase) != 1:
        raise InputError(
            "search pipeline needs exactly one phase_results_processors entry"
            f" ({NORMALIZATION_PROCESSOR} or {SCORE_RANKER_PROCESSOR})"
        )
    entry = _expect_dict(phase[0], "phase_results_processors[0]")
    if len(entry) != 1:
        raise InputError("each phase_results_processors entry must name exactly one processor")
    (name, proc), = entry.items()
    proc = _expect_dict(proc, name)
    if name == NORMALIZATION_PROCESSOR:
        fields = _parse_normalization_processor(proc)
    elif name == SCORE_RANKER_PROCESSOR:
        fields = _parse_score_ranker(proc)
    else:
        raise InputError(
            f"unknown phase results processor [{name}] (expected {NORMALIZATION_PROCESSOR} or {SCORE_RANKER_PROCESSOR})"
        )
    explanation = False
    response = body.get("response_processors") or []
    if not isinstance(response, list):
        raise InputError("response_processors must be a list")
    for item in response:
        item = _expect_dict(item, "response_processors entry")
        for rname, rconf in item.items():
            if rname != EXPLANATION_PROCESSOR:
                raise InputError(f"response processor [{rname}] is not supported by the embedded engine")
            _check_keys(_expect_dict(rconf or {}, rname), _PROCESSOR_COMMON_KEYS, rname)
            explanation = True
    description = body.get("description")
    pipeline = HybridPipeline(
        explanation=explanation, description=description if isinstance(description, str) else None, **fields
    )
    pipeline.validate(n_subqueries)
    return pipeline


def load_pipeline(path: str | Path, n_subqueries: int = 2) -> HybridPipeline:
    """Read a pipeline JSON file (the file a user deploys); InputError with file and line when malformed."""
    path = Path(path)
    body = read_json(path, "search pipeline")
    try:
        return parse_pipeline(body, n_subqueries)
    except InputError as exc:
        raise InputError(exc.message, path=str(path)) from None


def pipeline_body(pipeline: HybridPipeline) -> dict:
    """The OpenSearch search-pipeline body for ``pipeline`` (inverse of parse_pipeline), ready to PUT."""
    body: dict[str, Any] = {}
    if pipeline.description:
        body["description"] = pipeline.description
    if pipeline.normalization == RRF:
        comb: dict[str, Any] = {"technique": RRF, "rank_constant": pipeline.rank_constant}
        if pipeline.weights is not None:
            comb["parameters"] = {"weights": list(pipeline.weights)}
        body["phase_results_processors"] = [{SCORE_RANKER_PROCESSOR: {"combination": comb}}]
    else:
        norm: dict[str, Any] = {"technique": pipeline.normalization}
        params: dict[str, Any] = {}
        if pipeline.lower_bounds is not None:
            params["lower_bounds"] = [{"mode": b.mode, "min_score": b.score} for b in pipeline.lower_bounds]
        if pipeline.upper_bounds is not None:
            params["upper_bounds"] = [{"mode": b.mode, "max_score": b.score} for b in pipeline.upper_bounds]
        if params:
            norm["parameters"] = params
        comb = {"technique": pipeline.combination}
        if pipeline.weights is not None:
            comb["parameters"] = {"weights": list(pipeline.weights)}
        body["phase_results_processors"] = [{NORMALIZATION_PROCESSOR: {"normalization": norm, "combination": comb}}]
    if pipeline.explanation:
        body["response_processors"] = [{EXPLANATION_PROCESSOR: {}}]
    return body
