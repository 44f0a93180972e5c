"""OpenSearch search pipeline → the Elasticsearch retriever that ranks the same way, by the technique
registry (mrs.engine.techniques): which blends Elasticsearch can run, and what it calls their techniques.

- normalization-processor min_max / l2 + arithmetic_mean → the ``linear`` retriever with the registry's
  Elasticsearch normalizer (minmax / l2_norm) on both sub-queries and the pipeline's weights divided by their
  sum (Σw = 1, so Elasticsearch's Σ wᵢsᵢ equals OpenSearch's Σ wᵢsᵢ / Σ wᵢ; no weights → 0.5 each);
- score-ranker-processor rrf → the ``rrf`` retriever with the pipeline's rank_constant and its weights as
  per-retriever ``weight`` (1.0 each when all equal, the format every rrf retriever reads);
- anything Elasticsearch cannot run (z_score, geometric / harmonic means, score bounds): InputError with the
  registry's reason (techniques.blend_unsupported).

Sub-query order: [lexical, dense], as the templates mrs renders.
"""

from __future__ import annotations

from mrs.engine import techniques
from mrs.engine.pipeline import HybridPipeline, parse_pipeline
from mrs.engine.retriever import DEFAULT_WEIGHT, LINEAR, RRF, RetrieverSpec, SubRetriever
from mrs.engine.techniques import ELASTICSEARCH
from mrs.errors import InputError

SUBQUERIES = ("lexical", "dense")


def linear_from_pipeline(pipeline, rank_window_size: int) -> RetrieverSpec:
    """The Elasticsearch retriever equal to ``pipeline`` (a HybridPipeline or its OpenSearch JSON body, two
    sub-queries [lexical, dense]) with ``rank_window_size``; InputError naming why Elasticsearch cannot run
    it (module doc)."""
    p = pipeline if isinstance(pipeline, HybridPipeline) else parse_pipeline(pipeline, len(SUBQUERIES))
    bounded = any(b.bounded for bounds in (p.lower_bounds, p.upper_bounds) if bounds for b in bounds)
    reason = techniques.blend_unsupported(ELASTICSEARCH, p.normalization, p.combination, bounded=bounded)
    if reason is not None:
        raise InputError(reason)
    if p.normalization == techniques.RRF:
        equal = p.weights is None or len(set(p.weights)) == 1
        weights = [DEFAULT_WEIGHT] * len(SUBQUERIES) if equal else list(p.weights)
        return RetrieverSpec(RRF, tuple(SubRetriever(k, float(w)) for k, w in zip(SUBQUERIES, weights, strict=True)),
                             int(rank_window_size), p.rank_constant)
    normalizer = techniques.support(p.normalization, ELASTICSEARCH).name
    weights = list(p.weights) if p.weights is not None else [1.0 / len(SUBQUERIES)] * len(SUBQUERIES)
    total = sum(weights)
    subs = tuple(SubRetriever(k, w / total if total else 0.0, normalizer)
                 for k, w in zip(SUBQUERIES, weights, strict=True))
    return RetrieverSpec(LINEAR, subs, int(rank_window_size))
