"""BM25 / LegacyBM25 multi_match scores and COSINE vector scores equal real Lucene 9.9.1's."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from mrs.data.readers import read_catalog
from mrs.engine.bm25 import MultiFieldBM25
from mrs.engine.vectors import VectorIndex
from mrs.indexer.documents import DEFAULT_FIELDS, bm25_texts

pytestmark = pytest.mark.lucene


@pytest.fixture(scope="module")
def sample_docs_and_queries(sample):
    docs = [bm25_texts(p, DEFAULT_FIELDS) for p in read_catalog(sample.catalog)]
    with open(sample.judgments, encoding="utf-8") as f:
        queries = sorted({row["query"] for row in csv.DictReader(f, delimiter="\t")})
    return docs, queries


@pytest.mark.parametrize("similarity", ["BM25", "LegacyBM25"])
@pytest.mark.parametrize("analyzer", ["standard", "english"])
def test_multi_match_top100_scores_equal_lucene_float32(lucene, sample_docs_and_queries, similarity, analyzer):
    docs, queries = sample_docs_and_queries
    bm = MultiFieldBM25(DEFAULT_FIELDS, analyzer=analyzer, similarity=similarity).build(docs)
    theirs = lucene.bm25(docs, DEFAULT_FIELDS, queries, similarity=similarity, analyzer=analyzer, k=100)
    for query, hits in zip(queries, theirs, strict=True):
        idx, scores = bm.search(query, k=100)
        ours = [(int(i), np.float32(s)) for i, s in zip(idx, scores, strict=True)]
        assert ours == hits, query


def test_cosine_scores_equal_lucene(lucene):
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((64, 384)).astype(np.float32)
    queries = rng.standard_normal((8, 384)).astype(np.float32)
    index = VectorIndex(vectors, "cosinesimil")
    for q in queries:
        idx, scores = index.search(q, k=64)
        theirs = lucene.cosine(np.repeat(q[None, :], len(idx), axis=0), vectors[idx])
        # Lucene sums the products in float32 in its own order, faiss in another: a few ulps apart at most.
        np.testing.assert_allclose(scores.astype(np.float32), theirs, rtol=0, atol=4 * np.finfo(np.float32).eps)
