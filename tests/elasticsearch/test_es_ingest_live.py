"""Live: the real Painless script on a real Elasticsearch node (``_ingest/pipeline/_simulate``) writes the text
mrs renders locally, for the edge catalog and every test template. With MRS_ELASTICSEARCH_INFERENCE_ID (a
text_embedding endpoint over the packaged MiniLM uploaded with eland) the whole pipeline runs too and its vectors
must agree with the local ones (cosine ≥ 0.999). Skipped without MRS_ELASTICSEARCH_URL."""

from __future__ import annotations

import os

import numpy as np
import pytest

from fakes.ingest_live import row_cosines, simulated_sources
from fakes.text_catalog import TEMPLATES, edge_catalog
from mrs.cluster.ingest import text_script_processor
from mrs.data.text import ProductTextTemplate
from mrs.elasticsearch.ingest_pipeline import embedding_pipeline_body

pytestmark = [
    pytest.mark.elasticsearch,
    pytest.mark.skipif(not os.environ.get("MRS_ELASTICSEARCH_URL"), reason="MRS_ELASTICSEARCH_URL not set"),
]


@pytest.fixture(scope="module")
def client():
    from mrs.elasticsearch.connection import make_client, settings_from_env

    return make_client(settings_from_env())


@pytest.fixture(scope="module")
def products(sample):
    from mrs.data.readers import read_catalog

    return edge_catalog(list(read_catalog(sample.catalog)))


def simulate(client, pipeline, products):
    return simulated_sources(client.ingest.simulate, pipeline, products)


@pytest.mark.parametrize("template", TEMPLATES)
def test_painless_text_equals_local_text(client, products, template):
    t = ProductTextTemplate(template)
    sources = simulate(client, {"processors": [text_script_processor(t)]}, products)
    assert [s["embedding_text"] for s in sources] == [t.render(p) for p in products]


@pytest.mark.skipif(not os.environ.get("MRS_ELASTICSEARCH_INFERENCE_ID"),
                    reason="MRS_ELASTICSEARCH_INFERENCE_ID not set")
def test_cluster_vectors_agree_with_local_ones(client, products):
    from mrs.indexer.embed import Encoder

    t = ProductTextTemplate()
    body = embedding_pipeline_body(t, os.environ["MRS_ELASTICSEARCH_INFERENCE_ID"])
    remote = np.array([s["embedding"] for s in simulate(client, body, products)], dtype=np.float64)
    local = Encoder.load(None).encode([t.render(p) for p in products])
    cosines = row_cosines(remote, local)
    assert cosines.min() >= 0.999
