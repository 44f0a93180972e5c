"""The technique registry: every score normalization, combination and rank-fusion technique a hybrid blend can
use, what each deployment target calls it, from which version it runs there, and which of its parameters the
target accepts — the one place that says which blends OpenSearch and Elasticsearch can run.

Readers: the blend grid (mrs.blending.grid: which families ``mrs calibrate --target`` searches), the
Elasticsearch retriever translation (mrs.engine.linear_retriever.linear_from_pipeline), the renderers
(``mrs templates render --target``) and the pipeline validation (z_score pairs only with arithmetic_mean). The
embedded engine runs every technique, with each target's semantics (mrs.engine.normalization /
combination / rrf for OpenSearch, mrs.engine.linear_retriever for Elasticsearch).

Names are OpenSearch's where OpenSearch has the technique (``min_max``, ``l2``, ``z_score``, ``arithmetic_mean``,
``geometric_mean``, ``harmonic_mean``, ``rrf``); ``none`` is Elasticsearch's identity normalizer. ``since`` is
the first release that runs the technique (or parameter) as that release's documentation or changelog says;
None where mrs has not recorded it.

References: OpenSearch "Normalization processor" (introduced 2.10) and "Score ranker processor" (introduced
2.19; ``weights`` since 3.1, opensearch-project/documentation-website#9922); Elasticsearch "Linear retriever"
(normalizers ``minmax``, ``l2_norm``, ``none``; 8.18) and "RRF retriever" (8.16; per-retriever ``weight``
since 9.2, elastic/elasticsearch#130658, docs #137380).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

OPENSEARCH = "opensearch"
ELASTICSEARCH = "elasticsearch"
TARGETS = (OPENSEARCH, ELASTICSEARCH)
"""Deployment targets, in the order ``--target`` lists them; the first is the default."""
DEFAULT_TARGET = OPENSEARCH

NORMALIZATION = "normalization"
COMBINATION = "combination"
FUSION = "fusion"
TARGET_LABELS = {OPENSEARCH: "OpenSearch", ELASTICSEARCH: "Elasticsearch"}


@dataclass(frozen=True)
class Support:
    """How one target runs a technique. name: the target's own name for it; since: first release (None: not
    recorded); parameters: {parameter name on that target: first release accepting it (None: not recorded)};
    where: the target's construct that runs it (processor or retriever)."""

    name: str
    where: str
    since: str | None = None
    parameters: Mapping[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Technique:
    """One technique. name: mrs's (OpenSearch's) name; kind: normalization | combination | fusion;
    targets: {target: Support} for the targets that can run it; pairs_with: the only combinations a
    normalization may be used with (None: any); reference: the source of its formula in mrs."""

    name: str
    kind: str
    reference: str
    targets: Mapping[str, Support]
    pairs_with: tuple[str, ...] | None = None

    def runs_on(self, target: str) -> bool:
        return target in self.targets


_NP = "normalization-processor"
_LINEAR = "linear retriever"

TECHNIQUES: dict[str, Technique] = {t.name: t for t in (
    Technique("min_max", NORMALIZATION, "mrs.engine.normalization.min_max / linear_retriever.minmax", {
        OPENSEARCH: Support("min_max", _NP, "2.10", {"lower_bounds": None, "upper_bounds": None}),
        ELASTICSEARCH: Support("minmax", _LINEAR, "8.18"),
    }),
    Technique("l2", NORMALIZATION, "mrs.engine.normalization.l2 / linear_retriever.l2_norm", {
        OPENSEARCH: Support("l2", _NP, "2.10"),
        ELASTICSEARCH: Support("l2_norm", _LINEAR, "8.18"),
    }),
    Technique("z_score", NORMALIZATION, "mrs.engine.normalization.z_score", {
        OPENSEARCH: Support("z_score", _NP),
    }, pairs_with=("arithmetic_mean",)),
    Technique("none", NORMALIZATION, "mrs.engine.linear_retriever.identity", {
        ELASTICSEARCH: Support("none", _LINEAR, "8.18"),
    }),
    Technique("arithmetic_mean", COMBINATION, "mrs.engine.combination.arithmetic_mean / linear_retriever", {
        OPENSEARCH: Support("arithmetic_mean", _NP, "2.10", {"weights": "2.10"}),
        # Σ wᵢ·normᵢ over the retrievers that returned the doc = OpenSearch's mean when Σ w = 1
        ELASTICSEARCH: Support("linear", _LINEAR, "8.18", {"weight": "8.18"}),
    }),
    Technique("geometric_mean", COMBINATION, "mrs.engine.combination.geometric_mean", {
        OPENSEARCH: Support("geometric_mean", _NP, "2.10", {"weights": "2.10"}),
    }),
    Technique("harmonic_mean", COMBINATION, "mrs.engine.combination.harmonic_mean", {
        OPENSEARCH: Support("harmonic_mean", _NP, "2.10", {"weights": "2.10"}),
    }),
    Technique("rrf", FUSION, "mrs.engine.rrf / linear_retriever.rrf_scores", {
        OPENSEARCH: Support("rrf", "score-ranker-processor", "2.19", {"rank_constant": "2.19", "weights": "3.1"}),
        ELASTICSEARCH: Support("rrf", "rrf retriever", "8.16", {"rank_constant": "8.16", "weight": "9.2"}),
    }),
)}


def technique(name: str) -> Technique:
    """The registered technique ``name``; KeyError naming the known ones."""
    if name not in TECHNIQUES:
        raise KeyError(f"unknown technique {name!r} (known: {', '.join(TECHNIQUES)})")
    return TECHNIQUES[name]


def names(kind: str, target: str | None = None) -> tuple[str, ...]:
    """Technique names of one kind, in registry order; only those ``target`` runs when given."""
    return tuple(t.name for t in TECHNIQUES.values() if t.kind == kind and (target is None or t.runs_on(target)))


def check_target(target: str) -> str:
    """``target`` when it is a known deployment target, else ValueError listing them."""
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r} (expected one of {', '.join(TARGETS)})")
    return target


def blend_unsupported(target: str, normalization: str | None, combination: str, *, bounded: bool = False,
                      weighted: bool = False) -> str | None:
    """Why ``target`` cannot run a blend, or None when it can.

    normalization: a normalization technique (None or "rrf" for rank fusion); combination: a combination
    technique or "rrf"; bounded: min_max carries lower/upper bounds that are not all ``ignore``; weighted: the
    sub-queries' weights differ (matters for rrf only). The reason is one line naming the target's construct.
    """
    label = TARGET_LABELS[check_target(target)]
    if combination == "rrf" or normalization == "rrf":
        fusion = TECHNIQUES["rrf"]
        if not fusion.runs_on(target):
            return f"{label} has no rrf"
        support = fusion.targets[target]
        weight_param = "weights" if target == OPENSEARCH else "weight"
        if weighted and weight_param not in support.parameters:
            return f"{label}'s {support.where} has no per-retriever weights"
        return None
    norm = TECHNIQUES.get(normalization or "")
    comb = TECHNIQUES.get(combination)
    if norm is None or norm.kind != NORMALIZATION:
        return f"unknown normalization technique {normalization!r}"
    if comb is None or comb.kind != COMBINATION:
        return f"unknown combination technique {combination!r}"
    if not comb.runs_on(target):
        where = TECHNIQUES["arithmetic_mean"].targets.get(target)
        construct = where.where if where else "hybrid search"
        return f"{label}'s {construct} is a weighted sum; {combination} has no equivalent"
    if not norm.runs_on(target):
        known = ", ".join(TECHNIQUES[n].targets[target].name for n in names(NORMALIZATION, target))
        return f"{label}'s {comb.targets[target].where} has no {normalization} normalizer ({known})"
    if norm.pairs_with is not None and combination not in norm.pairs_with:
        return f"{normalization} normalization can only be used with {' / '.join(norm.pairs_with)}"
    if bounded and "lower_bounds" not in norm.targets[target].parameters:
        return f"{label}'s {norm.targets[target].name} normalizer has no lower/upper score bounds"
    return None


def version_notes(target: str, fusion: bool, weighted: bool) -> list[str]:
    """What a deployed blend needs of the target's version (lines for rendered output and docs)."""
    label = TARGET_LABELS[check_target(target)]
    if fusion:
        support = TECHNIQUES["rrf"].targets[target]
        param = "weights" if target == OPENSEARCH else "weight"
        if weighted:
            return [f"weighted rrf needs {label} ≥ {support.parameters[param]} ({support.where} [{param}])"]
        return [f"rrf needs {label} ≥ {support.since} ({support.where})"]
    support = TECHNIQUES["arithmetic_mean"].targets[target]
    return [f"needs {label} ≥ {support.since} ({support.where})"]
