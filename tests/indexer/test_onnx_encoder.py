"""ONNX Runtime encoder: agrees with the torch encoder, caches its export, and is recorded in the manifest."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from tests.indexer.probe_texts import TEXTS  # noqa: E402

from mrs.data.readers import read_catalog  # noqa: E402
from mrs.data.text import DEFAULT_TEMPLATE, ProductTextTemplate  # noqa: E402
from mrs.engine.engine import EmbeddedEngine  # noqa: E402
from mrs.errors import InputError  # noqa: E402
from mrs.indexer.embed import Encoder  # noqa: E402
from mrs.indexer.encoders import load_encoder  # noqa: E402
from mrs.indexer.onnx_encoder import OnnxEncoder  # noqa: E402
from mrs.indexer.onnx_export import (  # noqa: E402
    EXPORT_FILE,
    MODEL_FILE,
    export_dir,
    export_onnx,
    onnx_cache_root,
)
from mrs.models import model_identity  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cache_root(tmp_path_factory, minilm):
    """One export of each backend per test module, into a temporary cache (never ~/.cache)."""
    root = tmp_path_factory.mktemp("onnx-cache")
    export_onnx(None, "onnx", cache_root=root, st_model=minilm)
    export_onnx(None, "onnx-int8", cache_root=root, st_model=minilm)
    return root


@pytest.fixture(scope="module")
def torch_vectors(minilm):
    return Encoder(minilm, model_identity(None), batch_size=3).encode(TEXTS)


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def test_onnx_fp32_agrees_with_torch(cache_root, torch_vectors):
    enc = OnnxEncoder.load(None, backend="onnx", batch_size=3, cache_root=cache_root)
    vectors = enc.encode(TEXTS)
    assert vectors.dtype == np.float32 and vectors.shape == torch_vectors.shape == (len(TEXTS), 384)
    # same graph, same weights, fp32: only float-summation order differs
    assert _cosines(vectors, torch_vectors).min() > 0.9999
    np.testing.assert_allclose(vectors, torch_vectors, atol=2e-4)
    # cosinesimil → stored unit-length, as the torch encoder stores them
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_onnx_int8_stays_close_to_torch(cache_root, torch_vectors):
    enc = OnnxEncoder.load(None, backend="onnx-int8", batch_size=3, cache_root=cache_root)
    cos = _cosines(enc.encode(TEXTS), torch_vectors)
    # dynamic int8 with per-channel weight scales: the quality gate of --encoder onnx-int8 is a mean ≥ 0.99
    assert cos.mean() >= 0.99 and cos.min() > 0.97, cos


def test_rows_in_input_order_and_raw_for_other_spaces(cache_root, minilm):
    enc = OnnxEncoder.load(None, backend="onnx", batch_size=2, space_type="innerproduct", cache_root=cache_root)
    seen: list[int] = []
    vectors = enc.encode(TEXTS[:5], progress=seen.append)
    assert seen == [2, 2, 1]  # 5 texts in batches of 2
    for i, text in enumerate(TEXTS[:5]):  # length-sorted batching puts rows back where they came from
        np.testing.assert_allclose(vectors[i], enc.encode_query(text), atol=2e-5)
    # innerproduct keeps the model's raw vectors: equal to torch's unnormalized output
    raw = minilm.encode(TEXTS[:5], convert_to_numpy=True, normalize_embeddings=False)
    np.testing.assert_allclose(vectors, raw, atol=2e-4)


def test_export_is_cached_and_reused(cache_root):
    identity = model_identity(None)
    directory = export_dir(identity, "onnx", cache_root)
    meta = json.loads((directory / EXPORT_FILE).read_text(encoding="utf-8"))
    assert meta["model"]["sha256"] == identity["sha256"] and meta["dimension"] == 384
    assert meta["max_seq_length"] == 256
    assert "Attention" in meta["fusion"]  # ORT's transformer optimizer fused the BERT attention blocks
    int8_meta = json.loads((export_dir(identity, "onnx-int8", cache_root) / EXPORT_FILE).read_text(encoding="utf-8"))
    assert int8_meta["backend"] == "onnx-int8" and "int8" in int8_meta["quantization"]
    before = (directory / MODEL_FILE).stat().st_mtime_ns
    assert export_onnx(None, "onnx", cache_root=cache_root) == directory
    assert (directory / MODEL_FILE).stat().st_mtime_ns == before  # not exported again
    # the int8 model is a fraction of the fp32 one (int8 weights)
    assert (export_dir(identity, "onnx-int8", cache_root) / MODEL_FILE).stat().st_size < 0.5 * (
        directory / MODEL_FILE).stat().st_size


def test_export_from_another_onnxruntime_is_rebuilt(tmp_path, cache_root, minilm):
    import shutil

    identity = model_identity(None)
    copy_root = tmp_path / "cache"
    shutil.copytree(export_dir(identity, "onnx", cache_root), export_dir(identity, "onnx", copy_root))
    meta_path = export_dir(identity, "onnx", copy_root) / EXPORT_FILE
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta["versions"]["onnxruntime"] = "0.0.1"
    meta_path.write_text(json.dumps(meta), encoding="utf-8")
    export_onnx(None, "onnx", cache_root=copy_root, st_model=minilm)
    rebuilt = json.loads(meta_path.read_text(encoding="utf-8"))
    assert rebuilt["versions"]["onnxruntime"] != "0.0.1"
    # no staging directory left behind
    assert [p.name for p in export_dir(identity, "onnx", copy_root).parent.iterdir()] == ["onnx"]


def test_cache_root_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("MRS_ONNX_CACHE", str(tmp_path / "c"))
    assert onnx_cache_root() == tmp_path / "c"
    monkeypatch.delenv("MRS_ONNX_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert onnx_cache_root() == tmp_path / "xdg" / "mrs" / "onnx"


def test_bad_backend_and_device_are_input_errors(cache_root):
    with pytest.raises(InputError, match="unknown ONNX backend 'onnx-fp16'"):
        export_dir(model_identity(None), "onnx-fp16", cache_root)
    with pytest.raises(InputError, match="CPU only"):
        OnnxEncoder.load(None, backend="onnx", device="cuda", cache_root=cache_root)


def test_encoder_choice_is_recorded_in_the_manifest_and_reused_for_queries(cache_root, sample, tmp_path, monkeypatch):
    monkeypatch.setenv("MRS_ONNX_CACHE", str(cache_root))  # open_encoder → load_encoder → the cached export
    products = list(read_catalog(sample.catalog))[:40]
    enc = load_encoder(None, backend="onnx-int8")
    assert isinstance(enc, OnnxEncoder) and enc.backend == "onnx-int8"
    EmbeddedEngine.build(tmp_path / "idx", products, encoder=enc)
    manifest = json.loads((tmp_path / "idx" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["encoder"]["backend"] == "onnx-int8"
    assert manifest["model"]["sha256"] == model_identity(None)["sha256"]
    engine = EmbeddedEngine.open(tmp_path / "idx")
    query_encoder = engine.open_encoder()
    assert isinstance(query_encoder, OnnxEncoder) and query_encoder.backend == "onnx-int8"
    # a product's own embedding text finds that product first, with cosine ≈ 1 → score (1 + cos)/2 ≈ 1; not
    # exactly 1 with int8: activations are quantized per batch, and the product was encoded in another batch
    text = ProductTextTemplate(DEFAULT_TEMPLATE).render(products[3])
    same_text = {p.id for p in products if ProductTextTemplate(DEFAULT_TEMPLATE).render(p) == text}
    hits = engine.search(text, mode="dense", k=1, encoder=query_encoder)
    assert hits[0].id in same_text and hits[0].score > 0.99
    # rebuilding with torch does not reuse int8 vectors: the embedding-cache key includes the backend
    stats = EmbeddedEngine.build(tmp_path / "idx", products, encoder=load_encoder(None, backend="torch"))
    assert stats.cached == 0 and stats.embedded > 0
    assert json.loads((tmp_path / "idx" / "manifest.json").read_text(encoding="utf-8"))["encoder"]["backend"] == "torch"


def test_set_threads_rebuilds_the_onnx_session(cache_root):
    from mrs.indexer.parallel import set_threads

    enc = OnnxEncoder.load(None, backend="onnx", cache_root=cache_root)
    before = enc.encode(TEXTS[:3])
    set_threads(enc, 1)
    assert enc.threads == 1 and enc.session.get_session_options().intra_op_num_threads == 1
    np.testing.assert_allclose(enc.encode(TEXTS[:3]), before, atol=1e-5)  # same model, one thread
    with pytest.raises(InputError, match="threads must be ≥ 1"):
        set_threads(enc, 0)


def test_process_pool_encoder_matches_in_process_encoding(cache_root, monkeypatch):
    from mrs.indexer.parallel import ProcessPoolEncoder

    monkeypatch.setenv("MRS_ONNX_CACHE", str(cache_root))  # spawned workers load the same cached export
    enc = load_encoder(None, backend="onnx")
    pool = ProcessPoolEncoder(enc, processes=2, chunk_size=2, min_texts=1)
    seen: list[int] = []
    vectors = pool.encode(TEXTS, progress=seen.append)
    # 7 texts in chunks of 2 → 4 chunks (2 + 2 + 2 + 1), finished in any order
    assert sorted(seen) == [1, 2, 2, 2] and sum(seen) == len(TEXTS)
    np.testing.assert_allclose(vectors, enc.encode(TEXTS), atol=2e-5)  # rows back in input order
    # the facade answers for the wrapped encoder (what EmbeddedEngine.build reads)
    assert pool.backend == "onnx" and pool.dimension == 384 and pool.identity == enc.identity
    assert pool.describe()["processes"] == 2
    with pytest.raises(InputError, match="processes must be ≥ 1"):
        ProcessPoolEncoder(enc, processes=0)


def test_cli_index_catalog_with_onnx_threads_and_processes(cache_root, sample, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from mrs.cli.main import cli

    monkeypatch.setenv("MRS_ONNX_CACHE", str(cache_root))
    small = tmp_path / "catalog.jsonl"
    with open(sample.catalog, encoding="utf-8") as src:
        small.write_text("".join(line for _, line in zip(range(30), src, strict=False)), encoding="utf-8")
    result = CliRunner().invoke(cli, ["index", "catalog", str(small), "--index", str(tmp_path / "idx"),
                                      "--encoder", "onnx", "--threads", "1", "--processes", "2", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["encoder"] == "onnx" and out["documents"] == 30
    manifest = json.loads((tmp_path / "idx" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["encoder"]["backend"] == "onnx"
    bad = CliRunner().invoke(cli, ["index", "catalog", str(small), "--index", str(tmp_path / "idx2"),
                                   "--threads", "0"])
    assert bad.exit_code == 2 and "--threads" in bad.output
