"""What a template renderer deploys: the calibrated blend, the dense thresholds per level and the facts of the
index they were fitted on — the part of calibration.json that ``mrs templates render`` turns into an OpenSearch
(mrs.opensearch.templates) or Elasticsearch (mrs.elasticsearch.templates) template set.

calibration.json has one reader, its format owner mrs.blending.calibration; mrs.blending.deployment derives a
``Deployment`` from it and the renderers take that object as an argument. It lives here, below opensearch/ and
elasticsearch/, because renderers may not import blending/ (rooms: … → engine → opensearch/elasticsearch →
eval/blending → cli) and neither backend may import the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mrs.errors import InputError

DEFAULT_SUBQUERIES = ("lexical", "dense")


@dataclass
class Deployment:
    """A calibrated blend to deploy (all but ``pipeline`` optional).

    pipeline: the chosen blend as an OpenSearch search-pipeline body. subqueries: sub-query names in the
    pipeline's order. rrf_pipeline: the best RRF configuration calibrate found (score-ranker body), None when
    not recorded. thresholds: {level: dense k-NN score threshold}, reachable ones only. levels: level names
    low → high. space_type / similarity / dimension: of the index the calibration ran on. source: the
    calibration file (None: defaults). target: the deployment target the blend was fitted for (None: not
    recorded, i.e. opensearch). ranking: the best configuration of each blend family, best first ({"name",
    "train", "dev", "family", "pipeline"}), where a renderer for another target picks the best one it can run.
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
