"""The cluster embeds: the OpenSearch ingest pipeline (Painless text script + text_embedding), its text equal to
mrs's local text, and `mrs index catalog --embed-on cluster` against the in-memory node.

The script's text is checked through tests/fakes/ingest.py, a transliteration of the Painless source with Java's
semantics that never calls mrs's renderer; the vectors through the model zip `mrs export opensearch-ml` writes,
run with onnxruntime the way ML Commons' ONNX translator runs it (tokenizer.json, one text at a time, mean
pooling of the first output over the attention mask).

Docs: OpenSearch ingest-pipelines/processors/text-embedding (model_id, field_map), processors/script,
ingest APIs (PUT _ingest/pipeline/ID, index.default_pipeline), bulk API (``pipeline`` in the action metadata).
"""

from __future__ import annotations

import json
import random
import struct

import numpy as np
import pytest
from click.testing import CliRunner

from fakes.ingest import (
    NoLocalEncoding,
    _py_float,
    hashed_vector,
    java_double_to_string,
    run_embedding_text_script,
)
from fakes.text_catalog import EDGE_PRODUCTS, TEMPLATES, edge_catalog
from mrs.data.catalog import Product
from mrs.data.text import DEFAULT_TEMPLATE, ProductTextTemplate
from mrs.errors import InputError
from mrs.opensearch.ingest_pipeline import (
    EMBEDDING_TEXT_SCRIPT,
    check_pipeline_template,
    embedding_pipeline_body,
    pipeline_template,
)


def ingest_text(template: ProductTextTemplate, product: Product) -> str:
    """The text the pipeline's script writes for ``product`` (document source as mrs sends it, JSON round trip)."""
    script = embedding_pipeline_body(template, "model-1")["processors"][0]["script"]
    ctx = json.loads(json.dumps({"id": product.id, "product": product.fields}))
    ctx["_id"] = product.id
    run_embedding_text_script(ctx, json.loads(json.dumps(script["params"])))
    return ctx["embedding_text"]




@pytest.fixture(scope="module")
def sample_products(sample):
    from mrs.data.readers import read_catalog

    return list(read_catalog(sample.catalog))


def test_pipeline_body_is_the_text_script_then_text_embedding():
    template = ProductTextTemplate()
    body = embedding_pipeline_body(template, "model-1", vector_field="embedding")
    script, embed = body["processors"]
    assert script["script"]["lang"] == "painless" and script["script"]["source"] == EMBEDDING_TEXT_SCRIPT
    params = script["script"]["params"]
    assert params["target_field"] == "embedding_text"
    assert params["description"]["segments"] == [
        [{"field": "title"}],
        [{"text": "Brand: "}, {"field": "brand"}],
        [{"text": "Color: "}, {"field": "color"}],
        [{"text": "Category: "}, {"field": "category", "slice": [-2, None]}],
    ]
    assert (params["description"]["segment_separator"], params["description"]["list_joiner"]) == (". ", " > ")
    assert embed == {"text_embedding": {"tag": "mrs-embedding", "model_id": "model-1",
                                        "field_map": {"embedding_text": "embedding"}}}
    assert pipeline_template(body) == DEFAULT_TEMPLATE
    check_pipeline_template("p", body, template)
    with pytest.raises(InputError, match="renders the text template"):
        check_pipeline_template("p", body, ProductTextTemplate("{title}"))
    with pytest.raises(InputError, match="model id"):
        embedding_pipeline_body(template, "")


def test_script_handles_what_json_sends_as_python_str_does():
    t = ProductTextTemplate("{a}. {b}. {c}. {d}")
    p = Product("x", {"a": True, "b": 3, "c": 2.5, "d": [1.0, "  y "]})
    assert ingest_text(t, p) == t.render(p) == "True. 3. 2.5. 1.0 > y"
    with pytest.raises(Exception, match=r"field \[a\] holds an object"):
        ingest_text(t, Product("x", {"a": {"k": 1}}))


@pytest.mark.parametrize("value,java", [
    (100.0, "100.0"), (0.001, "0.001"), (1e-5, "1.0E-5"), (12345678.5, "1.23456785E7"), (1e7, "1.0E7"),
    (1234567.0, "1234567.0"), (0.1, "0.1"), (1.5e20, "1.5E20"), (9.999e-4, "9.999E-4"),
])
def test_fake_double_to_string_is_javas(value, java):
    assert java_double_to_string(value) == java  # Double.toString as the JDK documents it


# Painless allowlist (OpenSearch modules/lang-painless .../spi/java.lang.txt, java.util.txt): the methods the
# script may call. String has no indexOf(int) and Math.max/min take doubles only, so the script uses neither.
ALLOWED_CALLS = {"substring", "indexOf", "length", "append", "toString", "startsWith", "endsWith", "parseInt",
                 "isInfinite", "doubleValue", "booleanValue", "add", "get", "size", "containsKey"}


def test_script_calls_only_allowlisted_methods():
    import re

    body = EMBEDDING_TEXT_SCRIPT
    calls = set(re.findall(r"\.([A-Za-z_]+)\(", body))
    assert calls <= ALLOWED_CALLS, calls - ALLOWED_CALLS
    assert "indexOf((int)" not in body and "Math." not in body and "java.math" not in body


def test_script_float_text_is_python_repr():
    rng = random.Random(0)
    values = [0.1, 1e-4, 9.999e-5, 1e-5, 1e15, 1e16, 9999999999999998.0, 123456789012345.6, 5e-324,
              1.7976931348623157e308, -1.5, 2.0 ** 70, 100.0, 0.5, 1 / 3]
    values += [struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0] for _ in range(20000)]
    values += [rng.uniform(-1e7, 1e7) for _ in range(2000)] + [rng.uniform(0, 1e-3) for _ in range(2000)]
    for v in values:
        if v == v and abs(v) != float("inf"):
            assert _py_float(v) == repr(v), v


@pytest.mark.parametrize("template", TEMPLATES)
def test_ingest_text_equals_local_text_for_the_sample_catalog(sample_products, template):
    t = ProductTextTemplate(template)
    products = edge_catalog(sample_products)
    mismatches = [(p.id, t.render(p), ingest_text(t, p)) for p in products if t.render(p) != ingest_text(t, p)]
    assert mismatches == []
    assert len(products) == 308 and len({t.render(p) for p in products}) > 40  # not all empty or alike


# ---------------------------------------------------------------------------- `mrs index catalog --embed-on cluster`



@pytest.fixture
def os_node(cluster, monkeypatch):
    import mrs.cli.cluster as cli_cluster
    import mrs.cli.index as cli_index

    monkeypatch.setattr(cli_cluster, "make_client", lambda settings, connection_class=None: cluster.client())
    monkeypatch.setattr(cli_index, "load_encoder", lambda *a, **kw: NoLocalEncoding())
    monkeypatch.setenv("MRS_OPENSEARCH_URL", "http://fake:9200")
    monkeypatch.delenv("MRS_OPENSEARCH_USER", raising=False)
    monkeypatch.delenv("MRS_OPENSEARCH_PASSWORD", raising=False)
    cluster.ml_models["model-1"] = {"model_state": "DEPLOYED", "function_name": "TEXT_EMBEDDING",
                                    "model_config": {"embedding_dimension": 3}}
    cluster.ingest.embedders["model-1"] = hashed_vector
    return cluster


def write_catalog(path, products):
    path.write_text("".join(json.dumps({"id": p.id, **p.fields}) + "\n" for p in products), encoding="utf-8")
    return path


def index_cluster(tmp_path, catalog, *extra):
    from mrs.cli.main import cli

    args = ["index", "catalog", str(catalog), "--backend", "opensearch", "--index", "shop", "--fields",
            "title^3,brand", "--work-dir", str(tmp_path / "work"), "--json", *extra]
    return CliRunner().invoke(cli, args)


def bulk_actions(cluster):
    """(action metadata, source) of every bulk item the node received."""
    out = []
    for _method, path, _params, body in cluster.requests:
        if path.endswith("/_bulk"):
            lines = [json.loads(ln) for ln in body.split("\n") if ln.strip()]
            out += list(zip(lines[::2], lines[1::2], strict=True))
    return out


def test_embed_on_cluster_sends_no_vectors_through_the_pipeline(os_node, tmp_path, sample_products):
    products = edge_catalog(sample_products)[:40] + EDGE_PRODUCTS
    catalog = write_catalog(tmp_path / "c.jsonl", products)
    result = index_cluster(tmp_path, catalog, "--embed-on", "cluster", "--model-id", "model-1")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert (out["status"], out["embed_on"], out["ingest_pipeline"], out["model_id"]) == (
        "swapped", "cluster", "mrs-embed", "model-1")
    assert out["embedded"] == out["cached"] == 0
    assert os_node.ingest.bodies["mrs-embed"] == embedding_pipeline_body(ProductTextTemplate(), "model-1")
    body = os_node.indices[out["index"]]["body"]
    assert body["settings"]["index"]["default_pipeline"] == "mrs-embed"
    actions = bulk_actions(os_node)
    assert len(actions) == len(products)
    for meta, source in actions:
        assert meta["index"]["pipeline"] == "mrs-embed"
        assert "embedding" not in source and "embedding_text" not in source
    docs = os_node.indices[out["index"]]["docs"]
    template = ProductTextTemplate()
    for p in products:
        text = template.render(p)
        assert docs[p.id]["embedding_text"] == text
        if text:
            assert docs[p.id]["embedding"] == hashed_vector(text)
        else:  # neural-search ≥ 2.19 stores a blank text without a vector: counted and named, not silent
            assert "embedding" not in docs[p.id]
    empty = [p.id for p in products if not template.render(p)]
    assert empty == ["e1"] and out["empty_texts"] == 1
    assert f"warning: the embedding text is empty for 1 of {len(products)} products (e1)" in result.stderr
    assert not (tmp_path / "work" / "shop.embedding_cache.npz").exists()


def test_embed_on_cluster_reuses_an_installed_pipeline_and_checks_its_template(os_node, tmp_path):
    catalog = write_catalog(tmp_path / "c.jsonl", EDGE_PRODUCTS)
    os_node.ingest.bodies["shop-embed"] = embedding_pipeline_body(ProductTextTemplate("{title}"), "model-1")
    ok = index_cluster(tmp_path, catalog, "--embed-on", "cluster", "--ingest-pipeline", "shop-embed",
                       "--text-template", "{title}")
    assert ok.exit_code == 0, ok.output
    assert all(meta["index"]["pipeline"] == "shop-embed" for meta, _ in bulk_actions(os_node))
    other = index_cluster(tmp_path, catalog, "--embed-on", "cluster", "--ingest-pipeline", "shop-embed")
    assert other.exit_code == 2 and "renders the text template '{title}'" in other.stderr


@pytest.mark.parametrize("extra,message", [
    (["--embed-on", "cluster"], "ML Commons model id is missing: pass --model-id"),
    (["--embed-on", "cluster", "--ingest-pipeline", "absent"], "ingest pipeline 'absent' not found"),
    (["--embed-on", "cluster", "--model-id", "nope"], "ML model 'nope' not found on the cluster"),
])
def test_embed_on_cluster_errors_are_one_line_exit_2(os_node, tmp_path, extra, message):
    catalog = write_catalog(tmp_path / "c.jsonl", EDGE_PRODUCTS)
    result = index_cluster(tmp_path, catalog, *extra)
    assert result.exit_code == 2, result.output
    assert message in result.stderr and "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1
    assert not any(p.endswith("/_bulk") for _, p, _, _ in os_node.requests)


def test_embed_on_cluster_refuses_a_model_of_another_dimension_or_not_deployed(os_node, tmp_path):
    catalog = write_catalog(tmp_path / "c.jsonl", EDGE_PRODUCTS)
    os_node.ml_models["model-1"]["model_config"]["embedding_dimension"] = 384
    wrong = index_cluster(tmp_path, catalog, "--embed-on", "cluster", "--model-id", "model-1")
    assert wrong.exit_code == 2 and "embeds in 384 dimensions" in wrong.stderr
    os_node.ml_models["model-2"] = {"model_state": "REGISTERED", "model_config": {"embedding_dimension": 3}}
    idle = index_cluster(tmp_path, catalog, "--embed-on", "cluster", "--model-id", "model-2")
    assert idle.exit_code == 2 and "is REGISTERED, not DEPLOYED" in idle.stderr


def test_embed_on_cluster_needs_a_cluster_backend(tmp_path):
    from mrs.cli.main import cli

    catalog = write_catalog(tmp_path / "c.jsonl", EDGE_PRODUCTS)
    result = CliRunner().invoke(cli, ["index", "catalog", str(catalog), "--index", str(tmp_path / "idx"),
                                      "--embed-on", "cluster", "--model-id", "m"])
    assert result.exit_code == 2 and "needs --backend opensearch or elasticsearch" in result.output
    stray = CliRunner().invoke(cli, ["index", "catalog", str(catalog), "--index", str(tmp_path / "idx"),
                                     "--model-id", "m"])
    assert stray.exit_code == 2 and "go with --embed-on cluster" in stray.output


def test_templates_render_writes_and_install_puts_the_ingest_pipeline(cluster, monkeypatch, tmp_path):
    import mrs.cli.cluster as cli_cluster
    from mrs.cli.main import cli

    out_dir = tmp_path / "os"
    result = CliRunner().invoke(cli, ["templates", "render", "--dimension", "3", "--out", str(out_dir),
                                      "--model-id", "model-1", "--text-template", "{title}. {brand}", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    written = json.loads((out_dir / "ingest" / "mrs-embed.json").read_text())
    assert written == embedding_pipeline_body(ProductTextTemplate("{title}. {brand}"), "model-1")
    assert out["ingest_pipeline"] == str(out_dir / "ingest" / "mrs-embed.json")
    manifest = json.loads((out_dir / "manifest.json").read_text())
    assert manifest["install"]["ingest_pipelines"] == {"mrs-embed": "PUT /_ingest/pipeline/mrs-embed"}
    assert manifest["templates"]  # the rest of the set is still listed
    monkeypatch.setattr(cli_cluster, "make_client", lambda settings, connection_class=None: cluster.client())
    monkeypatch.setenv("MRS_OPENSEARCH_URL", "http://fake:9200")
    installed = CliRunner().invoke(cli, ["templates", "install", str(out_dir), "--json"])
    assert installed.exit_code == 0, installed.output
    assert json.loads(installed.stdout)["ingest_pipelines"] == ["mrs-embed"]
    assert cluster.ingest.bodies["mrs-embed"] == written


# ---------------------------------------------------------------------------- vectors: exported model vs local

def onnx_cluster_embedder(zip_path, tmp_path):
    """The exported zip run as ML Commons' ONNX translator runs it: tokenizer.json one text at a time, the first
    output mean-pooled over the attention mask."""
    import zipfile

    import onnxruntime as ort
    from tokenizers import Tokenizer

    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(tmp_path / "model")
    model_file = next((tmp_path / "model").glob("*.onnx"))
    tokenizer = Tokenizer.from_file(str(tmp_path / "model" / "tokenizer.json"))
    session = ort.InferenceSession(str(model_file), providers=["CPUExecutionProvider"])
    wanted = {i.name for i in session.get_inputs()}

    def embed(text: str) -> list[float]:
        enc = tokenizer.encode(text)
        feeds = {"input_ids": [enc.ids], "attention_mask": [enc.attention_mask], "token_type_ids": [enc.type_ids]}
        feeds = {k: np.asarray(v, dtype=np.int64) for k, v in feeds.items() if k in wanted}
        per_token = session.run(None, feeds)[0][0]
        mask = feeds["attention_mask"][0].astype(np.float32)[:, None]
        return ((per_token * mask).sum(axis=0) / mask.sum()).tolist()

    return embed


def test_cluster_embedded_vectors_agree_with_local_ones(cluster, minilm, monkeypatch, tmp_path, sample_products):
    pytest.importorskip("onnxruntime")
    import mrs.cli.cluster as cli_cluster
    import mrs.cli.index as cli_index
    from mrs.indexer.embed import Encoder
    from mrs.models import model_identity
    from mrs.opensearch.ml_export import export_model

    encoder = Encoder(minilm, model_identity(None))  # mrs's local encoder over the packaged MiniLM fixture
    monkeypatch.setattr(cli_index, "load_encoder", lambda *a, **kw: encoder)
    exported = export_model(None, tmp_path / "minilm.zip", "onnx", verify=False)
    dimension = exported["register"]["model_config"]["embedding_dimension"]
    cluster.ml_models["minilm"] = {"model_state": "DEPLOYED", "function_name": "TEXT_EMBEDDING",
                                   "model_config": {"embedding_dimension": dimension}}
    cluster.ingest.embedders["minilm"] = onnx_cluster_embedder(tmp_path / "minilm.zip", tmp_path)
    monkeypatch.setattr(cli_cluster, "make_client", lambda settings, connection_class=None: cluster.client())
    monkeypatch.setenv("MRS_OPENSEARCH_URL", "http://fake:9200")
    products = edge_catalog(sample_products)
    catalog = write_catalog(tmp_path / "c.jsonl", products)
    result = index_cluster(tmp_path, catalog, "--embed-on", "cluster", "--model-id", "minilm")
    assert result.exit_code == 0, result.output
    docs = cluster.indices[json.loads(result.stdout)["index"]]["docs"]
    template = ProductTextTemplate()
    embedded = [p for p in products if template.render(p)]  # e1 has no text: no vector on the cluster
    local = encoder.encode([template.render(p) for p in embedded])
    remote = np.array([docs[p.id]["embedding"] for p in embedded], dtype=np.float64)
    cosines = (remote * local).sum(axis=1) / (np.linalg.norm(remote, axis=1) * np.linalg.norm(local, axis=1))
    assert len(cosines) == 307 and cosines.min() >= 0.999, cosines.min()


def test_render_takes_the_index_template_and_refuses_another(tmp_path):
    from mrs.cli.main import cli

    index_dir = tmp_path / "idx"
    small = write_catalog(tmp_path / "c.jsonl", EDGE_PRODUCTS[1:4])
    import mrs.cli.index as cli_index

    class Tiny(NoLocalEncoding):
        def encode(self, texts, **kwargs):
            return np.array([hashed_vector(t) for t in texts], dtype=np.float32)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cli_index, "load_encoder", lambda *a, **kw: Tiny())
        built = CliRunner().invoke(cli, ["index", "catalog", str(small), "--index", str(index_dir),
                                         "--text-template", "{title}. {color}", "--json"])
    assert built.exit_code == 0, built.output
    out_dir = tmp_path / "os"
    ok = CliRunner().invoke(cli, ["templates", "render", "--from-index", str(index_dir), "--out", str(out_dir),
                                  "--model-id", "m1", "--json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["text_template"] == "{title}. {color}"
    assert pipeline_template(json.loads((out_dir / "ingest" / "mrs-embed.json").read_text())) == "{title}. {color}"
    other = CliRunner().invoke(cli, ["templates", "render", "--from-index", str(index_dir), "--out", str(out_dir),
                                     "--model-id", "m1", "--text-template", "{title}"])
    assert other.exit_code == 2 and "differs from the template the index was built with" in other.stderr
    stray = CliRunner().invoke(cli, ["templates", "render", "--dimension", "3", "--out", str(out_dir),
                                     "--text-template", "{title}"])
    assert stray.exit_code == 2 and "--text-template goes with --model-id" in stray.output
