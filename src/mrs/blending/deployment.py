"""calibration.json → the ``Deployment`` a template renderer takes (mrs.deployment): the chosen blend, the best
RRF configuration, the per-family ranking, the reachable dense thresholds and the index facts.

The file is read by its one reader (mrs.blending.calibration.read_calibration / Calibration.from_dict, format
``mrs-calibration/1``, docs/calibration-format.md); this module only derives the renderers' view from it and
checks the pipeline bodies it carries (mrs.opensearch.pipelines.check_pipeline), naming the file and key when
one is not a valid blend. Missing keys → the defaults: min_max + arithmetic_mean, lexical 0.7 / dense 0.3 (equal
weights for other sub-queries), no thresholds.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

from mrs.blending.calibration import Calibration, read_calibration
from mrs.deployment import DEFAULT_SUBQUERIES, Deployment
from mrs.engine.techniques import DEFAULT_COMBINATION, DEFAULT_NORMALIZATION, DEFAULT_WEIGHTS
from mrs.errors import InputError
from mrs.opensearch.pipelines import check_pipeline, normalization_pipeline


def _checked(body: Any, n_subqueries: int, key: str, source: str | None) -> dict[str, Any]:
    try:
        return check_pipeline(body, n_subqueries)
    except InputError as e:
        raise InputError(f"{key}: {e.message}", path=source) from None


def deployment(calibration: Calibration) -> Deployment:
    """The renderers' view of a calibration (module doc). InputError (with the file) when a pipeline body it
    carries is not a valid blend."""
    blend = calibration.blend
    source = calibration.source
    subqueries = list(blend.get("subqueries") or DEFAULT_SUBQUERIES)
    n = len(subqueries)
    pipeline = blend.get("pipeline")
    if pipeline is None:
        weights = DEFAULT_WEIGHTS if tuple(subqueries) == DEFAULT_SUBQUERIES else [1.0 / n] * n
        pipeline = normalization_pipeline(DEFAULT_NORMALIZATION, DEFAULT_COMBINATION, weights)
    else:
        pipeline = _checked(pipeline, n, "blend.pipeline", source)
    rrf = (blend.get("rrf_best") or {}).get("pipeline")
    if rrf is not None:
        rrf = _checked(rrf, n, "blend.rrf_best.pipeline", source)
    dimension = calibration.model.get("dimension")
    target = blend.get("target")
    return Deployment(
        pipeline=pipeline,
        subqueries=subqueries,
        rrf_pipeline=rrf,
        thresholds={level: float(t.threshold) for level, t in calibration.thresholds.items()
                    if t.threshold is not None and math.isfinite(t.threshold)},
        levels=list(calibration.scheme.levels),
        space_type=calibration.index.get("space_type"),
        similarity=calibration.index.get("similarity"),
        dimension=int(dimension) if isinstance(dimension, int) else None,
        source=source,
        target=target if isinstance(target, str) else None,
        ranking=[dict(r) for r in blend.get("ranking") or [] if isinstance(r, Mapping) and "pipeline" in r],
    )


def deployment_from_dict(data: Mapping[str, Any], source: str | None = None) -> Deployment:
    """The Deployment of a parsed calibration.json object (read by Calibration.from_dict)."""
    return deployment(Calibration.from_dict(data, source=source))


def read_deployment(path: str | os.PathLike | None) -> Deployment:
    """calibration.json → Deployment; None → all defaults. InputError naming the file (and line) when it is
    unreadable, malformed or carries an invalid blend."""
    if path is None:
        return deployment_from_dict({})
    return deployment(read_calibration(path))
