"""OpenSearch ML Commons export: a tiny sentence-transformers model (BERT 2×32 + mean pooling + Dense 32→16 tanh
+ Normalize) exported to TorchScript and ONNX, loaded back, compared with SentenceTransformer.encode.

Docs: ml-commons-plugin/custom-local-models (zip with model + tokenizer.json; register body), ml-commons
SentenceTransformerTextEmbeddingTranslator / ONNXSentenceTransformerTextEmbeddingTranslator (inputs, pooling).
"""

from __future__ import annotations

import hashlib
import json
import zipfile

import pytest
from click.testing import CliRunner

from mrs.errors import InputError


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory):
    import torch
    from sentence_transformers import SentenceTransformer, models
    from transformers import AutoTokenizer, BertConfig, BertModel

    from mrs.models import packaged_model_dir

    torch.manual_seed(0)
    root = tmp_path_factory.mktemp("tiny")
    tok = AutoTokenizer.from_pretrained(str(packaged_model_dir()))
    cfg = BertConfig(vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=512)
    BertModel(cfg).save_pretrained(root / "hf")
    tok.save_pretrained(root / "hf")
    modules = [models.Transformer(str(root / "hf"), max_seq_length=64), models.Pooling(32, "mean"),
               models.Dense(32, 16, activation_function=torch.nn.Tanh()), models.Normalize()]
    SentenceTransformer(modules=modules, device="cpu").save(str(root / "st"))
    return root / "st"


def test_torchscript_export_round_trip(tiny_model_dir, tmp_path):
    from mrs.opensearch.ml_export import export_model

    out = tmp_path / "dist" / "tiny.zip"
    result = export_model(tiny_model_dir, out, "torchscript", name="tiny-st", version="2.0.0")
    ver = result["verification"]
    assert ver["passed"] and ver["min_cosine"] >= 0.9999 and ver["runtime"] == "torch.jit"
    reg = json.loads((tmp_path / "dist" / "tiny.register.json").read_text())
    assert reg == result["register"]
    assert reg["model_format"] == "TORCH_SCRIPT" and reg["function_name"] == "TEXT_EMBEDDING"
    assert reg["name"] == "tiny-st" and reg["version"] == "2.0.0"
    assert reg["model_content_hash_value"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert reg["model_content_size_in_bytes"] == out.stat().st_size
    cfg = reg["model_config"]
    assert (cfg["model_type"], cfg["embedding_dimension"], cfg["framework_type"]) == ("bert", 16, "sentence_transformers")
    assert json.loads(cfg["all_config"])["hidden_size"] == 32
    with zipfile.ZipFile(out) as zf:
        assert sorted(zf.namelist()) == ["tiny-st.pt", "tokenizer.json"]
        tok = json.loads(zf.read("tokenizer.json"))
    assert tok["truncation"]["max_length"] == 64  # the cluster truncates where sentence-transformers does


def test_verification_catches_a_model_that_disagrees(tiny_model_dir, tmp_path):
    import torch

    from mrs.models import load_sentence_transformer
    from mrs.opensearch.ml_export import export_model, verify_export

    out = tmp_path / "tiny.zip"
    export_model(tiny_model_dir, out, "torchscript", verify=False)
    other = load_sentence_transformer(str(tiny_model_dir), device="cpu")
    with torch.no_grad():
        other[2].linear.weight.add_(torch.randn_like(other[2].linear.weight))
    with pytest.raises(InputError, match="min cosine"):
        verify_export(out, "torchscript", other)


def test_onnx_export_round_trip_as_ml_commons_pools_it(tiny_model_dir, tmp_path):
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from mrs.opensearch.ml_export import export_model

    result = export_model(tiny_model_dir, tmp_path / "tiny-onnx.zip", "onnx", name="tiny")
    assert result["verification"]["passed"] and result["verification"]["min_cosine"] >= 0.9999
    assert result["register"]["model_format"] == "ONNX"
    assert result["register"]["model_config"]["pooling_mode"] == "MEAN"
    import onnxruntime as ort

    with zipfile.ZipFile(tmp_path / "tiny-onnx.zip") as zf:
        zf.extract("tiny.onnx", tmp_path)
    session = ort.InferenceSession(str(tmp_path / "tiny.onnx"), providers=["CPUExecutionProvider"])
    # ML Commons sends token_type_ids for bert models: the graph must accept it
    assert [i.name for i in session.get_inputs()] == ["input_ids", "attention_mask", "token_type_ids"]


def test_unknown_format_is_an_input_error(tiny_model_dir, tmp_path):
    from mrs.opensearch.ml_export import export_model

    with pytest.raises(InputError, match="--format"):
        export_model(tiny_model_dir, tmp_path / "x.zip", "tflite")


def test_cli_export_json(tiny_model_dir, tmp_path):
    from mrs.cli.main import cli

    r = CliRunner().invoke(cli, ["export", "opensearch-ml", str(tiny_model_dir), "--out", str(tmp_path / "m.zip"),
                                 "--model-url", "https://artifacts.example.com/m.zip", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["register"]["url"] == "https://artifacts.example.com/m.zip" and out["verification"]["passed"]
    r = CliRunner().invoke(cli, ["export", "opensearch-ml", str(tmp_path / "missing"), "--out", str(tmp_path / "y.zip")])
    assert r.exit_code == 2 and "does not exist" in r.output


@pytest.mark.slow
def test_packaged_minilm_export_round_trip(tmp_path):
    """The real default model: 384-d, traced once, cosine ≥ 0.9999 with sentence-transformers."""
    from mrs.opensearch.ml_export import export_model

    result = export_model(None, tmp_path / "minilm.zip", "torchscript")
    assert result["verification"]["min_cosine"] >= 0.9999
    assert result["register"]["model_config"]["embedding_dimension"] == 384
