"""What a technique module declares: the deployment targets, the kinds of technique, and the two records
every technique module fills in (``Technique`` and, per target, ``Support``).

A technique module (mrs.engine.techniques.min_max, ...) holds the scoring functions of each target's semantics
and one ``TECHNIQUE = Technique(...)`` naming them; mrs.engine.techniques lists the modules.

Function shapes (what readers call, per kind):
- normalization ``Support.normalize(scores, **parameters)``: one sub-query's raw scores, in rank order (best
  first) → float32 normalized scores, same order;
- combination ``Support.combine(matrix, weight_matrix)``: (n_docs × n_subqueries) normalized scores, NaN where
  a sub-query did not return the document, and (n_weight_vectors × n_subqueries) weights → float32
  (n_weight_vectors × n_docs) combined scores;
- fusion (rank-based) ``Support.normalize(n, rank_constant)``: float32[n] scores of ranks 1..n, and
  ``Support.combine`` as a combination's, over those rank scores.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

OPENSEARCH = "opensearch"
ELASTICSEARCH = "elasticsearch"
TARGETS = (OPENSEARCH, ELASTICSEARCH)
"""Deployment targets, in the order ``--target`` lists them; the first is the default."""
DEFAULT_TARGET = OPENSEARCH
TARGET_LABELS = {OPENSEARCH: "OpenSearch", ELASTICSEARCH: "Elasticsearch"}

NORMALIZATION = "normalization"
COMBINATION = "combination"
FUSION = "fusion"
KINDS = (NORMALIZATION, COMBINATION, FUSION)

NORMALIZATION_PROCESSOR = "normalization-processor"
SCORE_RANKER_PROCESSOR = "score-ranker-processor"
LINEAR_RETRIEVER = "linear retriever"
RRF_RETRIEVER = "rrf retriever"


@dataclass(frozen=True)
class Support:
    """How one target runs a technique. name: the target's own name for it; where: the target's construct
    that runs it (processor or retriever); since: first release (None: not recorded); parameters: {parameter
    name on that target: first release accepting it (None: not recorded)}; normalize / combine: the scoring
    functions with that target's semantics (module doc for their shapes; None where the kind has none)."""

    name: str
    where: str
    since: str | None = None
    parameters: Mapping[str, str | None] = field(default_factory=dict)
    normalize: Callable | None = None
    combine: Callable | None = None


@dataclass(frozen=True)
class Technique:
    """One technique. name: mrs's (OpenSearch's) name; kind: normalization | combination | fusion;
    reference: the documentation and source its formulas follow; targets: {target: Support} for the targets
    that can run it; pairs_with: the only combinations a normalization may be used with (None: any)."""

    name: str
    kind: str
    reference: str
    targets: Mapping[str, Support]
    pairs_with: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"technique {self.name!r}: unknown kind {self.kind!r}")
        unknown = set(self.targets) - set(TARGETS)
        if unknown:
            raise ValueError(f"technique {self.name!r}: unknown targets {sorted(unknown)}")

    def runs_on(self, target: str) -> bool:
        return target in self.targets
