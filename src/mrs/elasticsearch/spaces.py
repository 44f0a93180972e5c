"""Elasticsearch's vector score spaces and BM25 factor, mapped onto the engine's (OpenSearch's) score spaces.

mrs calibrates in the embedded engine's spaces — OpenSearch k-NN scores (cosinesimil (1 + cos)/2, innerproduct,
l2 1/(1 + d²)) and BM25 as the local index scored it. Elasticsearch differs in two places:

1. ``_score`` of a knn search, per ``dense_vector`` similarity (Elasticsearch reference, "Dense vector field
   type", parameter ``similarity``; DenseVectorFieldMapper.VectorSimilarity.score):

   | ES similarity      | raw similarity s (what ``knn.similarity`` thresholds) | ES ``_score``                |
   |--------------------|-------------------------------------------------------|------------------------------|
   | cosine             | cos(q, d)                                             | (1 + s)/2                    |
   | dot_product        | q·d (unit vectors)                                    | (1 + s)/2                    |
   | l2_norm            | ‖q − d‖ (the distance, NOT squared)                   | 1/(1 + s²)                   |
   | max_inner_product  | q·d                                                   | s < 0: 1/(1 − s); else s + 1 |

   cosine = OpenSearch cosinesimil, l2_norm = OpenSearch l2 (1/(1 + d²) with d² = s²), max_inner_product =
   OpenSearch innerproduct: same number. dot_product's (1 + ip)/2 differs from innerproduct's score, so
   ``engine_score_from_es`` converts it.

2. The ``similarity`` option of a knn search / knn retriever is a threshold on the RAW similarity s, "not the
   document score" (Elasticsearch reference, "kNN search" → "similarity"; the knn query/retriever docs): for
   l2_norm it is a maximum distance, for the others a minimum similarity. ``knn_similarity_threshold``
   converts a calibrated threshold (engine k-NN score space) exactly: score → raw (mrs.engine.spaces) → ES raw.

3. BM25: Elasticsearch's ``BM25`` similarity is ``LegacyBM25Similarity`` (ES keeps Lucene 7's formula: the
   score is multiplied by (k1 + 1); explain output shows a constant ``boost`` of 2.2 = k1 + 1 for k1 = 1.2 —
   Opster's "Elasticsearch Explain API" guide (ES 8), and SimilarityService / SimilarityProviders
   .createBM25Similarity → LegacyBM25Similarity in the Elasticsearch source).
   So the engine's ``LegacyBM25`` equals ES ``BM25`` exactly, and the engine's ``BM25`` (Lucene ≥ 8, OpenSearch
   3.x) equals ES ``BM25`` / (k1 + 1): ``bm25_factor`` gives the factor the backend divides lexical ``_score``
   by. minmax and l2_norm normalization are invariant to that constant factor, so hybrid rankings do not
   change.
"""

from __future__ import annotations

import math

import numpy as np

from mrs.engine.spaces import knn_score, raw_from_score
from mrs.errors import InputError
from mrs.spaces import check_space_type

ES_SIMILARITIES = ("cosine", "dot_product", "l2_norm", "max_inner_product")
ENGINE_SPACE_OF = {"cosine": "cosinesimil", "dot_product": "innerproduct", "l2_norm": "l2",
                   "max_inner_product": "innerproduct"}
DEFAULT_ES_SIMILARITY = {"cosinesimil": "cosine", "innerproduct": "max_inner_product", "l2": "l2_norm"}
ES_BM25_IS_LEGACY = True  # ES's "BM25" type keeps (k1 + 1): see module doc, point 3


def _check(similarity: str) -> None:
    if similarity not in ES_SIMILARITIES:
        raise InputError(f"unknown dense_vector similarity {similarity!r} (expected one of {', '.join(ES_SIMILARITIES)})")


def es_similarity_for_space(space_type: str, similarity: str | None = None) -> str:
    """The dense_vector similarity for an engine space_type; ``similarity`` (a user choice) is checked to be
    compatible: cosinesimil → cosine | dot_product (unit vectors); innerproduct → max_inner_product | dot_product;
    l2 → l2_norm."""
    check_space_type(space_type)
    if similarity is None:
        return DEFAULT_ES_SIMILARITY[space_type]
    _check(similarity)
    allowed = {"cosinesimil": ("cosine", "dot_product"), "innerproduct": ("max_inner_product", "dot_product"),
               "l2": ("l2_norm",)}[space_type]
    if similarity not in allowed:
        raise InputError(f"dense_vector similarity {similarity} does not score like the index's {space_type} space "
                         f"(use {' or '.join(allowed)})")
    return similarity


def es_score(raw, similarity: str):
    """Elasticsearch ``_score`` from the raw similarity (module table). Scalars → float, arrays → float64."""
    _check(similarity)
    s = np.asarray(raw, dtype=np.float64)
    if similarity in ("cosine", "dot_product"):
        out = (1.0 + s) / 2.0
    elif similarity == "l2_norm":
        out = 1.0 / (1.0 + s * s)
    else:
        out = np.where(s < 0, 1.0 / (1.0 - np.minimum(s, 0.0)), s + 1.0)
    return float(out) if out.ndim == 0 else out


def raw_from_es_score(score, similarity: str):
    """Inverse of ``es_score``: cosine/dot_product 2·score − 1; l2_norm sqrt(1/score − 1);
    max_inner_product score ≥ 1 → score − 1, else 1 − 1/score. score must be > 0."""
    _check(similarity)
    sc = np.asarray(score, dtype=np.float64)
    if np.any(sc <= 0):
        raise InputError(f"an Elasticsearch vector score is > 0, got {score!r}")
    if similarity in ("cosine", "dot_product"):
        out = 2.0 * sc - 1.0
    elif similarity == "l2_norm":
        out = np.sqrt(np.maximum(1.0 / sc - 1.0, 0.0))
    else:
        out = np.where(sc >= 1.0, sc - 1.0, 1.0 - 1.0 / sc)
    return float(out) if out.ndim == 0 else out


def _engine_raw_to_es_raw(raw, space_type: str):
    # engine raw: cos (cosinesimil), ip (innerproduct), squared distance (l2); ES raw: cos, ip, distance
    return np.sqrt(np.maximum(raw, 0.0)) if space_type == "l2" else raw


def _es_raw_to_engine_raw(raw, similarity: str):
    return np.asarray(raw, dtype=np.float64) ** 2 if similarity == "l2_norm" else raw


def knn_similarity_threshold(threshold_score: float, space_type: str, similarity: str) -> float:
    """The ``knn.similarity`` value equivalent to a calibrated threshold in the engine's k-NN score space.

    threshold_score: e.g. 0.8 in cosinesimil space ((1 + cos)/2) → cos 0.6 for cosine / dot_product.
    l2: 1/(1 + d²) = 0.5 → d² = 1 → l2_norm distance 1.0. A document passes the ES threshold exactly when its
    engine score ≥ threshold_score (every transform is monotone).
    """
    if not math.isfinite(threshold_score) or threshold_score <= 0:
        raise InputError(f"a k-NN score threshold must be finite and > 0, got {threshold_score!r}")
    es_similarity_for_space(space_type, similarity)
    if space_type in ("cosinesimil", "l2") and threshold_score > 1.0:
        raise InputError(f"{space_type} scores lie in (0, 1]; threshold {threshold_score} is unreachable")
    raw = raw_from_score(float(threshold_score), space_type)
    return float(_engine_raw_to_es_raw(raw, space_type))


def engine_score_from_es(score, similarity: str, space_type: str):
    """An Elasticsearch knn ``_score`` expressed in the engine's k-NN score space of ``space_type``
    (identity except for dot_product, whose (1 + ip)/2 becomes the cosinesimil or innerproduct score)."""
    es_similarity_for_space(space_type, similarity)
    if ENGINE_SPACE_OF[similarity] == space_type and similarity != "dot_product":
        return score
    raw = _es_raw_to_engine_raw(raw_from_es_score(score, similarity), similarity)
    return knn_score(raw, space_type)


def bm25_factor(engine_similarity: str, k1: float) -> float:
    """ES ``BM25`` score ÷ engine score for the same document: 1 for LegacyBM25, (k1 + 1) for BM25."""
    if engine_similarity == "LegacyBM25":
        return 1.0
    if engine_similarity == "BM25":
        return float(k1) + 1.0
    raise InputError(f"unknown BM25 similarity {engine_similarity!r} (expected BM25 or LegacyBM25)")
