"""OpenVINO encoder: fp32 agrees with torch, static int8 stays close and batch-independent, the export is
cached with its calibration, and the backend is recorded in the manifest and reused for queries."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("openvino")
pytest.importorskip("nncf")

from tests.indexer.probe_texts import TEXTS  # noqa: E402

from mrs.data.readers import read_catalog  # noqa: E402
from mrs.data.text import DEFAULT_TEMPLATE, ProductTextTemplate  # noqa: E402
from mrs.engine.engine import EmbeddedEngine  # noqa: E402
from mrs.errors import InputError  # noqa: E402
from mrs.indexer.embed import Encoder  # noqa: E402
from mrs.indexer.encoders import load_encoder  # noqa: E402
from mrs.indexer.onnx_export import EXPORT_FILE, export_dir  # noqa: E402
from mrs.indexer.openvino_encoder import (  # noqa: E402
    BUILTIN_CALIBRATION,
    OpenVinoEncoder,
    calibration_sample,
    export_openvino,
)
from mrs.models import model_identity  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def catalog_texts(sample):
    template = ProductTextTemplate(DEFAULT_TEMPLATE)
    return [template.render(p) for p in list(read_catalog(sample.catalog))[:48]]


@pytest.fixture(scope="module")
def cache_root(tmp_path_factory, minilm, catalog_texts):
    """One export of each OpenVINO backend per module, into a temporary cache (never ~/.cache)."""
    root = tmp_path_factory.mktemp("ov-cache")
    export_openvino(None, "openvino", cache_root=root, st_model=minilm)
    export_openvino(None, "openvino-int8", cache_root=root, st_model=minilm, calibration_texts=catalog_texts)
    return root


@pytest.fixture(scope="module")
def torch_vectors(minilm):
    return Encoder(minilm, model_identity(None), batch_size=3).encode(TEXTS)


def test_openvino_fp32_agrees_with_torch(cache_root, torch_vectors):
    enc = OpenVinoEncoder.load(None, backend="openvino", batch_size=3, threads=1, cache_root=cache_root)
    vectors = enc.encode(TEXTS)
    assert vectors.dtype == np.float32 and vectors.shape == (len(TEXTS), 384)
    assert float(np.sum(vectors * torch_vectors, axis=1).min()) > 0.9999  # unit rows: the dot is the cosine


def test_openvino_int8_is_close_to_torch_and_does_not_depend_on_the_batch(cache_root, torch_vectors):
    enc = OpenVinoEncoder.load(None, backend="openvino-int8", batch_size=3, threads=1, cache_root=cache_root)
    vectors = enc.encode(TEXTS)
    cos = np.sum(vectors * torch_vectors, axis=1)
    # product-like texts and short queries: the --encoder quality gate is a mean cosine ≥ 0.99
    assert cos[1:6].mean() >= 0.99 and cos[1:6].min() > 0.98, cos
    # texts far outside the calibration (one letter; one phrase repeated to 256 tokens) lose more with fixed
    # activation ranges (docs/performance.md), but stay in the same place of the space
    assert cos[0] > 0.9 and cos[6] > 0.9, cos
    # static quantization: activation scales are fixed at export, so a text alone gets its batched vector
    for i, text in enumerate(TEXTS):
        np.testing.assert_allclose(enc.encode_query(text), vectors[i], atol=2e-3)


def test_export_records_its_calibration_and_is_reused(cache_root, catalog_texts):
    identity = model_identity(None)
    directory = export_dir(identity, "openvino-int8", cache_root)
    meta = json.loads((directory / EXPORT_FILE).read_text(encoding="utf-8"))
    assert meta["backend"] == "openvino-int8" and meta["dimension"] == 384 and "int8" in meta["quantization"]
    assert meta["calibration"]["source"] == "catalog" and meta["calibration"]["texts"] == len(catalog_texts)
    before = (directory / "model.xml").stat().st_mtime_ns
    assert export_openvino(None, "openvino-int8", cache_root=cache_root) == directory
    assert (directory / "model.xml").stat().st_mtime_ns == before  # not converted again


def test_calibration_sample_spreads_over_the_catalog_or_falls_back_to_built_in_texts():
    texts = [f"product {i}" for i in range(10)]
    assert calibration_sample(texts, limit=4) == (["product 0", "product 2", "product 4", "product 6"], "catalog")
    assert calibration_sample(texts[:3], limit=4) == (texts[:3], "catalog")
    assert calibration_sample(None) == (list(BUILTIN_CALIBRATION), "built-in")
    assert calibration_sample(["", ""])[1] == "built-in"


def test_backend_is_recorded_in_the_manifest_and_reused_for_queries(cache_root, sample, tmp_path, monkeypatch):
    monkeypatch.setenv("MRS_ONNX_CACHE", str(cache_root))
    products = list(read_catalog(sample.catalog))[:30]
    enc = load_encoder(None, backend="openvino-int8")
    assert isinstance(enc, OpenVinoEncoder) and enc.backend == "openvino-int8"
    EmbeddedEngine.build(tmp_path / "idx", products, encoder=enc)
    manifest = json.loads((tmp_path / "idx" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["encoder"]["backend"] == "openvino-int8"
    query_encoder = EmbeddedEngine.open(tmp_path / "idx").open_encoder()
    assert isinstance(query_encoder, OpenVinoEncoder) and query_encoder.backend == "openvino-int8"


def test_set_threads_and_cpu_only(cache_root):
    from mrs.indexer.parallel import set_threads

    enc = OpenVinoEncoder.load(None, backend="openvino", cache_root=cache_root)
    before = enc.encode(TEXTS[:3])
    set_threads(enc, 1)
    assert enc.threads == 1 and int(enc.model.get_property("INFERENCE_NUM_THREADS")) == 1
    np.testing.assert_allclose(enc.encode(TEXTS[:3]), before, atol=1e-5)
    with pytest.raises(InputError, match="CPU only"):
        OpenVinoEncoder.load(None, backend="openvino", device="cuda", cache_root=cache_root)
