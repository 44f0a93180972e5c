"""Live tests against a real cluster: run with ``MRS_OPENSEARCH_URL=http://localhost:9200 pytest -m opensearch``
(e.g. the node of opensearch/docker-compose.yml). Skipped when MRS_OPENSEARCH_URL is not set.

They create an index generation, bulk-load the generated sample catalog, install the rendered templates and
pipelines, run lexical / dense / hybrid, and compare top-10s and scores with the embedded engine built from the
same catalog with the same model — the score-space contract of docs/scoring.md.
"""

from __future__ import annotations

import json
import os
import uuid

import numpy as np
import pytest

pytestmark = [
    pytest.mark.opensearch,
    pytest.mark.skipif(not os.environ.get("MRS_OPENSEARCH_URL"), reason="MRS_OPENSEARCH_URL is not set"),
]

LEXICAL_REL_TOL = 1e-4   # BM25: float32 on the cluster vs float64 locally
DENSE_ABS_TOL = 1e-4     # k-NN scores from the same float32 vectors
HYBRID_ABS_TOL = 1e-3    # normalized + combined scores


@pytest.fixture(scope="module")
def live(sample, tmp_path_factory):
    from mrs.blending.deployment import read_deployment as read_calibration
    from mrs.data.readers import read_catalog
    from mrs.engine.engine import EmbeddedEngine
    from mrs.indexer.embed import Encoder
    from mrs.opensearch.backend import OpenSearchBackend
    from mrs.opensearch.connection import make_client, settings_from_env
    from mrs.opensearch.indexing import index_catalog_opensearch
    from mrs.opensearch.mapping import IndexSpec
    from mrs.opensearch.templates import install_set, render_set

    work = tmp_path_factory.mktemp("live")
    encoder = Encoder.load(None, space_type="cosinesimil")
    local_dir = work / "index"
    EmbeddedEngine.build(local_dir, read_catalog(sample.catalog), encoder=encoder, hnsw_threshold=10**9)
    local = EmbeddedEngine.open(local_dir)
    settings = settings_from_env()
    client = make_client(settings)
    alias = f"mrs-live-{uuid.uuid4().hex[:8]}"
    spec = IndexSpec(dimension=encoder.dimension)
    report = index_catalog_opensearch(read_catalog(sample.catalog), client=client, alias=alias, encoder=encoder,
                                      spec=spec, work_dir=work, keep=0)
    assert report.status == "swapped", report.to_dict()
    rendered = render_set(read_calibration(None), spec)
    install_set(client, rendered, spec.dimension)
    queries = [json.loads(line)["user_query"] for line in open(sample.queries, encoding="utf-8")][:10]
    backend = OpenSearchBackend(client, alias, spec, settings=settings, pagination_depth=100)
    yield {"local": local, "remote": backend, "encoder": encoder, "queries": queries, "client": client,
           "alias": alias, "report": report}
    client.indices.delete(index=report.index, ignore_unavailable=True)


def test_bulk_load_count_matches(live):
    assert live["remote"].count() == live["local"].count() == live["report"].documents


def test_lexical_top10_and_scores_match_the_embedded_engine(live):
    for q in live["queries"]:
        local = live["local"].lexical(q, 10)
        remote = live["remote"].lexical(q, 10)
        assert [h.id for h in remote][:5] == [h.id for h in local][:5], q
        for lh, rh in zip(local, remote, strict=False):
            if lh.id == rh.id:
                assert rh.score == pytest.approx(lh.score, rel=LEXICAL_REL_TOL), q


def test_dense_top10_and_scores_match(live):
    enc = live["encoder"]
    for q in live["queries"]:
        v = enc.encode_query(q)
        local = live["local"].knn(v, k=10)
        remote = live["remote"].knn(v, k=10)
        overlap = len({h.id for h in local} & {h.id for h in remote})
        assert overlap >= 9, q  # HNSW on the cluster vs exact locally
        scores = {h.id: h.score for h in local}
        for h in remote:
            if h.id in scores:
                assert h.score == pytest.approx(scores[h.id], abs=DENSE_ABS_TOL)


def test_hybrid_with_the_installed_pipeline_matches(live):
    from mrs.opensearch.pipelines import default_pipeline

    enc = live["encoder"]
    for q in live["queries"]:
        v = enc.encode_query(q)
        local = live["local"].hybrid(q, v, 10, default_pipeline(), pagination_depth=100)
        remote = live["remote"].hybrid(q, v, 10, pipeline="mrs-hybrid")
        assert len({h.id for h in local[:10]} & {h.id for h in remote[:10]}) >= 8, q
        scores = {h.id: h.score for h in local}
        top = remote[0]
        if top.id in scores:
            assert top.score == pytest.approx(scores[top.id], abs=HYBRID_ABS_TOL)


def test_score_documents_matches(live):
    enc = live["encoder"]
    q = live["queries"][0]
    v = enc.encode_query(q)
    ids = [h.id for h in live["local"].knn(v, k=5)] + [h.id for h in live["local"].lexical(q, 5)]
    local = live["local"].score_documents(q, v, ids)
    remote = live["remote"].score_documents(q, v, ids)
    for i in ids:
        assert remote[i]["dense"] == pytest.approx(local[i]["dense"], abs=DENSE_ABS_TOL)
        if local[i]["lexical"] is None:
            assert remote[i]["lexical"] is None
        else:
            assert remote[i]["lexical"] == pytest.approx(local[i]["lexical"], rel=LEXICAL_REL_TOL)


def test_search_templates_render_and_run(live):
    client, alias = live["client"], live["alias"]
    v = live["encoder"].encode_query('red "cotton"').tolist()
    resp = client.search_template(index=alias, body={"id": "mrs-lexical",
                                                     "params": {"query_text": 'red "cotton" }}', "size": 3}})
    assert "hits" in resp
    resp = client.search_template(index=alias, body={"id": "mrs-dense", "params": {
        "query_vector": v, "k": 3, "size": 3, "has_filter": False}})
    assert len(resp["hits"]["hits"]) == 3
    assert np.isfinite(resp["hits"]["hits"][0]["_score"])
