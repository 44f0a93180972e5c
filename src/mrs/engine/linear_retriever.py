"""Elasticsearch's ``linear`` and ``rrf`` retrievers, reproduced as pure functions so the embedded engine ranks
offline exactly as an Elasticsearch cluster ranks the deployed hybrid search.

Sources: Elasticsearch reference, "Linear retriever"
(https://www.elastic.co/docs/reference/elasticsearch/rest-apis/retrievers/linear-retriever: ``retrievers`` =
``[{"retriever", "weight", "normalizer"}]``, ``rank_window_size``, ``min_score``; normalizers ``none``,
``minmax``, ``l2_norm``), "RRF retriever" (.../retrievers/rrf-retriever: ``rank_constant`` default 60,
``rank_window_size``), and the x-pack rank-rrf code (``LinearRetrieverBuilder.combineInnerRetrieverResults``,
``MinMaxScoreNormalizer``, ``L2ScoreNormalizer``, ``RRFRetrieverBuilder``).

LOW LEVEL (one sub-retriever's top ``rank_window_size`` scores in, normalized scores out, float32 as Java):

- ``minmax``: (s − min)/(max − min). When max − min < 1e-6 (one result, or all scores equal) every document
  gets 1.0 — the current code's rule ("assign every doc the max normalized score"); early 8.18/9.0 builds
  returned the raw ``min`` there instead (documented in docs/elasticsearch.md). Unlike OpenSearch's min_max,
  the lowest document keeps 0 (no 0.001 floor).
- ``l2_norm``: s / sqrt(Σ s²) (sum in double, result to float); a norm < 1e-6 leaves the scores unchanged.
- ``none``: the raw score.

HIGH LEVEL:

- ``linear``: score(d) = Σᵢ weightᵢ · normᵢ(d) over the sub-retrievers that returned d — a document missing
  from a sub-retriever adds nothing there (its weight is not in any denominator: this is a weighted SUM, not a
  mean). weight ≥ 0, default 1.0. Sorted by score desc, ties by Lucene doc id.
  ``min_score`` (≥ 0) drops combined scores below it; the top ``rank_window_size`` are kept.
- ``rrf``: score(d) = Σᵢ weightᵢ · 1/(rank_constant + rankᵢ(d)), rank from 1 within each sub-retriever's top
  ``rank_window_size`` (float arithmetic, no decimal rounding, unlike OpenSearch's score-ranker-processor:
  ``value.score += weights[i] * (1.0f / (rankConstant + rank))`` in RRFRetrieverBuilder). weight ≥ 0, default
  1.0, given per entry as ``{"retriever": {...}, "weight": w}`` (Elasticsearch ≥ 9.2; an entry may also be the
  bare retriever object). rank_constant ≥ 1, default 60.
- Ties in the combined list: score desc, then the lower Lucene doc id (RankDoc's order), i.e. index order; a
  sub-retriever list without doc ids (read back from a cluster) breaks ties by product id.

``rank_window_size`` (default 10 in Elasticsearch) is both how many results each sub-retriever contributes and
how many combined results survive; it must be ≥ the request ``size``.

Which OpenSearch blends have an Elasticsearch equivalent is the technique registry's answer
(mrs.engine.techniques.blend_unsupported), read by ``linear_from_pipeline``.

Retriever JSON the engine accepts (``parse_retriever``) is the Elasticsearch body itself, e.g.::

    {"linear": {"retrievers": [
        {"retriever": {"standard": {"query": {...}}}, "weight": 0.7, "normalizer": "minmax"},
        {"retriever": {"knn": {...}}, "weight": 0.3, "normalizer": "minmax"}],
     "rank_window_size": 100}}

A ``standard`` sub-retriever is the lexical sub-query, ``knn`` the dense one; the strings ``"lexical"`` /
``"dense"`` may stand in for the sub-retriever objects (what calibration writes).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from mrs.errors import InputError

NORMALIZERS = ("none", "minmax", "l2_norm")
DEFAULT_RANK_WINDOW_SIZE = 10
DEFAULT_RANK_CONSTANT = 60
DEFAULT_WEIGHT = 1.0
EPSILON = np.float32(1e-6)
LINEAR = "linear"
RRF = "rrf"
SUBRETRIEVER_KINDS = {"standard": "lexical", "knn": "dense", "lexical": "lexical", "dense": "dense"}

# ---------------------------------------------------------------- LOW LEVEL FUNCTIONS


def _f32(scores) -> np.ndarray:
    return np.asarray(scores, dtype=np.float32).reshape(-1)


def minmax(scores) -> np.ndarray:
    """Elasticsearch's ``minmax`` normalizer over one sub-retriever's scores (float32, same order).

    (s − min)/(max − min); every score 1.0 when |max − min| < 1e-6.
    """
    s = _f32(scores)
    if s.size == 0:
        return s.copy()
    lo, hi = s.min(), s.max()
    if abs(hi - lo) < EPSILON:
        return np.ones_like(s)
    return ((s - lo) / (hi - lo)).astype(np.float32)


def l2_norm(scores) -> np.ndarray:
    """Elasticsearch's ``l2_norm`` normalizer: s / sqrt(Σ s²) (norm in double); norm < 1e-6 → unchanged."""
    s = _f32(scores)
    if s.size == 0:
        return s.copy()
    norm = math.sqrt(float(np.sum(s.astype(np.float64) ** 2)))
    if norm < 1e-6:
        return s.copy()
    return (s.astype(np.float64) / norm).astype(np.float32)


def identity(scores) -> np.ndarray:
    """The ``none`` normalizer: raw scores as float32."""
    return _f32(scores).copy()


NORMALIZER_FUNCTIONS = {"minmax": minmax, "l2_norm": l2_norm, "none": identity}


def rrf_scores(n: int, rank_constant: int = DEFAULT_RANK_CONSTANT) -> np.ndarray:
    """float32[n]: 1/(rank_constant + r) for r = 1..n (Elasticsearch computes it in float, no rounding)."""
    ranks = np.arange(1, int(n) + 1, dtype=np.float32)
    return (np.float32(1.0) / (np.float32(rank_constant) + ranks)).astype(np.float32)


# ---------------------------------------------------------------- HIGH LEVEL FUNCTIONS


@dataclass(frozen=True)
class SubRetriever:
    """One entry of a linear/rrf retriever: which sub-query (``lexical`` or ``dense``), its weight (linear and
    rrf) and normalizer (linear)."""

    kind: str
    weight: float = DEFAULT_WEIGHT
    normalizer: str = "none"


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
    top_normalizer = conf.get("normalizer", "none") if method == LINEAR else "none"
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


@dataclass
class RetrieverHit:
    """One combined result: id, combined score, raw and normalized (rrf: 1/(k + rank)) per sub-query, None when
    the sub-retriever did not return the document."""

    id: str
    score: float
    raw: dict[str, float | None]
    normalized: dict[str, float | None]


def is_weighted_rrf(spec: RetrieverSpec) -> bool:
    """True when an rrf retriever gives any sub-retriever a weight other than 1.0 (needs Elasticsearch ≥ 9.2)."""
    return any(s.weight != DEFAULT_WEIGHT for s in spec.subretrievers)


def _top(ids: Sequence[str], scores, window: int, doc_ids=None) -> tuple[list[str], np.ndarray, np.ndarray | None]:
    s = _f32(scores)
    if len(ids) != s.size:
        raise InputError(f"{len(ids)} ids but {s.size} scores")
    if doc_ids is None:
        order = np.argsort(-s.astype(np.float64), kind="stable")[:window]
        return [str(ids[i]) for i in order], s[order], None
    docs = np.asarray(doc_ids, dtype=np.int64).reshape(-1)
    if docs.size != s.size:
        raise InputError(f"{len(ids)} ids but {docs.size} doc ids")
    order = np.lexsort((docs, -s.astype(np.float64)))[:window]
    return [str(ids[i]) for i in order], s[order], docs[order]


def combine_retriever(results: Mapping[str, tuple[Sequence[str], object]], spec: RetrieverSpec,
                      size: int) -> list[RetrieverHit]:
    """Combine sub-query results as the ``linear`` / ``rrf`` retriever does (module doc).

    results: {"lexical": (ids, raw scores[, doc ids]), "dense": (...)} — each sub-query's candidates, any order;
    doc ids (index positions) make ties follow index order, as on a cluster (else product id order).
    size: hits returned (≤ rank_window_size, as Elasticsearch requires). Returns RetrieverHit list, best first.
    """
    spec.validate()
    if isinstance(size, bool) or int(size) < 1:
        raise InputError(f"size must be a positive integer, got {size!r}")
    if int(size) > spec.rank_window_size:
        raise InputError(f"[rank_window_size] ({spec.rank_window_size}) must be greater than or equal to [size] "
                         f"({size})")
    window = int(spec.rank_window_size)
    kinds = spec.kinds()
    total: dict[str, np.float32] = {}
    raw: dict[str, dict[str, float | None]] = {}
    normed: dict[str, dict[str, float | None]] = {}
    lucene_doc: dict[str, int] = {}
    for sub in spec.subretrievers:
        if sub.kind not in results:
            raise InputError(f"no results for sub-retriever {sub.kind!r}")
        ids, scores, doc_ids = _top(*results[sub.kind][:2], window, *results[sub.kind][2:3])
        if doc_ids is not None:
            lucene_doc.update(zip(ids, doc_ids.tolist(), strict=True))
        if spec.method == LINEAR:
            norm = NORMALIZER_FUNCTIONS[sub.normalizer](scores)
        else:
            norm = rrf_scores(len(ids), spec.rank_constant)
        contrib = (np.float32(sub.weight) * norm).astype(np.float32)
        for doc, r, n, c in zip(ids, scores.tolist(), norm.tolist(), contrib, strict=True):
            if doc not in total:
                total[doc] = np.float32(0.0)
                raw[doc] = {k: None for k in kinds}
                normed[doc] = {k: None for k in kinds}
            total[doc] = np.float32(total[doc] + c)
            raw[doc][sub.kind] = float(r)
            normed[doc][sub.kind] = float(n)
    if len(lucene_doc) == len(total):
        ranked = sorted(total, key=lambda d: (-float(total[d]), lucene_doc[d]))
    else:
        ranked = sorted(total, key=lambda d: (-float(total[d]), d))
    if spec.method == LINEAR and spec.min_score is not None:
        ranked = [d for d in ranked if float(total[d]) >= np.float32(spec.min_score)]
    ranked = ranked[: min(window, int(size))]
    return [RetrieverHit(d, float(total[d]), raw[d], normed[d]) for d in ranked]


def linear_from_pipeline(pipeline, rank_window_size: int) -> RetrieverSpec:
    """The Elasticsearch retriever equal to an OpenSearch pipeline ([lexical, dense] order), by the technique
    registry's names: min_max → minmax, l2 → l2_norm, arithmetic_mean weights → linear weights (Σw = 1, so
    Σ wᵢsᵢ equals OpenSearch's Σ wᵢsᵢ / Σ wᵢ); rrf → the rrf retriever with the pipeline's weights as
    per-retriever ``weight`` (none when all equal). InputError with the registry's reason for what
    Elasticsearch cannot run (z_score, geometric/harmonic means, score bounds)."""
    from mrs.engine.pipeline import HybridPipeline, parse_pipeline
    from mrs.engine.techniques import ELASTICSEARCH, TECHNIQUES, blend_unsupported

    p = pipeline if isinstance(pipeline, HybridPipeline) else parse_pipeline(pipeline, 2)
    kinds = ("lexical", "dense")
    bounded = any(b.mode != "ignore" for bounds in (p.lower_bounds, p.upper_bounds) if bounds for b in bounds)
    reason = blend_unsupported(ELASTICSEARCH, p.normalization, p.combination, bounded=bounded)
    if reason is not None:
        raise InputError(reason)
    if p.normalization == "rrf":
        weights = list(p.weights) if p.weights is not None and len(set(p.weights)) > 1 else [DEFAULT_WEIGHT] * 2
        return RetrieverSpec(RRF, tuple(SubRetriever(k, float(w)) for k, w in zip(kinds, weights, strict=True)),
                             int(rank_window_size), p.rank_constant)
    normalizer = TECHNIQUES[p.normalization].targets[ELASTICSEARCH].name
    weights = list(p.weights) if p.weights is not None else [0.5, 0.5]
    total = sum(weights)
    subs = tuple(SubRetriever(k, w / total if total else 0.0, normalizer)
                 for k, w in zip(kinds, weights, strict=True))
    return RetrieverSpec(LINEAR, subs, int(rank_window_size))


def default_linear(rank_window_size: int = 100) -> RetrieverSpec:
    """minmax on both sub-queries, weights lexical 0.7 / dense 0.3 (the project's default blend)."""
    return RetrieverSpec(LINEAR, (SubRetriever("lexical", 0.7, "minmax"), SubRetriever("dense", 0.3, "minmax")),
                         int(rank_window_size))


def retriever_search(engine, text: str, vector, k: int, spec: RetrieverSpec,
                     knn_min_score: float | None = None, *, allowed=None) -> list[RetrieverHit]:
    """Run a linear/rrf retriever on an embedded engine (mrs.engine.engine.EmbeddedEngine): each sub-query
    returns its top ``rank_window_size`` (the dense one: all with k-NN score ≥ ``knn_min_score`` when given,
    as a knn retriever with a ``similarity`` threshold), then ``combine_retriever``. allowed: a filter bitset
    applied to every sub-retriever (as the retrievers' ``filter``)."""
    window = int(spec.rank_window_size)
    results: dict[str, tuple[list[str], np.ndarray, np.ndarray]] = {}
    kinds = spec.kinds()
    if "lexical" in kinds:
        rows, scores = engine.bm25.search(text, window, allowed=allowed)
        results["lexical"] = ([engine.ids[int(r)] for r in rows], _f32(scores), np.asarray(rows))
    if "dense" in kinds:
        if knn_min_score is not None:
            rows, scores = engine.vectors.search(vector, min_score=knn_min_score, allowed=allowed)
        else:
            rows, scores = engine.vectors.search(vector, window, allowed=allowed)
        results["dense"] = ([engine.ids[int(r)] for r in rows], _f32(scores), np.asarray(rows))
    return combine_retriever(results, spec, k)
