"""Elasticsearch score spaces ↔ the engine's: _score per dense_vector similarity, knn.similarity thresholds on the
RAW similarity (Elasticsearch reference: dense_vector "similarity", kNN search "similarity": "not the document
score"), and the (k1 + 1) factor of Elasticsearch's BM25 (LegacyBM25Similarity). Every expected number is worked
out by hand in the comment beside it."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mrs.elasticsearch.spaces import (
    bm25_factor,
    engine_score_from_es,
    es_score,
    es_similarity_for_space,
    knn_similarity_threshold,
    raw_from_es_score,
)
from mrs.engine.spaces import knn_score
from mrs.errors import InputError


def test_es_score_per_similarity_by_hand():
    # cosine / dot_product: (1 + s)/2 → s = 0.6 → 0.8; s = -1 → 0
    assert es_score(0.6, "cosine") == pytest.approx(0.8)
    assert es_score(-1.0, "dot_product") == pytest.approx(0.0)
    # l2_norm: s is the DISTANCE; 1/(1 + s²) → s = 2 → 1/5 = 0.2
    assert es_score(2.0, "l2_norm") == pytest.approx(0.2)
    # max_inner_product: s ≥ 0 → s + 1 (0.5 → 1.5); s < 0 → 1/(1 − s) (−1 → 0.5)
    assert es_score(0.5, "max_inner_product") == pytest.approx(1.5)
    assert es_score(-1.0, "max_inner_product") == pytest.approx(0.5)


def test_raw_from_es_score_inverts():
    raws = np.array([-0.9, -0.2, 0.0, 0.3, 0.95])
    for sim in ("cosine", "dot_product", "max_inner_product"):
        assert np.allclose(raw_from_es_score(es_score(raws, sim), sim), raws)
    dists = np.array([0.0, 0.5, 1.0, 3.0])
    assert np.allclose(raw_from_es_score(es_score(dists, "l2_norm"), "l2_norm"), dists)
    with pytest.raises(InputError):
        raw_from_es_score(0.0, "cosine")


def test_knn_similarity_threshold_conversions_by_hand():
    # cosinesimil score 0.8 = (1 + cos)/2 → cos = 2·0.8 − 1 = 0.6, for cosine and for dot_product (unit vectors)
    assert knn_similarity_threshold(0.8, "cosinesimil", "cosine") == pytest.approx(0.6)
    assert knn_similarity_threshold(0.8, "cosinesimil", "dot_product") == pytest.approx(0.6)
    # l2 score 0.2 = 1/(1 + d²) → d² = 4 → ES l2_norm threshold is the distance d = 2 (NOT 4)
    assert knn_similarity_threshold(0.2, "l2", "l2_norm") == pytest.approx(2.0)
    # l2 score 0.5 → d² = 1 → d = 1
    assert knn_similarity_threshold(0.5, "l2", "l2_norm") == pytest.approx(1.0)
    # innerproduct score 1.5 > 1 → ip = 0.5; score 0.5 ≤ 1 → ip = 1 − 1/0.5 = −1
    assert knn_similarity_threshold(1.5, "innerproduct", "max_inner_product") == pytest.approx(0.5)
    assert knn_similarity_threshold(0.5, "innerproduct", "max_inner_product") == pytest.approx(-1.0)


def test_threshold_keeps_exactly_the_documents_the_engine_keeps():
    # For random unit vectors: engine score ≥ t ⇔ ES raw similarity ≥ threshold (l2: distance ≤ threshold)
    rng = np.random.default_rng(0)
    q = rng.normal(size=8)
    q /= np.linalg.norm(q)
    docs = rng.normal(size=(200, 8))
    docs /= np.linalg.norm(docs, axis=1, keepdims=True)
    cos = docs @ q
    sq = ((docs - q) ** 2).sum(axis=1)
    for t in (0.55, 0.7, 0.9):
        th = knn_similarity_threshold(t, "cosinesimil", "cosine")
        assert np.array_equal(knn_score(cos, "cosinesimil") >= t, cos >= th - 1e-12)
    for t in (0.3, 0.5, 0.8):
        th = knn_similarity_threshold(t, "l2", "l2_norm")
        assert np.array_equal(knn_score(sq, "l2") >= t, np.sqrt(sq) <= th + 1e-12)


def test_threshold_rejects_unreachable_and_mismatched():
    with pytest.raises(InputError, match="unreachable"):
        knn_similarity_threshold(1.2, "cosinesimil", "cosine")
    with pytest.raises(InputError):
        knn_similarity_threshold(0.0, "cosinesimil", "cosine")
    with pytest.raises(InputError, match="does not score like"):
        knn_similarity_threshold(0.8, "cosinesimil", "l2_norm")


def test_engine_score_from_es():
    # cosine/l2_norm/max_inner_product scores are the engine's own numbers
    assert engine_score_from_es(0.8, "cosine", "cosinesimil") == 0.8
    assert engine_score_from_es(0.2, "l2_norm", "l2") == 0.2
    assert engine_score_from_es(1.5, "max_inner_product", "innerproduct") == 1.5
    # dot_product _score 0.75 = (1 + ip)/2 → ip 0.5 → innerproduct score 0.5 + 1 = 1.5
    assert engine_score_from_es(0.75, "dot_product", "innerproduct") == pytest.approx(1.5)
    # dot_product _score 0.25 → ip −0.5 → innerproduct score 1/(1 + 0.5) = 0.6667
    assert engine_score_from_es(0.25, "dot_product", "innerproduct") == pytest.approx(1 / 1.5)
    # with cosinesimil the (1 + cos)/2 is already the engine's score
    assert engine_score_from_es(0.9, "dot_product", "cosinesimil") == pytest.approx(0.9)


def test_similarity_defaults_follow_the_space():
    assert es_similarity_for_space("cosinesimil") == "cosine"
    assert es_similarity_for_space("innerproduct") == "max_inner_product"
    assert es_similarity_for_space("l2") == "l2_norm"
    with pytest.raises(InputError):
        es_similarity_for_space("l2", "cosine")


def test_bm25_factor_is_k1_plus_one_for_lucene_bm25():
    # ES "BM25" = LegacyBM25Similarity: explain shows boost (k1 + 1) = 2.2 for k1 = 1.2
    assert bm25_factor("BM25", 1.2) == pytest.approx(2.2)
    assert bm25_factor("LegacyBM25", 1.2) == 1.0
    assert bm25_factor("BM25", 0.9) == pytest.approx(1.9)
    with pytest.raises(InputError):
        bm25_factor("classic", 1.2)
    assert not math.isnan(bm25_factor("BM25", 0.0))
