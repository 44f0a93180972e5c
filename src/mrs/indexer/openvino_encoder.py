"""Text → float32 vectors with OpenVINO on CPU: ``--encoder openvino`` and ``--encoder openvino-int8``.

- ``openvino``: the SentenceTransformer (transformer + pooling + any Dense/Normalize modules, eager attention)
  converted once with ``openvino.convert_model`` from PyTorch, fp32 weights, dynamic batch and sequence.
- ``openvino-int8``: that model after NNCF post-training quantization (``nncf.quantize``, transformer model
  type, mixed preset: symmetric int8 weights, asymmetric int8 activations, SmoothQuant and fast bias
  correction), calibrated on up to ``CALIBRATION_TEXTS`` embedding texts: the catalog's when the caller
  passes them (``mrs index catalog`` does), else the built-in ``BUILTIN_CALIBRATION`` product texts; plus
  short prefixes and long joins of them (``cover_lengths``) so queries and long documents stay in range.
  Activation scales are fixed at export, so a text's vector does not depend on its batch.

Exports are cached like the ONNX ones (mrs.indexer.onnx_export: ``$MRS_ONNX_CACHE`` / model / backend,
written atomically, rebuilt for another model hash or OpenVINO version); ``export.json`` records the
calibration (source, text count, sha256 of the texts). The first export's calibration is kept: another
catalog reuses it.

Needs the optional ``openvino`` and ``nncf`` packages (``pip install 'mrs[openvino]'``). Sources: OpenVINO
docs "Convert a PyTorch model", "CPU device" (INFERENCE_NUM_THREADS, PERFORMANCE_HINT) and NNCF
"Post-training quantization" (nncf.quantize, ModelType.TRANSFORMER).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mrs.errors import InputError
from mrs.indexer.exported_encoder import ExportedEncoder, cpu_only, env_threads, load_tokenizer
from mrs.indexer.onnx_export import (
    EXPORT_FILE,
    OPENVINO_BACKENDS,
    TOKENIZER_FILE,
    eager_attention,
    export_dir,
    export_meta,
    read_export,
    sentence_graph,
    staging,
    trace_inputs,
    valid_export,
    version,
    write_tokenizer_json,
)
from mrs.models import load_sentence_transformer, model_identity, quiet_tracing, write_json

OV_MODEL_FILE = "model.xml"  # + model.bin beside it
CALIBRATION_TEXTS = 300
CALIBRATION_BATCH = 16
BUILTIN_CALIBRATION = (
    "Wireless Bluetooth Headphones Over Ear with Microphone, 40H Playtime. Brand: Soundcore. Color: Black. "
    "Category: Electronics > Headphones",
    "Men's Classic Fit Short Sleeve Cotton T-Shirt, Pack of 3. Brand: Hanes. Color: White",
    "Stainless Steel Chef Knife 8 inch, Ultra Sharp Kitchen Knife with Ergonomic Handle. Category: Kitchen > "
    "Cutlery",
    "Organic Green Tea Bags, 100 Count. Brand: Bigelow. Category: Grocery > Tea",
    "USB C Charger 65W GaN Fast Charging Wall Adapter for Laptop and Phone. Color: White",
    "Memory Foam Mattress Queen 12 inch Medium Firm, CertiPUR-US Certified. Category: Home > Mattresses",
    "Kids Waterproof Rain Boots with Easy-On Handles. Brand: Western Chief. Color: Yellow. Category: Shoes",
    "Yoga Mat Non Slip 6mm Thick with Carrying Strap. Color: Purple. Category: Sports > Yoga",
    "Paperback novel: The Silent Patient. Category: Books > Thrillers",
    "LED Desk Lamp with USB Charging Port, 5 Brightness Levels, Touch Control. Brand: TaoTronics",
    "Dog Chew Toys for Aggressive Chewers, Durable Rubber Bone. Category: Pet Supplies > Dogs > Toys",
    "Cordless Drill Driver Kit 20V Max with 2 Batteries. Brand: DEWALT. Color: Yellow. Category: Tools",
    "Nonstick Frying Pan 10 inch, Induction Compatible. Color: Grey. Category: Kitchen > Cookware",
    "Women's High Waist Yoga Leggings with Pockets. Color: Navy. Category: Clothing > Leggings",
    "AA Alkaline Batteries, 24 Pack. Brand: Energizer",
    "Replacement Water Filter Cartridge for Refrigerator, 3 Pack. Category: Appliances > Filters",
)


def _require_openvino() -> tuple[Any, Any]:
    try:
        import nncf
        import openvino
    except ImportError:
        raise InputError("the OpenVINO encoder needs openvino and nncf: pip install 'mrs[openvino]'") from None
    return openvino, nncf


def calibration_sample(texts: Sequence[str] | None, limit: int = CALIBRATION_TEXTS) -> tuple[list[str], str]:
    """(up to ``limit`` calibration texts spread evenly over ``texts``, their source: "catalog" or
    "built-in" when ``texts`` is empty or None)."""
    texts = [t for t in (texts or ()) if t]
    if not texts:
        return list(BUILTIN_CALIBRATION), "built-in"
    step = max(1, len(texts) // limit)
    return texts[::step][:limit], "catalog"


def cover_lengths(texts: Sequence[str], long_texts: int = 8, join: int = 24) -> list[str]:
    """``texts`` plus query-like prefixes (the first 1–3 words of every fourth text) and ``long_texts``
    texts of ``join`` texts each (truncated at max_seq_length by the tokenizer), so the fixed activation
    ranges cover the short queries and the long documents the encoder will see, not only typical texts."""
    texts = list(texts)
    prefixes = [" ".join(t.split()[: 1 + i % 3]) for i, t in enumerate(texts[::4])]
    joined = [" ".join(texts[i: i + join]) for i in range(0, min(len(texts), long_texts * join), join)]
    return texts + [p for p in prefixes if p] + joined


def export_openvino(ref: str | os.PathLike | None, backend: str = "openvino", *,
                    calibration_texts: Sequence[str] | None = None, cache_root: str | os.PathLike | None = None,
                    st_model: Any = None, force: bool = False) -> Path:
    """Convert model ``ref`` for ``backend`` (openvino | openvino-int8) into the export cache and return its
    folder; a valid existing export is reused unless ``force``. calibration_texts: embedding texts for the
    int8 calibration (see module doc). st_model: an already loaded SentenceTransformer of ``ref``."""
    ov, _ = _require_openvino()
    identity = model_identity(ref)
    target = export_dir(identity, backend, cache_root)
    if not force and valid_export(target, identity, "openvino", ov.__version__, OV_MODEL_FILE):
        return target
    if st_model is None:
        st_model = load_sentence_transformer(ref, device="cpu")
    with staging(target) as work:
        _convert(st_model, identity, backend, work, calibration_texts)
    return target


def _convert(st_model: Any, identity: dict, backend: str, work: Path, calibration_texts: Sequence[str] | None) -> None:
    """openvino.convert_model of the whole SentenceTransformer (+ NNCF int8 for openvino-int8) into ``work``."""
    import torch

    ov, nncf = _require_openvino()
    st_model = st_model.to("cpu").eval()
    with eager_attention(st_model), torch.no_grad(), quiet_tracing():
        write_tokenizer_json(st_model, work / TOKENIZER_FILE)
        names, example = trace_inputs(st_model)
        model = ov.convert_model(sentence_graph(st_model, names), example_input=example)
        probe = st_model.encode(["a short probe text"], convert_to_numpy=True, normalize_embeddings=False)
    for port, name in zip(model.inputs, names, strict=True):
        port.get_tensor().set_names({name})
    fields: dict[str, Any] = {"quantization": None, "calibration": None}
    if backend == "openvino-int8":
        texts, source = calibration_sample(calibration_texts)
        model = _quantize(model, st_model, names, cover_lengths(texts))
        fields = {"quantization": "NNCF post-training int8 (ModelType.TRANSFORMER, mixed preset)",
                  "calibration": {"source": source, "texts": len(texts),
                                  "sha256": hashlib.sha256("\n".join(texts).encode("utf-8")).hexdigest()}}
    ov.save_model(model, str(work / OV_MODEL_FILE), compress_to_fp16=False)
    write_json(work / EXPORT_FILE, export_meta(
        st_model, identity, backend, names, probe.shape[1], fusion="openvino CPU plugin graph transformations",
        **fields, versions={"openvino": ov.__version__, "nncf": version("nncf")}))


def _quantize(model: Any, st_model: Any, names: Sequence[str], texts: Sequence[str]) -> Any:
    """nncf.quantize of the converted model on ``texts`` tokenized as the encoder tokenizes them."""
    _, nncf = _require_openvino()
    batches = []
    for start in range(0, len(texts), CALIBRATION_BATCH):
        enc = st_model.tokenizer(list(texts[start: start + CALIBRATION_BATCH]), padding=True, truncation=True,
                                 max_length=int(st_model.max_seq_length or 512), return_tensors="np")
        batches.append({n: np.asarray(enc[n], dtype=np.int64) for n in names})
    return nncf.quantize(model, nncf.Dataset(batches), model_type=nncf.ModelType.TRANSFORMER,
                         preset=nncf.QuantizationPreset.MIXED, subset_size=len(batches))  # every batch


def compile_model(export: os.PathLike | str, threads: int | None) -> Any:
    """The export's model compiled for the OpenVINO CPU device: latency hint, one stream, ``threads``
    inference threads (None: all cores)."""
    ov, _ = _require_openvino()
    config: dict[str, Any] = {"PERFORMANCE_HINT": "LATENCY", "NUM_STREAMS": 1}
    if threads:
        config["INFERENCE_NUM_THREADS"] = int(threads)
    core = ov.Core()
    return core.compile_model(core.read_model(os.path.join(export, OV_MODEL_FILE)), "CPU", config)


class OpenVinoEncoder(ExportedEncoder):
    """Encoder running an exported model with OpenVINO on CPU (see module doc).

    compiled: an openvino.CompiledModel of the export; tokenizer, meta: mrs.indexer.exported_encoder.

    Example::

        enc = OpenVinoEncoder.load(None, backend="openvino-int8", calibration_texts=catalog_texts)
        vecs = enc.encode(["red shirt", "blue cotton jeans"])  # (2, 384) float32, unit rows
    """

    backends = OPENVINO_BACKENDS
    runtime = "openvino"

    def __init__(self, compiled: Any, tokenizer: Any, meta: dict, *, backend: str = "openvino", **options: Any) -> None:
        super().__init__(compiled, tokenizer, meta, backend=backend, **options)
        self._request = compiled.create_infer_request()

    @classmethod
    def load(cls, ref: str | os.PathLike | None = None, *, backend: str = "openvino", device: str | None = "cpu",
             threads: int | None = None, cache_root: str | os.PathLike | None = None,
             calibration_texts: Sequence[str] | None = None, **options: Any) -> OpenVinoEncoder:
        """Load the ``backend`` export of model ``ref``, converting it first when the cache lacks it.
        threads: inference threads (None: $MRS_ENCODER_THREADS, else all cores). options: space_type,
        batch_size (mrs.indexer.embed.Encoder)."""
        cpu_only(device, "OpenVINO")
        threads = env_threads() if threads is None else threads
        directory = export_openvino(ref, backend, calibration_texts=calibration_texts, cache_root=cache_root)
        meta = {**(read_export(directory) or {}), "export_dir": str(directory)}
        tokenizer, meta["pad_id"] = load_tokenizer(directory, meta["max_seq_length"])
        return cls(compile_model(directory, threads), tokenizer, meta, backend=backend, threads=threads, **options)

    def _run(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        result = self._request.infer(feeds)
        return np.array(result[self.model.output(0)], dtype=np.float32)

    def set_threads(self, threads: int) -> None:
        """Recompile the export with ``threads`` inference threads."""
        self.model = compile_model(self.meta["export_dir"], threads)
        self._request = self.model.create_infer_request()
        self.threads = threads
