"""Elasticsearch ``linear`` / ``rrf`` retriever bodies ↔ ``RetrieverSpec`` (what the embedded engine combines
with under Elasticsearch's semantics, mrs.engine.retriever_combine).

Sources: Elasticsearch reference, "Linear retriever"
(https://www.elastic.co/docs/reference/elasticsearch/rest-apis/retrievers/linear-retriever: ``retrievers`` =
``[{"retriever", "weight", "normalizer"}]``, ``rank_window_size``, ``min_score``; normalizers ``none``,
``minmax``, ``l2_norm``) and "RRF retriever" (.../retrievers/rrf-retriever: ``retrievers``, ``rank_constant``
default 60, ``rank_window_size``; per-entry ``{"retriever": {...}, "weight": w}`` since 9.2, an entry may also
be the bare retriever object). Weights ≥ 0, default 1.0; ``rank_window_size`` default 10, both how many results
each sub-retriever contributes and how many combined results survive (≥ the request ``size``);
``min_score`` ≥ 0 (linear only).

The body the engine accepts is the Elasticsearch body itself, e.g.::

    {"linear": {"retrievers": [
        {"retriever": {"standard": {"query": {...}}}, "weight": 0.7, "normalizer": "minmax"},
        {"retriever": {"knn": {...}}, "weight": 0.3, "normalizer": "minmax"}],
     "rank_window_size": 100}}

A ``standard`` sub-retriever is the lexical sub-query, ``knn`` the dense one; the strings ``"lexical"`` /
``"dense"`` may stand in for the sub-retriever objects (what calibration writes). The normalizer names are the
technique registry's Elasticsearch names (mrs.engine.techniques).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from mrs.engine import techniques
from mrs.engine.techniques import DEFAULT_NORMALIZATION, DEFAULT_WEIGHTS, ELASTICSEARCH, NORMALIZATION
from mrs.engine.techniques.rrf import DEFAULT_RANK_CONSTANT
from mrs.errors import InputError

NORMALIZERS = tuple(techniques.support(n, ELASTICSEARCH).name for n in techniques.names(NORMALIZATION, ELASTICSEARCH))
"""The linear retriever's normalizer names (the registry's Elasticsearch names: minmax, l2_norm, none)."""
DEFAULT_NORMALIZER = "none"
DEFAULT_RANK_WINDOW_SIZE = 10
DEFAULT_WEIGHT = 1.0
LINEAR = "linear"
RRF = "rrf"
SUBRETRIEVER_KINDS = {"standard": "lexical", "knn": "dense", "lexical": "lexical", "dense": "dense"}


@dataclass(frozen=True)
class SubRetriever:
    """One entry of a linear/rrf retriever: which sub-query (``lexical`` or ``dense``), its weight (linear and
    rrf) and normalizer (linear)."""

    kind: str
    weight: float = DEFAULT_WEIGHT
    normalizer: str = DEFAULT_NORMALIZER


@dataclass(frozen=True)
class RetrieverSpec:
    """A parsed ``linear`` or ``rrf`` retriever. method: "linear" | "rrf". subretrievers: in body order.
    rank_window_size: candidates per sub-retriever and results kept. rank_constant: rrf only. min_score: linear
    only (None = no filter)."""

    method: str
    subretrievers: tuple[SubRetriever, ...]
    rank_window_size: int = DEFAULT_RANK_WINDOW_SIZE
    rank_constant: int = DEFAULT_RANK_CONSTANT
    min_score: float | None = None

    def kinds(self) -> list[str]:
        return [s.kind for s in self.subretrievers]

    def validate(self) -> None:
        """InputError for what Elasticsearch rejects: unknown method/normalizer, negative weight, bad sizes."""
        if self.method not in (LINEAR, RRF):
            raise InputError(f"unknown retriever {self.method!r} (expected linear or rrf)")
        if not self.subretrievers:
            raise InputError(f"the {self.method} retriever needs at least one sub-retriever")
        kinds = self.kinds()
        if len(set(kinds)) != len(kinds):
            raise InputError(f"each sub-query may appear once in a {self.method} retriever, got {kinds}")
        for s in self.subretrievers:
            if s.kind not in ("lexical", "dense"):
                raise InputError(f"sub-retriever {s.kind!r}: expected a standard (lexical) or knn (dense) retriever")
            if s.normalizer not in NORMALIZERS:
                raise InputError(f"unknown normalizer [{s.normalizer}] (expected one of {', '.join(NORMALIZERS)})")
            if not math.isfinite(s.weight) or s.weight < 0:
                raise InputError(f"[weight] must be non-negative, found [{s.weight}]")
        if isinstance(self.rank_window_size, bool) or int(self.rank_window_size) < 1:
            raise InputError(f"[rank_window_size] must be ≥ 1, got {self.rank_window_size!r}")
        if self.method == RRF and int(self.rank_constant) < 1:
            raise InputError(f"[rank_constant] must be ≥ 1, got {self.rank_constant!r}")
        if self.min_score is not None and (not math.isfinite(self.min_score) or self.min_score < 0):
            raise InputError(f"[min_score] must be greater than or equal to 0, was: {self.min_score}")


def is_retriever_body(body) -> bool:
    """True for a dict whose single key is ``linear`` or ``rrf`` (optionally wrapped in ``{"retriever": ...}``)."""
    if isinstance(body, Mapping) and set(body) == {"retriever"}:
        body = body["retriever"]
    return isinstance(body, Mapping) and len(body) == 1 and next(iter(body)) in (LINEAR, RRF)


def _kind(entry) -> str:
    if isinstance(entry, str):
        kind = entry
    elif isinstance(entry, Mapping) and len(entry) == 1:
        kind = next(iter(entry))
    else:
        raise InputError("a sub-retriever must be a retriever object ({\"standard\": ...} or {\"knn\": ...}) "
                         "or the name lexical / dense")
    if kind not in SUBRETRIEVER_KINDS:
        raise InputError(f"sub-retriever [{kind}] is not supported offline (expected standard or knn)")
    return SUBRETRIEVER_KINDS[kind]


def _weight(entry: Mapping) -> float:
    weight = entry.get("weight", DEFAULT_WEIGHT)
    if isinstance(weight, bool) or not isinstance(weight, (int, float)):
        raise InputError(f"[weight] must be a number, got {weight!r}")
    return float(weight)


def parse_retriever(body) -> RetrieverSpec:
    """An Elasticsearch ``linear`` / ``rrf`` retriever body (see module doc) → RetrieverSpec. InputError names
    the first problem."""
    if isinstance(body, Mapping) and set(body) == {"retriever"}:
        body = body["retriever"]
    if not is_retriever_body(body):
        raise InputError("a retriever body is {\"linear\": {...}} or {\"rrf\": {...}}")
    method, conf = next(iter(body.items()))
    if not isinstance(conf, Mapping):
        raise InputError(f"[{method}] must be a JSON object")
    allowed = {"retrievers", "rank_window_size", "min_score", "normalizer", "_name", "filter"} if method == LINEAR \
        else {"retrievers", "rank_window_size", "rank_constant", "_name", "filter"}
    unknown = sorted(set(conf) - allowed)
    if unknown:
        raise InputError(f"[{method}] unknown field [{unknown[0]}]")
    entries = conf.get("retrievers")
    if not isinstance(entries, Sequence) or isinstance(entries, (str, bytes)) or not entries:
        raise InputError(f"[{method}] needs a non-empty [retrievers] list")
    top_normalizer = conf.get("normalizer", DEFAULT_NORMALIZER) if method == LINEAR else DEFAULT_NORMALIZER
    subs = []
    for entry in entries:
        if method == LINEAR:
            if not isinstance(entry, Mapping) or "retriever" not in entry:
                raise InputError("each linear entry is {\"retriever\": ..., \"weight\": w, \"normalizer\": n}")
            extra = sorted(set(entry) - {"retriever", "weight", "normalizer"})
            if extra:
                raise InputError(f"[linear] retriever entry: unknown field [{extra[0]}]")
            subs.append(SubRetriever(_kind(entry["retriever"]), _weight(entry),
                                     str(entry.get("normalizer", top_normalizer))))
        elif isinstance(entry, Mapping) and "retriever" in entry:  # weighted format (Elasticsearch ≥ 9.2)
            extra = sorted(set(entry) - {"retriever", "weight"})
            if extra:
                raise InputError(f"[rrf] retriever entry: unknown field [{extra[0]}]")
            subs.append(SubRetriever(_kind(entry["retriever"]), _weight(entry)))
        else:
            subs.append(SubRetriever(_kind(entry)))
    spec = RetrieverSpec(
        method=method, subretrievers=tuple(subs),
        rank_window_size=int(conf.get("rank_window_size", DEFAULT_RANK_WINDOW_SIZE)),
        rank_constant=int(conf.get("rank_constant", DEFAULT_RANK_CONSTANT)),
        min_score=float(conf["min_score"]) if conf.get("min_score") is not None else None,
    )
    spec.validate()
    return spec


def retriever_body(spec: RetrieverSpec, subretriever_bodies: Mapping[str, object] | None = None) -> dict:
    """Inverse of parse_retriever: the ``{"linear"|"rrf": {...}}`` body; sub-retrievers are
    ``subretriever_bodies[kind]`` when given, else the names ``lexical`` / ``dense``. An rrf whose weights are
    all 1.0 is written in the plain format (any Elasticsearch with the rrf retriever), else every entry as
    ``{"retriever": ..., "weight": w}`` (Elasticsearch ≥ 9.2)."""
    bodies = subretriever_bodies or {}
    conf: dict = {"retrievers": [], "rank_window_size": int(spec.rank_window_size)}
    weighted = spec.method == RRF and is_weighted_rrf(spec)
    for s in spec.subretrievers:
        inner = bodies.get(s.kind, s.kind)
        if spec.method == LINEAR:
            conf["retrievers"].append({"retriever": inner, "weight": float(s.weight), "normalizer": s.normalizer})
        elif weighted:
            conf["retrievers"].append({"retriever": inner, "weight": float(s.weight)})
        else:
            conf["retrievers"].append(inner)
    if spec.method == RRF:
        conf["rank_constant"] = int(spec.rank_constant)
    elif spec.min_score is not None:
        conf["min_score"] = float(spec.min_score)
    return {spec.method: conf}


def is_weighted_rrf(spec: RetrieverSpec) -> bool:
    """True when an rrf retriever gives any sub-retriever a weight other than 1.0 (needs Elasticsearch ≥ 9.2)."""
    return any(s.weight != DEFAULT_WEIGHT for s in spec.subretrievers)


def default_linear(rank_window_size: int = 100) -> RetrieverSpec:
    """minmax on both sub-queries, weights lexical 0.7 / dense 0.3 (the project's default blend)."""
    minmax = techniques.support(DEFAULT_NORMALIZATION, ELASTICSEARCH).name
    subs = tuple(SubRetriever(kind, w, minmax) for kind, w in zip(("lexical", "dense"), DEFAULT_WEIGHTS, strict=True))
    return RetrieverSpec(LINEAR, subs, int(rank_window_size))
