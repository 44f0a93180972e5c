"""OpenSearchBackend (the SearchBackend protocol on a cluster) and index_catalog_opensearch (blue/green load),
against the in-memory cluster at opensearch-py's connection layer."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

import numpy as np
import pytest

from mrs.cluster.bulk import BulkConfig
from mrs.cluster.connection import ClusterError
from mrs.cluster.documents import document_source
from mrs.cluster.indexing import work_paths
from mrs.data.catalog import Product
from mrs.errors import InputError
from mrs.indexer.backend import Document, SearchBackend
from mrs.opensearch.backend import OpenSearchBackend, backend_from_index
from mrs.opensearch.indexing import index_catalog_opensearch
from mrs.opensearch.mapping import IndexSpec, index_body
from mrs.opensearch.pipelines import rrf_pipeline

SPEC = IndexSpec(dimension=3, text_fields={"title": 3.0, "brand": 1.0})
VEC = np.array([0.6, 0.0, 0.8], dtype=np.float32)


def responder(scores):
    """A _search responder: scores = {kind: {id: score}} where kind is 'multi_match', 'knn' or 'hybrid'."""
    def respond(index, req, params):
        q = req["query"]
        kind = "hybrid" if "hybrid" in q else "knn" if "knn" in q else "multi_match"
        ids = None
        if "bool" in q:
            ids = q["bool"]["filter"][0]["ids"]["values"]
        if "knn" in q and "filter" in q["knn"]["embedding"]:
            ids = q["knn"]["embedding"]["filter"]["ids"]["values"]
        pool = scores[kind]
        hits = [(i, s) for i, s in pool.items() if ids is None or i in ids]
        hits.sort(key=lambda t: -t[1])
        return [{"_id": i, "_score": s} for i, s in hits[: req["size"]]]
    return respond


@pytest.fixture
def backend(cluster, sleeps):
    cluster.indices["p"] = {"body": index_body(SPEC), "docs": {}}
    cluster.search_responder = responder({
        "multi_match": {"a": 7.5, "b": 3.25},
        "knn": {"a": 0.9, "b": 0.8, "c": 0.7},
        "hybrid": {"b": 0.75, "a": 0.5},
    })
    return OpenSearchBackend(cluster.client(), "p", SPEC, sleep=sleeps, rand=lambda: 0.0)


def test_backend_satisfies_the_protocol(backend):
    assert isinstance(backend, SearchBackend)


def test_lexical_sends_multi_match_and_returns_raw_bm25(backend, cluster):
    hits = backend.lexical("red shirt", 10)
    assert [(h.id, h.score) for h in hits] == [("a", 7.5), ("b", 3.25)]
    assert hits[0].scores == {"lexical": 7.5, "dense": None}
    _, _, body = cluster.searches()[-1]
    assert body["query"]["multi_match"]["fields"] == ["title^3", "brand"] and body["size"] == 10


def test_knn_k_and_radial(backend, cluster):
    assert [h.id for h in backend.knn(VEC, k=2)] == ["a", "b"]
    assert cluster.searches()[-1][2]["query"]["knn"]["embedding"]["k"] == 2
    backend.knn(VEC, min_score=0.75)
    _, _, body = cluster.searches()[-1]
    assert body["query"]["knn"]["embedding"]["min_score"] == 0.75 and body["size"] == backend.max_radial


def test_hybrid_with_inline_or_named_pipeline_and_raw_scores(backend, cluster):
    hits = backend.hybrid("shirt", VEC, 2)
    assert [h.id for h in hits] == ["b", "a"]
    path, params, body = [s for s in cluster.searches() if "hybrid" in s[2]["query"]][-1]
    # no pagination_depth configured: each sub-query gets k candidates, as in the embedded engine
    assert "pagination_depth" not in body["query"]["hybrid"]
    assert body["query"]["hybrid"]["queries"][1]["knn"]["embedding"]["k"] == 2
    assert "normalization-processor" in body["search_pipeline"]["phase_results_processors"][0]
    # raw scores: from each sub-query's own top-2 candidate list (None when not a candidate there)
    assert hits[0].scores == {"lexical": 3.25, "dense": 0.8}
    assert hits[1].scores == {"lexical": 7.5, "dense": 0.9}
    backend.pagination_depth = 50
    backend.hybrid("shirt", VEC, 5, pipeline="mrs-hybrid")
    path, params, body = [s for s in cluster.searches() if "hybrid" in s[2]["query"]][-1]
    assert params == {"search_pipeline": "mrs-hybrid"} and "search_pipeline" not in body
    assert body["query"]["hybrid"]["pagination_depth"] == 50
    assert body["query"]["hybrid"]["queries"][1]["knn"]["embedding"]["k"] == 50
    backend.hybrid("shirt", VEC, 5, pipeline=rrf_pipeline())
    body = [s for s in cluster.searches() if "hybrid" in s[2]["query"]][-1][2]
    assert "score-ranker-processor" in body["search_pipeline"]["phase_results_processors"][0]


def test_hybrid_raw_score_is_none_outside_the_candidates(cluster, sleeps):
    cluster.indices["p"] = {"body": index_body(SPEC), "docs": {}}
    cluster.search_responder = responder({"multi_match": {"a": 7.5, "b": 3.25, "c": 1.0},
                                          "knn": {"c": 0.95, "b": 0.8, "a": 0.1}, "hybrid": {"c": 0.6}})
    backend = OpenSearchBackend(cluster.client(), "p", SPEC, sleep=sleeps)
    (hit,) = backend.hybrid("shirt", VEC, 1)
    # depth 1: lexical candidates [a], dense candidates [c]
    assert hit.id == "c" and hit.scores == {"lexical": None, "dense": 0.95}


def test_score_documents_scores_judged_docs_whether_retrieved_or_not(backend, cluster):
    out = backend.score_documents("shirt", VEC, ["c", "a", "zz"])
    assert out == {"c": {"lexical": None, "dense": 0.7}, "a": {"lexical": 7.5, "dense": 0.9},
                   "zz": {"lexical": None, "dense": None}}
    lexical_body, dense_body = (s[2] for s in cluster.searches()[-2:])
    assert lexical_body["query"]["bool"]["filter"] == [{"ids": {"values": ["c", "a", "zz"]}}]
    assert dense_body["query"]["knn"]["embedding"]["k"] == 3
    assert dense_body["query"]["knn"]["embedding"]["filter"] == {"ids": {"values": ["c", "a", "zz"]}}


def test_calls_retry_then_fail_with_a_redacted_cluster_error(backend, cluster, sleeps):
    cluster.fault("POST", "/p/_search", [503, 429])
    assert backend.lexical("x", 1)[0].id == "a"
    assert sleeps.calls == [0.25, 0.5]  # 0.5·2^0·(1−0.5), 0.5·2^1·(1−0.5) with rand 0
    cluster.fault("POST", "/p/_search", [400])
    with pytest.raises(ClusterError, match="HTTP 400"):
        backend.lexical("x", 1)


def test_backend_from_index_reads_the_spec_back(backend, cluster):
    opened = backend_from_index(cluster.client(), "p")
    assert opened.spec.text_fields == {"title": 3.0, "brand": 1.0} and opened.spec.dimension == 3
    cluster.indices["foreign"] = {"body": {"mappings": {"properties": {}}}, "docs": {}}
    with pytest.raises(InputError, match="not created by mrs"):
        backend_from_index(cluster.client(), "foreign")


def test_document_source_leaves_out_empty_bm25_fields():
    doc = Document(id="1", fields={"title": "Shirt", "brand": None, "price": 9.5}, text="Shirt",
                   vector=np.array([1, 0, 0], dtype=np.float32))
    src = document_source(doc, SPEC, {"title": "Shirt", "brand": ""})
    assert src == {"title": "Shirt", "id": "1", "embedding_text": "Shirt",
                   "product": {"title": "Shirt", "brand": None, "price": 9.5}, "embedding": [1.0, 0.0, 0.0]}


class FakeEncoder:
    """Deterministic 3-d unit vectors from a text hash; counts what it encodes."""

    backend = "torch"
    normalize = True
    space_type = "cosinesimil"
    dimension = 3
    identity = {"name": "fake", "sha256": "f" * 64}

    def __init__(self):
        self.encoded = 0

    def encode(self, texts):
        self.encoded += len(texts)
        out = []
        for t in texts:
            h = hashlib.sha256(t.encode()).digest()
            v = np.array([h[0] + 1, h[1] + 1, h[2] + 1], dtype=np.float32)
            out.append(v / np.linalg.norm(v))
        return np.stack(out)


def products(n=5):
    return [Product(id=f"p{i}", fields={"title": f"Cotton shirt {i}", "brand": "Acme" if i % 2 else None,
                                        "color": ["red", "blue"][i % 2], "category": ["Clothing", "Shirts"]},
                    source_line=i + 1) for i in range(n)]


def test_index_catalog_blue_green_end_to_end(cluster, sleeps, tmp_path):
    client = cluster.client()
    enc = FakeEncoder()
    spec = IndexSpec(dimension=3, text_fields={"title": 3.0, "brand": 2.0, "category": 1.0}, similarity="LegacyBM25")
    t1 = datetime(2026, 1, 1, tzinfo=UTC)
    r1 = index_catalog_opensearch(products(), client=client, alias="shop", encoder=enc, spec=spec,
                                  work_dir=tmp_path, now=t1, sleep=sleeps, bulk=BulkConfig(chunk_docs=2))
    assert r1.status == "swapped" and r1.index == "shop-20260101000000" and r1.count == 5
    assert cluster.aliases["shop"] == {"shop-20260101000000"}
    created = cluster.indices["shop-20260101000000"]["body"]
    assert created["settings"]["index"]["similarity"]["mrs_bm25"]["type"] == "LegacyBM25"
    doc = cluster.indices["shop-20260101000000"]["docs"]["p0"]
    assert doc["title"] == "Cotton shirt 0" and "brand" not in doc and doc["category"] == "Clothing > Shirts"
    assert doc["embedding_text"].startswith("Cotton shirt 0") and len(doc["embedding"]) == 3
    assert enc.encoded == 5 and r1.embedded == 5
    opened = backend_from_index(client, "shop")
    assert opened.meta["mrs_model"] == FakeEncoder.identity and opened.spec.similarity == "LegacyBM25"

    # second generation: unchanged catalog → every vector from the cache; alias moves; one old kept
    r2 = index_catalog_opensearch(products(), client=client, alias="shop", encoder=enc, spec=spec,
                                  work_dir=tmp_path, now=datetime(2026, 2, 1, tzinfo=UTC), sleep=sleeps)
    assert r2.cached == 5 and r2.embedded == 0 and enc.encoded == 5
    assert r2.previous == ["shop-20260101000000"] and r2.kept == ["shop-20260101000000"]
    r3 = index_catalog_opensearch(products(), client=client, alias="shop", encoder=enc, spec=spec,
                                  work_dir=tmp_path, now=datetime(2026, 3, 1, tzinfo=UTC), keep=1, sleep=sleeps)
    assert r3.deleted == ["shop-20260101000000"] and cluster.aliases["shop"] == {"shop-20260301000000"}


def test_dead_letters_keep_the_alias_and_resume_finishes(cluster, sleeps, tmp_path):
    client = cluster.client()
    enc = FakeEncoder()
    cluster.item_faults["p3"] = [(400, {"type": "mapper_parsing_exception", "reason": "bad"})]
    r1 = index_catalog_opensearch(products(), client=client, alias="shop", encoder=enc, spec=SPEC,
                                  work_dir=tmp_path, now=datetime(2026, 1, 1, tzinfo=UTC), sleep=sleeps)
    assert r1.status == "incomplete" and r1.failed == 1 and "shop" not in cluster.aliases
    rows = [json.loads(x) for x in work_paths(tmp_path, "shop")["dead_letter"].read_text().splitlines()]
    assert [r["id"] for r in rows] == ["p3"]
    # the cause is fixed (the fault was one-shot): resume sends only p3 into the same index, then swaps
    n_bulk = len([r for r in cluster.requests if r[1] == "/_bulk"])
    r2 = index_catalog_opensearch(products(), client=client, alias="shop", encoder=enc, spec=SPEC,
                                  work_dir=tmp_path, resume=True, sleep=sleeps)
    assert r2.status == "swapped" and r2.index == r1.index and r2.indexed == 1 and r2.skipped == 4
    sent = [r[3] for r in cluster.requests if r[1] == "/_bulk"][n_bulk:]
    assert len(sent) == 1 and '"p3"' in sent[0] and '"p0"' not in sent[0]
    again = index_catalog_opensearch(products(), client=client, alias="shop", encoder=enc, spec=SPEC,
                                     work_dir=tmp_path, resume=True, sleep=sleeps)
    assert again.status == "up-to-date"


def test_resume_without_checkpoint_and_duplicate_ids_are_input_errors(cluster, tmp_path):
    client = cluster.client()
    with pytest.raises(InputError, match="nothing to resume"):
        index_catalog_opensearch(products(), client=client, alias="shop", encoder=FakeEncoder(), work_dir=tmp_path,
                                 resume=True)
    with pytest.raises(InputError, match="twice"):
        index_catalog_opensearch(products(2) + products(1), client=client, alias="shop2", encoder=FakeEncoder(),
                                 work_dir=tmp_path)


def test_vectors_of_the_embedded_index_cache_are_reused(cluster, sleeps, tmp_path):
    from mrs.indexer.cache import EmbeddingCache, cache_key

    enc = FakeEncoder()
    prods = products(3)
    from mrs.data.text import ProductTextTemplate

    texts = [ProductTextTemplate().render(p) for p in prods]
    keys = [cache_key(enc.identity["sha256"], "torch", True, t) for t in texts]
    seeded = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]], dtype=np.float32)
    EmbeddingCache.save(tmp_path / "local" / "embedding_cache.npz", keys[:2], seeded[:2])
    r = index_catalog_opensearch(prods, client=cluster.client(), alias="shop", encoder=enc, spec=SPEC,
                                 work_dir=tmp_path / "w", seed_cache=tmp_path / "local" / "embedding_cache.npz",
                                 sleep=sleeps)
    assert (r.cached, r.embedded, enc.encoded) == (2, 1, 1)
    docs = cluster.indices[r.index]["docs"]
    assert docs["p0"]["embedding"] == [1.0, 0.0, 0.0] and docs["p1"]["embedding"] == [0.0, 1.0, 0.0]
