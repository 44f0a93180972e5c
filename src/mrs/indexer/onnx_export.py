"""Model exports for the fast CPU encoders: one cached, atomically written folder per model and backend.

Backends exported here (``--encoder``, see mrs.indexer.encoders):
- ``onnx``: the SentenceTransformer (transformer + pooling + any Dense/Normalize modules) exported once with
  ``torch.onnx.export``, then fused for CPU by onnxruntime's transformer optimizer (attention, LayerNorm,
  GELU fusions; ``onnxruntime.transformers.optimizer.optimize_model``). fp32: the same math as torch.
- ``onnx-int8``: the fused graph with int8 dynamic quantization of its MatMul weights
  (``onnxruntime.quantization.quantize_dynamic``, QInt8 weights per channel, activations quantized per batch
  at run time).
The OpenVINO backends (mrs.indexer.openvino_encoder) use the same cache, staging and validity rules.

Exports are cached on disk, never in the repo: ``$MRS_ONNX_CACHE`` (default ``$XDG_CACHE_HOME/mrs/onnx`` or
``~/.cache/mrs/onnx``) / ``<model name>-<model sha256[:16]>`` / ``<backend>`` holding the model file,
``tokenizer.json`` and ``export.json`` (model identity, dimension, max_seq_length, versions). An export is
written to a temporary directory and renamed into place, so a crash never leaves half an export; an export
made by another runtime version or for another model hash is rebuilt.

Sources: onnxruntime docs "Quantize ONNX models" (quantize_dynamic) and "Transformer model optimization
tool"; torch.onnx.export docs; sentence-transformers "Speeding up inference" (what its optimum-based ONNX
backend does — not used here: optimum-onnx pins transformers < 4.58, mrs needs transformers 5).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from mrs.errors import InputError
from mrs.models import load_sentence_transformer, model_identity, quiet_tracing, write_json

ONNX_BACKENDS = ("onnx", "onnx-int8")
OPENVINO_BACKENDS = ("openvino", "openvino-int8")  # exported by mrs.indexer.openvino_encoder
EXPORT_BACKENDS = ONNX_BACKENDS + OPENVINO_BACKENDS
EXPORT_FORMAT_VERSION = 1
MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
EXPORT_FILE = "export.json"
OPSET = 17
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")


def onnx_cache_root() -> Path:
    """Root of the ONNX export cache: $MRS_ONNX_CACHE, else $XDG_CACHE_HOME/mrs/onnx, else ~/.cache/mrs/onnx."""
    env = os.environ.get("MRS_ONNX_CACHE")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "mrs" / "onnx"


def export_dir(identity: dict, backend: str, cache_root: str | os.PathLike | None = None) -> Path:
    """Where the ``backend`` export of the model ``identity`` (mrs.models.model_identity) lives."""
    if backend not in EXPORT_BACKENDS:
        raise InputError(f"unknown ONNX backend {backend!r} (expected one of {', '.join(EXPORT_BACKENDS)})")
    name = "".join(c if c.isalnum() or c in "-_." else "_" for c in str(identity.get("name", "model")))
    root = Path(cache_root) if cache_root is not None else onnx_cache_root()
    return root / f"{name}-{str(identity.get('sha256', ''))[:16]}" / backend


def version(dist: str) -> str | None:
    """The installed version of distribution ``dist``, or None."""
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def require_onnxruntime():
    try:
        import onnxruntime
    except ImportError:
        raise InputError("the ONNX encoder needs onnxruntime and onnx: pip install onnxruntime onnx") from None
    return onnxruntime


# ---- export -----------------------------------------------------------------------------------------


def sentence_graph(st_model: Any, input_names: Sequence[str]) -> Any:
    """torch.nn.Module: (input_ids, attention_mask[, token_type_ids]) int64 → (batch, dim) float32, the
    SentenceTransformer's own modules run in order (so pooling, Dense and Normalize are exported as they are)."""
    import torch

    class SentenceEmbeddingGraph(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.st = st_model

        def forward(self, *tensors):
            features = dict(zip(input_names, tensors, strict=True))
            for module in self.st:
                features = module(features)
            return features["sentence_embedding"]

    return SentenceEmbeddingGraph().eval()


def write_tokenizer_json(st_model: Any, out: Path) -> None:
    """The model's fast tokenizer as tokenizer.json, truncating at max_seq_length, no fixed padding."""
    tok = st_model.tokenizer
    if not getattr(tok, "is_fast", False):
        raise InputError("the ONNX encoder needs a model with a fast tokenizer (tokenizer.json)")
    backend_tok = tok.backend_tokenizer
    data = json.loads(backend_tok.to_str())
    data["truncation"] = None
    data["padding"] = None
    out.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def _fuse_for_cpu(src: Path, dst: Path, config: Any) -> str:
    """Fuse attention / LayerNorm / GELU with onnxruntime's transformer optimizer (BERT-family models);
    any other architecture keeps the plain graph (ORT_ENABLE_ALL still optimizes it at load). Returns
    what was done."""
    model_type = getattr(config, "model_type", "")
    if model_type in {"bert", "roberta", "xlm-roberta", "distilbert", "mpnet", "electra", "albert"}:
        try:
            from onnxruntime.transformers.optimizer import optimize_model

            heads = int(getattr(config, "num_attention_heads", 0) or 0)
            hidden = int(getattr(config, "hidden_size", 0) or 0)
            opt_type = "bert" if model_type in {"mpnet", "electra", "albert", "roberta", "xlm-roberta"} else model_type
            fused = optimize_model(str(src), model_type=opt_type, num_heads=heads, hidden_size=hidden, opt_level=1)
            fused.save_model_to_file(str(dst))
            return f"onnxruntime transformer optimizer ({opt_type}): {json.dumps(fused.get_fused_operator_statistics())}"
        except Exception as e:  # noqa: BLE001 — fusion is an optimisation; the plain graph is still correct
            shutil.copyfile(src, dst)
            return f"fusion skipped ({type(e).__name__}: {e})".splitlines()[0]
    shutil.copyfile(src, dst)
    return f"no fusion for model_type {model_type!r}"


def export_onnx(
    ref: str | os.PathLike | None,
    backend: str = "onnx",
    *,
    cache_root: str | os.PathLike | None = None,
    st_model: Any = None,
    force: bool = False,
) -> Path:
    """Export the model ``ref`` (see mrs.models.resolve_model) for ``backend`` (onnx | onnx-int8) into the
    cache and return the export directory. Reuses a valid existing export unless ``force``; onnx-int8 is
    quantized from the (cached) fp32 ``onnx`` export.

    st_model: an already loaded SentenceTransformer of ``ref`` (saves loading it again).
    """
    require_onnxruntime()
    identity = model_identity(ref)
    target = export_dir(identity, backend, cache_root)
    if not force and valid_export(target, identity, "onnxruntime", require_onnxruntime().__version__):
        return target
    if backend == "onnx-int8":
        fp32 = export_onnx(ref, "onnx", cache_root=cache_root, st_model=st_model, force=force)
        with staging(target) as work:
            _quantize_int8(fp32, work)
        return target
    if st_model is None:
        st_model = load_sentence_transformer(ref, device="cpu")
    with staging(target) as work:
        _export_fp32(st_model, identity, work)
    return target


class staging:
    """Context manager: a temporary directory beside ``target`` that replaces it on success (atomic rename;
    a crash leaves the previous export, or none, never half of one)."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __enter__(self) -> Path:
        self.target.parent.mkdir(parents=True, exist_ok=True)
        self.work = Path(tempfile.mkdtemp(prefix=f".{self.target.name}-", dir=self.target.parent))
        return self.work

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                if self.target.exists():
                    shutil.rmtree(self.target)
                self.work.replace(self.target)
        finally:
            if self.work.exists():
                shutil.rmtree(self.work, ignore_errors=True)


@contextlib.contextmanager
def eager_attention(st_model: Any) -> Iterator[Any]:
    """Run the SentenceTransformer's transformer with eager attention inside the block (it exports as plain
    MatMul/Softmax: the pattern ONNX Runtime's optimizer fuses and OpenVINO's converter reads); yields the
    model's Hugging Face config (None when it has none). The previous implementation is restored after."""
    hf_model = getattr(st_model[0], "auto_model", None) or getattr(st_model[0], "model", None)
    config = getattr(hf_model, "config", None)
    previous = getattr(config, "_attn_implementation", None)
    if hasattr(hf_model, "set_attn_implementation"):
        try:
            hf_model.set_attn_implementation("eager")
        except (ValueError, NotImplementedError):
            previous = None
    try:
        yield config
    finally:
        if previous and hasattr(hf_model, "set_attn_implementation"):
            hf_model.set_attn_implementation(previous)


def export_meta(st_model: Any, identity: dict, backend: str, inputs: Sequence[str], dimension: int,
                **fields: Any) -> dict:
    """The export.json every backend writes: format, backend, model identity, dimension, max_seq_length,
    input names, the common library versions, creation time, plus ``fields`` (fusion, quantization, ...)."""
    import torch

    versions = {"torch": torch.__version__, "sentence-transformers": version("sentence-transformers"),
                **fields.pop("versions", {})}
    return {"format_version": EXPORT_FORMAT_VERSION, "backend": backend, "model": identity,
            "dimension": int(dimension), "max_seq_length": int(st_model.max_seq_length or 512),
            "inputs": list(inputs), **fields, "versions": versions,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def trace_inputs(st_model: Any) -> tuple[list[str], tuple]:
    """(input names the model's tokenizer produces, example int64 tensors) for tracing the model."""
    import torch

    sample = st_model.tokenize(["a short probe text", "a somewhat longer probe text for the exporter"])
    names = [n for n in INPUT_NAMES if n in sample]
    return names, tuple(sample[n].to(torch.int64) for n in names)


def _export_fp32(st_model: Any, identity: dict, work: Path) -> None:
    """torch.onnx.export of the whole SentenceTransformer, fused for CPU; writes model.onnx,
    tokenizer.json and export.json into ``work``."""
    import torch

    ort = require_onnxruntime()
    st_model = st_model.to("cpu").eval()
    with eager_attention(st_model) as config:
        write_tokenizer_json(st_model, work / TOKENIZER_FILE)
        names, args = trace_inputs(st_model)
        plain = work / "plain.onnx"
        axes = {n: {0: "batch", 1: "sequence"} for n in names}
        axes["sentence_embedding"] = {0: "batch"}
        with torch.no_grad(), quiet_tracing():
            torch.onnx.export(sentence_graph(st_model, names), args, str(plain), input_names=names,
                              output_names=["sentence_embedding"], dynamic_axes=axes, opset_version=OPSET,
                              dynamo=False)
            probe = st_model.encode(["a short probe text"], convert_to_numpy=True, normalize_embeddings=False)
    fusion = _fuse_for_cpu(plain, work / MODEL_FILE, config)
    plain.unlink(missing_ok=True)
    for extra in work.glob("plain.onnx*"):
        extra.unlink()
    write_json(work / EXPORT_FILE, export_meta(
        st_model, identity, "onnx", names, probe.shape[1], fusion=fusion, quantization=None, opset=OPSET,
        versions={"onnxruntime": ort.__version__, "onnx": version("onnx")}))


def _quantize_int8(fp32_dir: Path, work: Path) -> None:
    """Dynamic int8 quantization of the fp32 export's MatMul/Attention weights (per output channel: per-tensor
    scales lost too much, mean cosine 0.97 vs fp32 on ESCI titles; per channel keeps ≥ 0.99)."""
    from onnx import TensorProto
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # the fused com.microsoft ops defeat ONNX shape inference: the quantizer is told their outputs are float
    quantize_dynamic(str(fp32_dir / MODEL_FILE), str(work / MODEL_FILE), weight_type=QuantType.QInt8,
                     per_channel=True, extra_options={"DefaultTensorType": TensorProto.FLOAT})
    shutil.copyfile(fp32_dir / TOKENIZER_FILE, work / TOKENIZER_FILE)
    meta = read_export(fp32_dir) or {}
    meta.update({
        "backend": "onnx-int8",
        "quantization": "dynamic int8: QInt8 weights per channel, activations quantized per batch at run time",
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    })
    write_json(work / EXPORT_FILE, meta)


def read_export(directory: Path) -> dict | None:
    """The export.json of ``directory``, or None when it is missing or unreadable."""
    try:
        return json.loads((directory / EXPORT_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def valid_export(directory: Path, identity: dict, runtime: str, runtime_version: str,
                 model_file: str = MODEL_FILE) -> bool:
    """True when ``directory`` holds a complete export of the model ``identity`` in this format, made by
    ``runtime`` (the export.json versions key, e.g. "onnxruntime") at ``runtime_version``."""
    meta = read_export(directory)
    if meta is None or not (directory / model_file).exists() or not (directory / TOKENIZER_FILE).exists():
        return False
    return (
        meta.get("format_version") == EXPORT_FORMAT_VERSION
        and meta.get("model", {}).get("sha256") == identity.get("sha256")
        and meta.get("versions", {}).get(runtime) == runtime_version
    )
