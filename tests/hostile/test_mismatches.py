"""Silent mismatches and noise around the one line (issue 20, classes 5 and 7): a query model that is not the
index's (another --model, or its directory changed in place) is refused naming both, with an override; a
wrong dimension is refused from the model's configs before any load or ONNX export; a calibration fitted on
another catalog is named; `eval --pipeline NAME=FILE` errors name the file."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

from mrs.blending.calibration import Calibration, check_index
from mrs.cli.backends import open_backend
from mrs.cli.main import cli
from mrs.data.catalog import Product
from mrs.data.levels import ESCI
from mrs.engine.engine import EmbeddedEngine
from mrs.engine.manifest import read_manifest
from mrs.errors import InputError
from mrs.indexer.embed import Encoder
from mrs.models import model_dimension, model_identity, packaged_model_dir

from .helpers import one_error_line

PRODUCTS = [Product(f"p{i}", {"title": t}) for i, t in enumerate(["grey sofa", "red chair", "oak table"])]


@pytest.fixture(scope="module")
def model_copy(tmp_path_factory):
    """A copy of the packaged MiniLM in its own directory (so it can be changed in place)."""
    d = tmp_path_factory.mktemp("models") / "minilm-copy"
    shutil.copytree(packaged_model_dir(), d)
    return d


@pytest.fixture
def index_with_copy(minilm, model_copy, tmp_path):
    """An index built with the copy's identity (vectors from the same weights, loaded once per session)."""
    index_dir = tmp_path / "idx"
    EmbeddedEngine.build(index_dir, PRODUCTS, encoder=Encoder(minilm, model_identity(model_copy)))
    return index_dir


def _change_in_place(model_dir):
    config = model_dir / "config_sentence_transformers.json"
    data = json.loads(config.read_text())
    data["retrained"] = data.get("retrained", 0) + 1
    config.write_text(json.dumps(data))


def test_a_model_directory_changed_in_place_is_refused_then_allowed(index_with_copy, model_copy):
    before = read_manifest(index_with_copy)["model"]["sha256"]
    _change_in_place(model_copy)
    assert model_identity(model_copy)["sha256"] != before
    engine = EmbeddedEngine.open(index_with_copy)
    with pytest.raises(InputError) as err:
        engine.open_encoder()
    message = str(err.value)
    assert f"the model directory {model_copy} changed since the index was built" in message
    assert before[:12] in message and "--allow-model-mismatch" in message
    assert engine.open_encoder(allow_model_mismatch=True).dimension == 384


def test_another_query_model_is_refused_naming_both(index_with_copy, model_copy):
    other = model_copy.parent / "other-384d"
    if not other.exists():
        shutil.copytree(model_copy, other)
        _change_in_place(other)
    with pytest.raises(InputError) as err:
        open_backend("embedded", index_with_copy, {}, str(other))
    message = str(err.value)
    assert "query model 'other-384d'" in message and "'minilm-copy'" in message and "another space" in message
    _, encoder = open_backend("embedded", index_with_copy, {}, str(other), allow_model_mismatch=True)
    assert encoder.identity["name"] == "other-384d"


def test_cli_search_with_a_changed_model_is_one_line_exit_2(index_with_copy, model_copy):
    _change_in_place(model_copy)
    result = CliRunner().invoke(cli, ["search", "sofa", "--index", str(index_with_copy), "--mode", "dense"])
    assert result.exit_code == 2 and "changed since the index was built" in one_error_line(result)
    ok = CliRunner().invoke(cli, ["search", "sofa", "--index", str(index_with_copy), "--mode", "dense",
                                  "--allow-model-mismatch", "--json"])
    assert ok.exit_code == 0, ok.output


def test_model_dimension_reads_the_configs():
    assert model_dimension(None) == 384  # all-MiniLM-L6-v2: hidden_size 384, mean pooling, Normalize


def test_a_wrong_dimension_is_refused_before_anything_loads(index_with_copy, model_copy, tmp_path, monkeypatch):
    small = tmp_path / "dense-128"
    shutil.copytree(model_copy, small)
    modules = json.loads((small / "modules.json").read_text())
    modules.insert(2, {"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"})
    (small / "modules.json").write_text(json.dumps(modules))
    (small / "2_Dense").mkdir()
    (small / "2_Dense" / "config.json").write_text(json.dumps({"in_features": 384, "out_features": 128}))
    assert model_dimension(small) == 128

    def no_load(*args, **kwargs):
        raise AssertionError("the model was loaded (or exported to ONNX) before the dimension check")

    monkeypatch.setattr("mrs.engine.engine.load_encoder", no_load)
    with pytest.raises(InputError, match="makes 128-dimensional vectors, the index holds 384-dimensional"):
        EmbeddedEngine.open(index_with_copy).open_encoder(str(small))


def _calibration(index: dict, model: dict) -> Calibration:
    return Calibration(ESCI, model=model, index=index, source="cal.json")


def test_a_calibration_fitted_on_another_catalog_is_named(index_with_copy, tmp_path, minilm, model_copy):
    manifest = read_manifest(index_with_copy)
    other_dir = tmp_path / "other-idx"
    EmbeddedEngine.build(other_dir, PRODUCTS[:2] + [Product("p9", {"title": "blue lamp"})],
                         encoder=Encoder(minilm, model_identity(model_copy)))
    other = read_manifest(other_dir)
    assert other["content_sha256"] != manifest["content_sha256"] and other["counts"]["documents"] == 3
    fitted = {"documents": 3, "content_sha256": other["content_sha256"], "space_type": "cosinesimil",
              "text_template": manifest["text_template"]}
    warnings = check_index(_calibration(fitted, {"sha256": manifest["model"]["sha256"]}), manifest, index_with_copy)
    assert len(warnings) == 1 and "cal.json was fitted on another catalog" in warnings[0]
    assert other["content_sha256"][:12] in warnings[0] and manifest["content_sha256"][:12] in warnings[0]
    same = dict(fitted, content_sha256=manifest["content_sha256"])
    assert check_index(_calibration(same, {}), manifest) == []
    with pytest.raises(InputError, match="embedding text template"):
        check_index(_calibration(dict(same, text_template="{title} {brand}"), {}), manifest)


def test_the_same_catalog_rebuilt_has_the_same_content_fingerprint(index_with_copy, minilm, model_copy, tmp_path):
    again = tmp_path / "again"
    EmbeddedEngine.build(again, PRODUCTS, encoder=Encoder(minilm, model_identity(model_copy)))
    assert read_manifest(again)["content_sha256"] == read_manifest(index_with_copy)["content_sha256"]


def test_eval_pipeline_errors_name_the_file(index_with_copy, tmp_path):
    bad = tmp_path / "bad-pipeline.json"
    bad.write_text(json.dumps({"phase_results_processors": [{"normalization-processor": {
        "normalization": {"technique": "nope"}}}]}))
    judgments = tmp_path / "j.tsv"
    judgments.write_text("query\tproduct_id\tesci_label\nsofa\tp0\tE\n")
    result = CliRunner().invoke(cli, ["eval", "--index", str(index_with_copy), "--judgments", str(judgments),
                                      "--modes", "lexical", "--pipeline", f"tuned={bad}"])
    assert result.exit_code == 2
    line = one_error_line(result)
    assert line.startswith(f"error: {bad}: pipeline of run 'tuned'")
    broken = tmp_path / "broken.json"
    broken.write_text('{"a": "unterminated}')
    result = CliRunner().invoke(cli, ["eval", "--index", str(index_with_copy), "--judgments", str(judgments),
                                      "--modes", "lexical", "--pipeline", f"tuned={broken}"])
    assert "Unterminated string starting at column 7"  # the quote is the 7th character in one_error_line(result)
