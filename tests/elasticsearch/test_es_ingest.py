"""The cluster embeds on Elasticsearch: the ingest pipeline (the shared Painless text script + an ``inference``
processor with a text_embedding endpoint) and `mrs index catalog --backend elasticsearch --embed-on cluster`
against the in-memory node. The script's text itself is tested in tests/opensearch/test_os_ingest.py (one
script serves both clusters).

Docs: Elasticsearch reference/enrich-processor/inference-processor (model_id = inference id, input_output),
inference API (PUT/GET _inference/text_embedding/<id>, service elasticsearch), ingest pipeline API, bulk API
(``pipeline`` in the action metadata), index setting index.default_pipeline.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from fakes.ingest import NoLocalEncoding, hashed_vector
from mrs.data.text import ProductTextTemplate
from mrs.elasticsearch.ingest_pipeline import embedding_pipeline_body, inference_endpoint_body
from mrs.errors import InputError
from mrs.opensearch.ingest_pipeline import EMBEDDING_TEXT_SCRIPT

CATALOG = [
    {"id": "p1", "title": "Red cotton shirt", "brand": "Acme", "category": ["Clothing", "Shirts"]},
    {"id": "p2", "title": "Blue denim jeans", "brand": None, "category": "Clothing > Jeans"},
    {"id": "p3", "title": "Gr\u00fcner Wollschal \u4e2d", "color": ""},
    {"id": "p4", "title": "Red leather boots", "brand": "Acme", "color": "red"},
]




@pytest.fixture
def es_node(es, monkeypatch):
    import mrs.cli.es as cli_es
    import mrs.cli.index as cli_index

    monkeypatch.setattr(cli_es, "make_client", lambda settings, node_class=None: es.client())
    monkeypatch.setattr(cli_index, "load_encoder", lambda *a, **kw: NoLocalEncoding())
    monkeypatch.setenv("MRS_ELASTICSEARCH_URL", "http://fake:9200")
    for var in ("MRS_ELASTICSEARCH_API_KEY", "MRS_ELASTICSEARCH_USER", "MRS_ELASTICSEARCH_PASSWORD"):
        monkeypatch.delenv(var, raising=False)
    es.inference_endpoints["minilm-e"] = {"inference_id": "minilm-e", "task_type": "text_embedding",
                                          "service": "elasticsearch", "service_settings": {"model_id": "minilm"}}
    es.ingest.embedders["minilm-e"] = hashed_vector
    return es


def run_index(tmp_path, *extra):
    from mrs.cli.main import cli

    catalog = tmp_path / "c.jsonl"
    catalog.write_text("".join(json.dumps(p) + "\n" for p in CATALOG), encoding="utf-8")
    args = ["index", "catalog", str(catalog), "--backend", "elasticsearch", "--index", "shop", "--fields",
            "title^3,brand", "--work-dir", str(tmp_path / "work"), "--json", *extra]
    return CliRunner().invoke(cli, args)


def test_pipeline_body_is_the_text_script_then_inference():
    body = embedding_pipeline_body(ProductTextTemplate(), "minilm-e", vector_field="embedding")
    script, infer = body["processors"]
    assert script["script"]["source"] == EMBEDDING_TEXT_SCRIPT
    assert script["script"]["params"]["description"] == ProductTextTemplate().description()
    assert infer == {"inference": {"tag": "mrs-embedding", "model_id": "minilm-e",
                                   "input_output": [{"input_field": "embedding_text", "output_field": "embedding"}]}}
    assert inference_endpoint_body("minilm") == {
        "service": "elasticsearch", "service_settings": {"model_id": "minilm", "num_allocations": 1, "num_threads": 1}}
    with pytest.raises(InputError, match="inference endpoint id"):
        embedding_pipeline_body(ProductTextTemplate(), "")


def test_embed_on_cluster_sends_no_vectors_through_the_pipeline(es_node, tmp_path):
    result = run_index(tmp_path, "--embed-on", "cluster", "--model-id", "minilm-e")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert (out["status"], out["embed_on"], out["ingest_pipeline"]) == ("swapped", "cluster", "mrs-embed")
    assert es_node.ingest.bodies["mrs-embed"] == embedding_pipeline_body(ProductTextTemplate(), "minilm-e")
    assert es_node.indices[out["index"]]["body"]["settings"]["index"]["default_pipeline"] == "mrs-embed"
    bulks = [b for _, p, b in es_node.requests if p.endswith("/_bulk")]
    lines = [json.loads(ln) for body in bulks for ln in body.split("\n") if ln.strip()]
    metas, sources = lines[::2], lines[1::2]
    assert len(metas) == len(CATALOG) and all(m["index"]["pipeline"] == "mrs-embed" for m in metas)
    assert all("embedding" not in s and "embedding_text" not in s for s in sources)
    docs = es_node.indices[out["index"]]["docs"]
    from mrs.data.catalog import Product

    for row in CATALOG:
        text = ProductTextTemplate().render(Product(row["id"], row))
        assert docs[row["id"]]["embedding_text"] == text and docs[row["id"]]["embedding"] == hashed_vector(text)
    assert docs["p2"]["embedding_text"] == "Blue denim jeans. Category: Clothing > Jeans"


@pytest.mark.parametrize("extra,message", [
    (["--embed-on", "cluster"], "inference endpoint id is missing: pass --model-id"),
    (["--embed-on", "cluster", "--model-id", "absent"], "inference endpoint 'absent' (text_embedding) not found"),
    (["--embed-on", "cluster", "--ingest-pipeline", "absent"], "ingest pipeline 'absent' not found"),
])
def test_embed_on_cluster_errors_are_one_line_exit_2(es_node, tmp_path, extra, message):
    result = run_index(tmp_path, *extra)
    assert result.exit_code == 2, result.output
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not any(p.endswith("/_bulk") for _, p, _ in es_node.requests)


def test_templates_render_and_install_the_elasticsearch_ingest_pipeline(es_node, tmp_path):
    from mrs.cli.main import cli

    out_dir = tmp_path / "es"
    rendered = CliRunner().invoke(cli, ["templates", "render", "--target", "elasticsearch", "--dimension", "3",
                                        "--out", str(out_dir), "--model-id", "minilm-e", "--json"])
    assert rendered.exit_code == 0, rendered.output
    written = json.loads((out_dir / "ingest" / "mrs-embed.json").read_text())
    assert written == embedding_pipeline_body(ProductTextTemplate(), "minilm-e")
    installed = CliRunner().invoke(cli, ["templates", "install", str(out_dir), "--json"])
    assert installed.exit_code == 0, installed.output
    assert json.loads(installed.stdout)["ingest_pipelines"] == ["mrs-embed"]
    assert es_node.ingest.bodies["mrs-embed"] == written
