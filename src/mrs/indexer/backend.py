"""The backend protocol: one interface served by the embedded engine, OpenSearch and Elasticsearch.

`mrs eval` and `mrs calibrate` talk to this protocol only, so they run unchanged on a laptop or a cluster.
Scores are always in the backend's (OpenSearch's) score space:
- lexical: raw BM25 as OpenSearch's `multi_match` best_fields returns it;
- dense: k-NN score of the index's space_type (cosinesimil: (1 + cos) / 2);
- hybrid: the search pipeline's combined score.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from mrs.errors import InputError

SUBQUERY_LEXICAL = "lexical"
SUBQUERY_DENSE = "dense"
MODES = ("lexical", "dense", "hybrid")

DEFAULT_HYBRID_DEPTH = 100
"""Candidates each hybrid sub-query returns (OpenSearch's pagination_depth, Elasticsearch's rank_window_size)
when the user gives none: `mrs search`, `mrs eval` and `mrs calibrate` all rank hybrid over this depth, so
one query ranks the same in all three. Normalization statistics (min_max, z_score) are taken over these
candidates, so the depth changes the hybrid ranking, not only its length."""


def hybrid_depth(k: int, pagination_depth: int | None = None) -> int:
    """Candidates per hybrid sub-query: ``pagination_depth`` when given, else max(k, DEFAULT_HYBRID_DEPTH)
    (a sub-query needs at least k candidates to fill k results)."""
    if pagination_depth is not None:
        return int(pagination_depth)
    return max(int(k), DEFAULT_HYBRID_DEPTH)


@dataclass
class Hit:
    """One search result.

    id: product id. score: the final score the backend ranks by (mode-dependent, see module doc).
    scores: raw per-sub-query scores by name ({"lexical": BM25 or None, "dense": k-NN score or None}).
    normalized: per-sub-query normalized scores (hybrid only; None when the doc was missing from that sub-query).
    source: stored product fields when asked for.
    """

    id: str
    score: float
    scores: dict[str, float | None] = field(default_factory=dict)
    normalized: dict[str, float | None] = field(default_factory=dict)
    source: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.id, "score": self.score, "scores": self.scores}
        if self.normalized:
            d["normalized"] = self.normalized
        if self.source is not None:
            d["source"] = self.source
        return d


@dataclass
class Document:
    """A product ready to write: id, stored/BM25 fields, its embedding text and vector (float32)."""

    id: str
    fields: dict[str, Any]
    text: str
    vector: np.ndarray | None = None


@runtime_checkable
class SearchBackend(Protocol):
    """What eval and calibrate need from any engine. Query vectors are encoded by the caller's encoder
    (mrs.indexer.embed) so every backend sees the same vector for the same text."""

    def lexical(self, text: str, k: int) -> list[Hit]:
        """Top-k by BM25 multi_match over the index's BM25 fields (raw BM25 scores)."""
        ...

    def knn(self, vector: np.ndarray, k: int | None = None, min_score: float | None = None) -> list[Hit]:
        """Top-k (or radial: all with score ≥ min_score) by k-NN score in the index's space."""
        ...

    def hybrid(self, text: str, vector: np.ndarray, k: int, pipeline: Any = None) -> list[Hit]:
        """Hybrid query (lexical + dense) combined by a search pipeline (OpenSearch JSON body or parsed)."""
        ...

    def score_documents(self, text: str, vector: np.ndarray | None,
                        ids: Sequence[str]) -> dict[str, dict[str, float | None]]:
        """Raw lexical and dense scores of the given documents for one query, retrieved or not:
        {id: {"lexical": BM25 or None (no term matched), "dense": k-NN score, None when ``vector`` is None}}.
        Used to score judged pairs."""
        ...

    def count(self) -> int:
        ...


class WritableBackend(Protocol):
    """Index lifecycle: create / write / count / delete."""

    def create(self, spec: dict[str, Any]) -> None: ...

    def write(self, docs: Iterable[Document]) -> dict[str, int]: ...

    def count(self) -> int: ...

    def delete(self) -> None: ...


def search_by_mode(backend: Any, text: str, mode: str, k: int, *, encode_query: Callable[[str], np.ndarray],
                   min_score: float | None = None, pipeline: Any = None, filter: Any = None,
                   hybrid_options: Mapping[str, Any] | None = None,
                   hit_options: Mapping[str, Any] | None = None) -> list[Hit]:
    """One `mrs search` query on any backend: lexical top-k; dense top-k, or radial (every product with k-NN score
    ≥ min_score, the first k); hybrid top-k through ``pipeline`` (None: the backend's default), with a radial dense
    sub-query when min_score is given (``knn_min_score``: a backend that cannot run it refuses). ``filter`` applies
    to every sub-query.

    encode_query(text) → the query vector (called for dense and hybrid only). hybrid_options: extra keyword
    arguments of backend.hybrid (e.g. pagination_depth). hit_options: extra keyword arguments of every search
    call (e.g. the embedded engine's with_source). InputError: empty query, unknown mode, min_score in lexical mode.
    """
    if text is None or not str(text).strip():
        raise InputError("empty query")
    if mode not in MODES:
        raise InputError(f"unknown mode {mode!r} (expected one of {', '.join(MODES)})")
    hit_options = dict(hit_options or {})
    if mode == "lexical":
        if min_score is not None:
            raise InputError("--min-score is a k-NN (dense) threshold; it does not apply to lexical mode")
        return backend.lexical(text, k, filter=filter, **hit_options)
    vector = encode_query(text)
    if mode == "dense":
        return backend.knn(vector, None if min_score is not None else k, min_score, filter=filter, **hit_options)[:k]
    return backend.hybrid(text, vector, k, pipeline, filter=filter, knn_min_score=min_score,
                          **dict(hybrid_options or {}), **hit_options)
