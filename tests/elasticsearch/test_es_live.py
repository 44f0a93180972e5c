"""Live suite against a real Elasticsearch cluster: runs only when MRS_ELASTICSEARCH_URL is set (credentials from
MRS_ELASTICSEARCH_API_KEY or MRS_ELASTICSEARCH_USER/PASSWORD), skips otherwise.

It indexes the generated sample catalog blue/green, installs and renders the templates, and checks that the
cluster's lexical and dense scores equal the embedded engine's (BM25 ÷ (k1 + 1) for a BM25 index; knn scores
of an hnsw index), that a calibrated threshold sent as knn.similarity keeps the documents the engine keeps, and
that the linear retriever ranks as mrs.engine.retriever_combine does."""

from __future__ import annotations

import os
import uuid

import pytest

pytestmark = [
    pytest.mark.elasticsearch,
    pytest.mark.skipif(not os.environ.get("MRS_ELASTICSEARCH_URL"), reason="MRS_ELASTICSEARCH_URL not set"),
]


@pytest.fixture(scope="module")
def live(sample, minilm, tmp_path_factory):
    from mrs.data.readers import read_catalog
    from mrs.elasticsearch.backend import backend_from_index
    from mrs.elasticsearch.connection import make_client, settings_from_env
    from mrs.elasticsearch.indexing import index_catalog_elasticsearch
    from mrs.engine.engine import EmbeddedEngine
    from mrs.indexer.embed import Encoder

    settings = settings_from_env()
    client = make_client(settings)
    encoder = Encoder.load(None)
    alias = f"mrs-live-{uuid.uuid4().hex[:8]}"
    work = tmp_path_factory.mktemp("es-work")
    report = index_catalog_elasticsearch(read_catalog(sample.catalog), client=client, alias=alias, encoder=encoder,
                                         work_dir=work, keep=0)
    assert report.status == "swapped"
    engine_dir = tmp_path_factory.mktemp("engine") / "idx"
    EmbeddedEngine.build(engine_dir, read_catalog(sample.catalog), encoder=encoder, hnsw_threshold=10 ** 9)
    yield client, backend_from_index(client, alias, settings=settings), EmbeddedEngine.open(engine_dir), encoder
    for index in list(client.indices.get(index=f"{alias}-*").keys()):
        client.indices.delete(index=index)


QUERIES = ["red cotton shirt", "blue jeans", "wool scarf for winter", "leather boots"]


def test_lexical_scores_match_the_engine(live):
    _, backend, engine, _ = live
    for q in QUERIES:
        cluster = {h.id: h.score for h in backend.lexical(q, 10)}
        local = {h.id: h.score for h in engine.lexical(q, 10)}
        common = set(cluster) & set(local)
        assert len(common) >= 8
        for doc in common:
            assert cluster[doc] == pytest.approx(local[doc], rel=1e-4)


def test_dense_scores_and_threshold_match_the_engine(live):
    _, backend, engine, encoder = live
    for q in QUERIES:
        vec = encoder.encode_query(q)
        cluster = {h.id: h.score for h in backend.knn(vec, k=10)}
        local = {h.id: h.score for h in engine.knn(vec, 10)}
        for doc in set(cluster) & set(local):
            assert cluster[doc] == pytest.approx(local[doc], abs=1e-4)
        t = sorted(local.values())[len(local) // 2]
        above = {h.id for h in backend.knn(vec, min_score=t)}
        assert {d for d, s in local.items() if s >= t + 1e-4} <= above


def test_linear_retriever_matches_the_engine(live):
    _, backend, engine, encoder = live
    body = {"linear": {"retrievers": [{"retriever": "lexical", "weight": 0.7, "normalizer": "minmax"},
                                      {"retriever": "dense", "weight": 0.3, "normalizer": "minmax"}],
                       "rank_window_size": 50}}
    for q in QUERIES:
        vec = encoder.encode_query(q)
        cluster = [h.id for h in backend.hybrid(q, vec, 10, body)]
        local = [h.id for h in engine.hybrid(q, vec, 10, body)]
        assert len(set(cluster[:5]) & set(local[:5])) >= 4


def test_templates_install_and_render(live):
    client, backend, _, _ = live
    from mrs.blending.deployment import deployment_from_dict as calibration_from_dict
    from mrs.elasticsearch.templates import install_set, render_set

    rendered = render_set(calibration_from_dict({"thresholds": {"dense": {"exact": {"threshold": 0.8}}}}),
                          backend.spec)
    result = install_set(client, rendered, backend.spec.dimension)
    assert result["checked"] == len(rendered.templates)
