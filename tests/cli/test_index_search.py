"""`mrs index catalog` and `mrs search` end to end on the generated sample data, and their exit-2 cases."""

from __future__ import annotations

import csv
import json
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from mrs.cli.main import cli
from mrs.data.catalog import Product
from mrs.data.readers import read_catalog
from mrs.data.text import ProductTextTemplate
from mrs.engine.engine import EmbeddedEngine
from mrs.indexer.embed import Encoder
from mrs.models import packaged_model_dir


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def indexed(sample, tmp_path_factory):
    """The sample catalog indexed once through the CLI: (index dir, the first --json report)."""
    index_dir = tmp_path_factory.mktemp("cli") / "index"
    result = run("index", "catalog", sample.catalog, "--index", index_dir, "--json")
    assert result.exit_code == 0, result.output
    return index_dir, json.loads(result.stdout)


def _grades(sample):
    with open(sample.judgments, encoding="utf-8") as fh:
        return {(r["query"], r["product_id"]): int(r["grade"]) for r in csv.DictReader(fh, delimiter="\t")}


def test_index_report_and_reindex_uses_cache(indexed, sample):
    index_dir, report = indexed
    products = list(read_catalog(sample.catalog))
    n_products = len(products)
    # products sharing an embedding text (same title/brand/color/category) are embedded once
    distinct_texts = {ProductTextTemplate().render(p) for p in products}
    assert report["documents"] == n_products and report["embedded"] == len(distinct_texts) and report["cached"] == 0
    assert report["rejected"] == 0 and report["seconds"] > 0 and report["space_type"] == "cosinesimil"
    again = run("index", "catalog", sample.catalog, "--index", index_dir, "--json")
    assert again.exit_code == 0
    second = json.loads(again.stdout)
    assert (second["embedded"], second["cached"]) == (0, n_products)


def test_search_round_trip_finds_judged_exact_products(indexed, sample):
    grades = _grades(sample)
    query = next(q for (q, _), g in grades.items() if g == 3)
    result = run("search", query, "--index", indexed[0], "--mode", "hybrid", "--k", "5", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    hits = out["hits"]
    assert len(hits) == 5 and out["mode"] == "hybrid"
    assert set(hits[0]) == {"id", "score", "scores", "normalized", "title"}
    assert set(hits[0]["scores"]) == {"lexical", "dense"} and hits[0]["title"]
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    assert any(grades.get((query, h["id"])) == 3 for h in hits[:3])
    # the lexical side of each hybrid hit is the raw BM25 that lexical mode returns
    lex = json.loads(run("search", query, "--index", indexed[0], "--mode", "lexical", "--k", "50", "--json").stdout)
    lex_scores = {h["id"]: h["scores"]["lexical"] for h in lex["hits"]}
    for h in hits:
        if h["scores"]["lexical"] is not None:
            assert h["scores"]["lexical"] == pytest.approx(lex_scores[h["id"]])
    assert all(h["normalized"] == {"lexical": None, "dense": None} for h in lex["hits"])


def test_dense_radial_and_table_output(indexed):
    result = run("search", "wireless headphones", "--index", indexed[0], "--mode", "dense", "--min-score", "0.75",
                 "--k", "100", "--json")
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)["hits"]
    assert hits and all(h["scores"]["dense"] >= 0.75 for h in hits)
    table = run("search", "wireless headphones", "--index", indexed[0], "--mode", "lexical", "--k", "3")
    assert table.exit_code == 0 and "lexical" in table.stdout and "Headphones" in table.stdout


def test_pipeline_file(indexed, tmp_path):
    body = {"phase_results_processors": [{"normalization-processor": {
        "normalization": {"technique": "l2"},
        "combination": {"technique": "arithmetic_mean", "parameters": {"weights": [0.5, 0.5]}}}}]}
    (tmp_path / "p.json").write_text(json.dumps(body))
    result = run("search", "desk lamp", "--index", indexed[0], "--pipeline", tmp_path / "p.json", "--k", "3", "--json")
    assert result.exit_code == 0, result.output
    hit = json.loads(result.stdout)["hits"][0]
    # arithmetic_mean of the l2-normalized sub-scores, weights 0.5/0.5 (a missing sub-score counts 0)
    expected = 0.5 * (hit["normalized"]["lexical"] or 0) + 0.5 * (hit["normalized"]["dense"] or 0)
    assert hit["score"] == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("body, message", [
    ("{not json", "p.json:1: malformed JSON"),
    (json.dumps({"phase_results_processors": [{"normalization-processor": {
        "combination": {"technique": "arithmetic_mean", "parameters": {"weights": [0.6, 0.6]}}}}]}), "weights"),
    (json.dumps({"phase_results_processors": [{"normalization-processor": {
        "normalization": {"technique": "softmax"}}}]}), "normalization technique"),
])
def test_bad_pipeline_exit_2(indexed, tmp_path, body, message):
    (tmp_path / "p.json").write_text(body)
    result = run("search", "lamp", "--index", indexed[0], "--pipeline", tmp_path / "p.json")
    assert result.exit_code == 2 and message in result.stderr and "Traceback" not in result.output


def test_bad_search_input_exit_2(indexed, tmp_path):
    cases = [
        (["search", "   ", "--index", indexed[0]], "empty query"),
        (["search", "lamp", "--index", tmp_path / "nope"], "does not exist"),
    ]
    broken = tmp_path / "broken"
    shutil.copytree(indexed[0], broken)
    (broken / "vectors" / "vectors.npy").write_bytes(b"junk")
    cases.append((["search", "lamp", "--index", broken], "corrupt vectors"))
    for args, message in cases:
        result = run(*args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


class _Tiny:
    def get_embedding_dimension(self):
        return 8

    def encode(self, texts, **kwargs):
        return np.ones((len(texts), 8), dtype=np.float32)


def test_query_model_dimension_mismatch_exit_2(tmp_path):
    # an 8-dimensional index whose manifest points at the 384-dimensional MiniLM directory
    identity = {"name": "tiny", "path": str(packaged_model_dir()), "sha256": "0"}
    EmbeddedEngine.build(tmp_path / "i", [Product("a", {"title": "lamp"})], encoder=Encoder(_Tiny(), identity))
    result = run("search", "lamp", "--index", tmp_path / "i", "--mode", "dense")
    assert result.exit_code == 2 and "384-dimensional vectors, the index holds 8" in result.stderr
    assert run("search", "lamp", "--index", tmp_path / "i", "--mode", "lexical").exit_code == 0


def test_bad_catalog_rows_fail_or_skip(tmp_path):
    catalog = tmp_path / "c.jsonl"
    catalog.write_text('{"id": "a", "title": "desk lamp"}\n{"id": "b", "title": \n{"id": "c", "title": "floor lamp"}\n')
    fail = run("index", "catalog", catalog, "--index", tmp_path / "i", "--fields", "title")
    assert fail.exit_code == 2 and "c.jsonl:2:" in fail.stderr and not (tmp_path / "i").exists()
    skip = run("index", "catalog", catalog, "--index", tmp_path / "i", "--fields", "title", "--on-error", "skip", "--json")
    assert skip.exit_code == 0, skip.output
    report = json.loads(skip.stdout)
    assert report["documents"] == 2 and report["rejected"] == 1
    rejects = [json.loads(line) for line in open(report["rejects"], encoding="utf-8")]
    assert rejects[0]["line"] == 2 and report["rejects"].endswith("i.rejects.jsonl")


def test_bad_index_options_exit_2(tmp_path, sample):
    bad_fields = run("index", "catalog", sample.catalog, "--index", tmp_path / "i", "--fields", "title^x")
    assert bad_fields.exit_code == 2 and "--fields" in bad_fields.stderr
    (tmp_path / "own").mkdir()
    (tmp_path / "own" / "notes.txt").write_text("mine")
    foreign = run("index", "catalog", sample.catalog, "--index", tmp_path / "own", "--fields", "title")
    assert foreign.exit_code == 2 and "refusing to replace" in foreign.stderr
    assert (tmp_path / "own" / "notes.txt").read_text() == "mine"
    for args in (["index", "catalog", "--help"], ["search", "--help"]):
        assert "Example" in run(*args).stdout
