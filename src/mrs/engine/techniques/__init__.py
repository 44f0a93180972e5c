"""The technique registry: every score normalization, combination and rank-fusion technique a hybrid blend can
use — one module each, holding its name, parameters and their validation, its scoring functions with each
target's semantics, and which targets (OpenSearch from which version, Elasticsearch) run it. As ranx keeps
one method per module behind one switch, this package is that switch: ``TECHNIQUES`` and the lookups below.

Readers: the embedded engine (mrs.engine.hybrid: OpenSearch's normalize-then-combine; mrs.engine.retriever_combine:
Elasticsearch's linear / rrf retrievers), the pipeline parser (mrs.engine.pipeline: known techniques, their
parameters, z_score's pairing), the blend grid (mrs.blending.grid: which families ``mrs calibrate --target``
searches and the kernels it scores them with), the OpenSearch pipeline renderer (mrs.opensearch.pipelines), the
Elasticsearch retriever translation (mrs.engine.translation) and ``mrs templates render --target``.

Names are OpenSearch's where OpenSearch has the technique (``min_max``, ``l2``, ``z_score``, ``arithmetic_mean``,
``geometric_mean``, ``harmonic_mean``, ``rrf``); ``none`` is Elasticsearch's identity normalizer. ``since`` is
the first release that runs the technique (or parameter) as that release's documentation or changelog says;
None where mrs has not recorded it.

Adding a technique: one module in this package (its functions, each target's ``Support`` and one
``TECHNIQUE``; mrs.engine.techniques.base says the function shapes), its name in ``_MODULES`` below, and its
tests (hand-computed values for each target's function). Every reader picks it up from here.

References: OpenSearch "Normalization processor" (introduced 2.10) and "Score ranker processor" (introduced
2.19; ``weights`` since 3.1, opensearch-project/documentation-website#9922); Elasticsearch "Linear retriever"
(normalizers ``minmax``, ``l2_norm``, ``none``; 8.18) and "RRF retriever" (8.16; per-retriever ``weight``
since 9.2, elastic/elasticsearch#130658, docs #137380).
"""

from __future__ import annotations

from collections.abc import Callable

from mrs.engine.techniques import (
    arithmetic_mean,
    geometric_mean,
    harmonic_mean,
    l2,
    min_max,
    none,
    rrf,
    z_score,
)
from mrs.engine.techniques.base import (
    COMBINATION,
    DEFAULT_TARGET,
    ELASTICSEARCH,
    FUSION,
    NORMALIZATION,
    OPENSEARCH,
    TARGET_LABELS,
    TARGETS,
    Support,
    Technique,
)

__all__ = ["COMBINATION", "DEFAULT_TARGET", "ELASTICSEARCH", "FUSION", "NORMALIZATION", "OPENSEARCH",
           "TARGET_LABELS", "TARGETS", "Support", "Technique", "TECHNIQUES", "COMBINATION_KERNELS",
           "DEFAULT_NORMALIZATION", "DEFAULT_COMBINATION", "DEFAULT_WEIGHTS", "RRF", "technique", "names",
           "support", "named_on", "normalizer", "combiner", "check_target", "blend_unsupported", "version_notes"]

# registry order: normalizations, combinations, fusion (the order --target lists and the grid searches them)
_MODULES = (min_max, l2, z_score, none, arithmetic_mean, geometric_mean, harmonic_mean, rrf)
TECHNIQUES: dict[str, Technique] = {m.TECHNIQUE.name: m.TECHNIQUE for m in _MODULES}
RRF = rrf.TECHNIQUE.name

DEFAULT_NORMALIZATION = "min_max"
DEFAULT_COMBINATION = "arithmetic_mean"
DEFAULT_WEIGHTS = (0.7, 0.3)
"""The project's default blend: min_max + arithmetic_mean, lexical 0.7 / dense 0.3 (sub-query order lexical,
dense); on Elasticsearch the linear retriever with minmax and the same weights."""


def technique(name: str) -> Technique:
    """The registered technique ``name``; KeyError naming the known ones."""
    if name not in TECHNIQUES:
        raise KeyError(f"unknown technique {name!r} (known: {', '.join(TECHNIQUES)})")
    return TECHNIQUES[name]


def names(kind: str, target: str | None = None) -> tuple[str, ...]:
    """Technique names of one kind, in registry order; only those ``target`` runs when given."""
    return tuple(t.name for t in TECHNIQUES.values() if t.kind == kind and (target is None or t.runs_on(target)))


def support(name: str, target: str) -> Support:
    """How ``target`` runs technique ``name``; KeyError naming the technique and target when it cannot."""
    t = technique(name)
    if not t.runs_on(check_target(target)):
        raise KeyError(f"{TARGET_LABELS[target]} has no {name} technique")
    return t.targets[target]


def named_on(target: str, target_name: str, kind: str) -> Technique:
    """The ``kind`` technique ``target`` calls ``target_name`` (Elasticsearch's ``minmax`` → min_max);
    KeyError when the target has none by that name."""
    for t in TECHNIQUES.values():
        if t.kind == kind and t.runs_on(check_target(target)) and t.targets[target].name == target_name:
            return t
    raise KeyError(f"{TARGET_LABELS[target]} has no {kind} technique {target_name!r}")


def normalizer(name: str, target: str = OPENSEARCH) -> Callable:
    """The normalization function of ``name`` with ``target``'s semantics (rrf: its rank-score function)."""
    return support(name, target).normalize


def combiner(name: str, target: str = OPENSEARCH) -> Callable:
    """The combination kernel (matrix, weight_matrix) → (n_w, n_docs) of ``name`` with ``target``'s semantics."""
    return support(name, target).combine


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
    if combination == RRF or normalization == RRF:
        fusion = TECHNIQUES[RRF]
        if not fusion.runs_on(target):
            return f"{label} has no rrf"
        fusion_support = fusion.targets[target]
        if weighted and _weight_parameter(target) not in fusion_support.parameters:
            return f"{label}'s {fusion_support.where} has no per-retriever weights"
        return None
    norm = TECHNIQUES.get(normalization or "")
    comb = TECHNIQUES.get(combination)
    if norm is None or norm.kind != NORMALIZATION:
        return f"unknown normalization technique {normalization!r}"
    if comb is None or comb.kind != COMBINATION:
        return f"unknown combination technique {combination!r}"
    if not comb.runs_on(target):
        where = TECHNIQUES[DEFAULT_COMBINATION].targets.get(target)
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
        used = TECHNIQUES[RRF].targets[target]
        param = _weight_parameter(target)
        if weighted:
            return [f"weighted rrf needs {label} ≥ {used.parameters[param]} ({used.where} [{param}])"]
        return [f"rrf needs {label} ≥ {used.since} ({used.where})"]
    used = TECHNIQUES[DEFAULT_COMBINATION].targets[target]
    return [f"needs {label} ≥ {used.since} ({used.where})"]


def _weight_parameter(target: str) -> str:
    """The name of the per-sub-query weight parameter on ``target`` (OpenSearch ``weights``, Elasticsearch a
    ``weight`` per retriever)."""
    return "weights" if target == OPENSEARCH else "weight"


COMBINATION_KERNELS = {name: combiner(name) for name in names(COMBINATION, OPENSEARCH)}
"""OpenSearch's combination kernels by name (a view of the registry, for readers that take all of them)."""
