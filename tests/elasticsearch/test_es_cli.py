"""`mrs index catalog --backend elasticsearch` end to end on the in-memory node, and the eval/calibrate entry point
that reopens the alias with its recorded model. The encoder is a deterministic 3-d stand-in (loading MiniLM
takes ~20 s on the shared machine; the live suite uses the real model)."""

from __future__ import annotations

import json

import pytest

from mrs.errors import InputError

CATALOG = [
    {"id": "p1", "title": "Red cotton shirt", "brand": "Acme"},
    {"id": "p2", "title": "Blue denim jeans", "brand": "Denimco"},
    {"id": "p3", "title": "Green wool scarf"},
    {"id": "p4", "title": "Red leather boots", "brand": "Acme"},
    {"id": "p5", "title": "White linen shirt"},
]


@pytest.fixture
def fake_cluster(es, monkeypatch):
    from test_es_bulk import FakeEncoder

    import mrs.cli.es as cli_es
    import mrs.cli.index as cli_index
    from mrs.indexer.embed import Encoder

    monkeypatch.setattr(cli_es, "make_client", lambda settings, node_class=None: es.client())
    monkeypatch.setattr(cli_index, "load_encoder", lambda *a, **kw: FakeEncoder())
    monkeypatch.setattr(Encoder, "load", classmethod(lambda cls, *a, **kw: FakeEncoder()))
    monkeypatch.setenv("MRS_ELASTICSEARCH_URL", "http://fake:9200")
    return es


def test_index_catalog_backend_elasticsearch(fake_cluster, tmp_path):
    from click.testing import CliRunner

    from mrs.cli.main import cli

    catalog = tmp_path / "catalog.jsonl"
    catalog.write_text("\n".join(json.dumps(p) for p in CATALOG) + "\n{broken\n")
    args = ["index", "catalog", str(catalog), "--backend", "elasticsearch", "--index", "shop", "--fields",
            "title^3,brand", "--work-dir", str(tmp_path / "work"), "--on-error", "skip", "--json"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert (out["status"], out["indexed"], out["rejected"], out["backend"]) == ("swapped", 5, 1, "elasticsearch")
    assert out["rejects"].endswith("shop.rejects.jsonl")
    index = out["index"]
    body = fake_cluster.indices[index]["body"]
    vector = body["mappings"]["properties"]["embedding"]
    assert (vector["dims"], vector["similarity"]) == (3, "cosine")
    assert body["settings"]["index"]["similarity"]["mrs_bm25"]["type"] == "BM25"
    assert fake_cluster.aliases["shop"] == {index}
    assert len(fake_cluster.indices[index]["docs"]["p1"]["embedding"]) == 3
    assert body["mappings"]["_meta"]["mrs_model"]["path"] == "/models/fake"

    from mrs.cli.es import open_backend

    backend, encoder = open_backend("shop", {})
    assert backend.spec.text_fields == {"title": 3.0, "brand": 1.0} and encoder.dimension == 3
    fake_cluster.indices[index]["body"]["mappings"]["_meta"]["mrs"]["dimension"] = 8
    with pytest.raises(InputError, match="3-dimensional vectors"):
        open_backend("shop", {})


def test_templates_render_then_install_on_the_cluster(fake_cluster, tmp_path):
    from click.testing import CliRunner

    from mrs.cli.main import cli

    out = tmp_path / "es"
    render = CliRunner().invoke(cli, ["templates", "render", "--target", "elasticsearch", "--dimension", "3",
                                      "--fields", "title^3", "--out", str(out), "--json"])
    assert render.exit_code == 0, render.output
    install = CliRunner().invoke(cli, ["templates", "install", str(out), "--json"])
    assert install.exit_code == 0, install.output
    result = json.loads(install.stdout)
    assert result["checked"] == 4 and result["cluster"]["url"] == "http://fake:9200"
    assert sorted(fake_cluster.scripts) == ["mrs-hybrid-linear", "mrs-hybrid-rrf", "mrs-knn", "mrs-lexical"]
    fake_cluster.fault("PUT", "/_scripts/*", [(403, "action [cluster:admin/script/put] is unauthorized")])
    denied = CliRunner().invoke(cli, ["templates", "install", str(out)])
    assert denied.exit_code == 1 and "HTTP 403" in denied.output
