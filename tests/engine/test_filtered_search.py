"""Filtered lexical / k-NN / radial / hybrid search and facets on the embedded engine, on a hand-built catalog.

Every expected score is computed by hand in the comments (BM25 on one 2-token title field; 2-d unit vectors
whose cosines to the query are chosen), never by running mrs."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from fakes.filter_catalog import CATALOG, TableEncoder
from mrs.engine import vectors as vectors_module
from mrs.engine.engine import EmbeddedEngine
from mrs.engine.manifest import MANIFEST_FILE
from mrs.engine.vectors import VectorIndex
from mrs.errors import InputError

# BM25 over the title only: every title has 2 tokens, avgdl = 2, so K = k1 = 1.2 and a matching term scores
# idf / (1 + 1.2) = idf / 2.2 with idf = ln(1 + (N − df + 0.5) / (df + 0.5)), N = 5 (the WHOLE index).
RED = math.log(1 + (5 - 3 + 0.5) / (3 + 0.5)) / 2.2  # "red": df 3 (p1, p3, p5)
SHIRT = math.log(1 + (5 - 2 + 0.5) / (2 + 0.5)) / 2.2  # "shirt": df 2 (p1, p2)
QUERY = np.array([1.0, 0.0], dtype=np.float32)


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    index_dir = tmp_path_factory.mktemp("filtered") / "index"
    EmbeddedEngine.build(index_dir, CATALOG, encoder=TableEncoder(), template="{title}", fields={"title": 1.0})
    return EmbeddedEngine.open(index_dir)


def test_index_stores_typed_attributes(engine):
    assert engine.manifest["format_version"] == 2
    assert engine.manifest["attributes"] == {"brand": "keyword", "category": "path", "color": "keyword",
                                             "in_stock": "boolean", "price": "numeric"}


def test_lexical_filter_keeps_unfiltered_scores(engine):
    unfiltered = engine.lexical("red", k=10)
    assert [(h.id, round(h.score, 6)) for h in unfiltered] == [("p1", round(RED, 6)), ("p3", round(RED, 6)),
                                                              ("p5", round(RED, 6))]
    hits = engine.lexical("red", k=10, filter={"range": {"price": {"lte": 60}}})  # p5 has no price
    assert [h.id for h in hits] == ["p1", "p3"]
    # statistics still over all 5 documents: over the 3 filtered ones idf("red") would be ln(1 + 1.5/2.5)
    assert [h.score for h in hits] == pytest.approx([RED, RED], rel=1e-6)
    shirts = engine.lexical("red shirt", k=1, filter={"term": {"brand": "Bolt"}})
    assert [(h.id, h.score) for h in shirts] == [("p2", pytest.approx(SHIRT, rel=1e-6))]
    assert engine.lexical("red", k=5, filter={"term": {"brand": "Nobody"}}) == []


def test_knn_returns_k_when_k_documents_pass(engine):
    # cosinesimil score (1 + cos) / 2: p1 1.0, p2 0.9, p3 0.8, p4 0.5, p5 0.0
    hits = engine.knn(QUERY, k=2, filter={"term": {"in_stock": False}})
    assert [(h.id, h.score) for h in hits] == [("p2", pytest.approx(0.9)), ("p5", pytest.approx(0.0, abs=1e-7))]
    hits = engine.knn(QUERY, k=3, filter={"term": {"category": "Kitchen"}})
    assert [h.id for h in hits] == ["p4", "p5"]  # only 2 pass


def test_radial_with_filter(engine):
    hits = engine.knn(QUERY, min_score=0.75, filter={"term": {"brand": "Acme"}})
    assert [(h.id, h.score) for h in hits] == [("p1", pytest.approx(1.0)), ("p3", pytest.approx(0.8))]
    hits = engine.knn(QUERY, min_score=0.75, filter={"bool": {"must_not": [{"term": {"brand": "Acme"}}]}})
    assert [h.id for h in hits] == ["p2"]


def test_hybrid_filter_applies_before_normalization(engine):
    hits = engine.hybrid("red", QUERY, k=3, filter={"term": {"in_stock": True}})
    # lexical candidates p1, p3 (both RED) → min_max: all equal → 1.0 each
    # dense candidates (k = 3) among p1, p3, p4: 1.0, 0.8, 0.5 → min_max 1.0, 0.6, 0.001 (0 becomes 0.001)
    # arithmetic_mean 0.7 / 0.3: p1 1.0, p3 0.7 + 0.18 = 0.88, p4 0.3 · 0.001 = 0.0003
    assert [h.id for h in hits] == ["p1", "p3", "p4"]
    assert [h.score for h in hits] == pytest.approx([1.0, 0.88, 0.0003], rel=1e-5)
    assert hits[2].scores == {"lexical": None, "dense": pytest.approx(0.5)}
    assert hits[1].normalized["dense"] == pytest.approx(0.6, rel=1e-5)


def test_search_with_filter_and_facets(engine):
    hits = engine.search("red", mode="lexical", k=10, filter='{"term": {"color": "red"}}')
    assert [h.id for h in hits] == ["p1", "p3", "p5"]
    matched = engine.matched_documents("red", "lexical", filter={"term": {"category": "Clothing"}})
    assert matched.tolist() == [True, False, True, False, False]
    facets = engine.facets(matched, ["brand", "category_path"])
    assert facets["brand"]["buckets"] == [{"key": "Acme", "doc_count": 2}]
    assert facets["category_path"]["buckets"] == [{"key": "Clothing", "doc_count": 2},
                                                  {"key": "Clothing > Shirts", "doc_count": 1},
                                                  {"key": "Clothing > Shoes", "doc_count": 1}]
    # hybrid: lexical matches (p1, p3, p5) ∪ dense top k = 2 (p1, p2)
    matched = engine.matched_documents("red", "hybrid", QUERY, k=2)
    assert matched.tolist() == [True, True, True, False, True]
    # dense: exactly the k-NN query's hits
    assert engine.matched_documents("red", "dense", QUERY, k=2, filter={"term": {"in_stock": True}}).tolist() == [
        True, False, True, False, False]


def test_filter_errors_are_input_errors(engine):
    with pytest.raises(InputError, match="unknown field 'title'"):
        engine.lexical("red", k=3, filter={"term": {"title": "red shirt"}})
    with pytest.raises(InputError, match="unsupported clause 'match'"):
        engine.knn(QUERY, k=3, filter={"match": {"brand": "Acme"}})


def test_version_1_index_opens_without_attributes(engine, tmp_path):
    import shutil

    old = tmp_path / "old"
    shutil.copytree(engine.directory, old)
    shutil.rmtree(old / "attributes")
    manifest = json.loads((old / MANIFEST_FILE).read_text())
    manifest["format_version"] = 1
    del manifest["attributes"]
    (old / MANIFEST_FILE).write_text(json.dumps(manifest))
    opened = EmbeddedEngine.open(old)
    assert [h.id for h in opened.lexical("red", k=2)] == ["p1", "p3"]
    with pytest.raises(InputError, match="no typed attributes.*rebuild it"):
        opened.lexical("red", k=2, filter={"term": {"brand": "Acme"}})


@pytest.mark.parametrize("pass_rate", [0.5, 0.05, 0.004])
def test_filtered_hnsw_returns_k_and_agrees_with_exact(monkeypatch, pass_rate):
    rng = np.random.default_rng(7)
    vecs = rng.normal(size=(2000, 16)).astype(np.float32)
    allowed = rng.random(2000) < pass_rate
    allowed[:8] = True  # at least 8 pass
    hnsw = VectorIndex(vecs, hnsw_threshold=0)
    exact = VectorIndex(vecs)
    q = rng.normal(size=16).astype(np.float32)
    k = 10
    expected_rows, expected_scores = exact.search(q, k, allowed=allowed)
    assert len(expected_rows) == min(k, int(allowed.sum())) and allowed[expected_rows].all()
    # 2000 × 16 distance terms is below MAX_DISTANCE_COMPUTATIONS: exact even on the HNSW index
    assert hnsw.exact_filter_preferred(int(allowed.sum()), k)
    rows, scores = hnsw.search(q, k, allowed=allowed)
    assert rows.tolist() == expected_rows.tolist()
    # force the graph walk (as on a catalog too large for exact search)
    monkeypatch.setattr(vectors_module, "MAX_DISTANCE_COMPUTATIONS", 0)
    assert hnsw.exact_filter_preferred(int(allowed.sum()), k) == (allowed.sum() <= k)
    rows, scores = hnsw.search(q, k, allowed=allowed)
    assert len(rows) == min(k, int(allowed.sum())) and allowed[rows].all()
    assert len(set(rows.tolist()) & set(expected_rows.tolist())) >= 0.8 * len(expected_rows)
    assert np.all(np.diff(scores) <= 0)
    radial_rows, radial_scores = hnsw.search(q, min_score=float(expected_scores[-1]), allowed=allowed)
    assert allowed[radial_rows].all() and np.all(radial_scores >= expected_scores[-1])
