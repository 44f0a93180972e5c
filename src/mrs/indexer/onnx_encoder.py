"""Text → float32 vectors with ONNX Runtime: the fast CPU path of mrs.indexer.embed.Encoder.

Backends (``--encoder``):
- ``onnx``: the SentenceTransformer (transformer + pooling + any Dense/Normalize modules) exported once with
  ``torch.onnx.export``, then fused for CPU by onnxruntime's transformer optimizer (attention, LayerNorm,
  GELU fusions; ``onnxruntime.transformers.optimizer.optimize_model``) and run with
  ``GraphOptimizationLevel.ORT_ENABLE_ALL``. fp32: vectors agree with torch to ~1e-6 cosine.
- ``onnx-int8``: the fused graph with int8 dynamic quantization of its MatMul weights
  (``onnxruntime.quantization.quantize_dynamic``, QInt8 weights, activations quantized per batch at run time).

Exports are cached on disk, never in the repo: ``$MRS_ONNX_CACHE`` (default ``$XDG_CACHE_HOME/mrs/onnx`` or
``~/.cache/mrs/onnx``) / ``<model name>-<model sha256[:16]>`` / ``<backend>`` holding ``model.onnx``,
``tokenizer.json`` and ``export.json`` (model identity, dimension, max_seq_length, versions). An export is
written to a temporary directory and renamed into place, so a crash never leaves half an export; an export
made by another onnxruntime version or for another model hash is rebuilt.

Tokenization uses the model's own fast tokenizer (``tokenizers``, Rust) with the model's max_seq_length,
padding each batch to its longest text; texts arrive length-sorted from ``Encoder.encode``.

Needs ``onnx`` and ``onnxruntime`` (dependencies of mrs). Sources relied on: onnxruntime docs "Graph
optimizations", "Quantize ONNX models" (quantize_dynamic) and "Transformer model optimization tool";
torch.onnx.export docs; sentence-transformers "Speeding up inference" (what its optimum-based ONNX backend
does — not used here: optimum-onnx pins transformers < 4.58, mrs needs transformers 5).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from mrs.errors import InputError
from mrs.indexer.embed import Encoder
from mrs.models import load_sentence_transformer, model_identity, quiet_tracing, write_json

ONNX_BACKENDS = ("onnx", "onnx-int8")
EXPORT_FORMAT_VERSION = 1
MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
EXPORT_FILE = "export.json"
OPSET = 17
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def onnx_cache_root() -> Path:
    """Root of the ONNX export cache: $MRS_ONNX_CACHE, else $XDG_CACHE_HOME/mrs/onnx, else ~/.cache/mrs/onnx."""
    env = os.environ.get("MRS_ONNX_CACHE")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "mrs" / "onnx"


def export_dir(identity: dict, backend: str, cache_root: str | os.PathLike | None = None) -> Path:
    """Where the ``backend`` export of the model ``identity`` (mrs.models.model_identity) lives."""
    if backend not in ONNX_BACKENDS:
        raise InputError(f"unknown ONNX backend {backend!r} (expected one of {', '.join(ONNX_BACKENDS)})")
    name = "".join(c if c.isalnum() or c in "-_." else "_" for c in str(identity.get("name", "model")))
    root = Path(cache_root) if cache_root is not None else onnx_cache_root()
    return root / f"{name}-{str(identity.get('sha256', ''))[:16]}" / backend


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _require_onnxruntime():
    try:
        import onnxruntime
    except ImportError:
        raise InputError("the ONNX encoder needs onnxruntime and onnx: pip install onnxruntime onnx") from None
    return onnxruntime


# ---- export -----------------------------------------------------------------------------------------


def _graph(st_model: Any, input_names: Sequence[str]) -> Any:
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


def _tokenizer_json(st_model: Any, out: Path) -> None:
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
    _require_onnxruntime()
    identity = model_identity(ref)
    target = export_dir(identity, backend, cache_root)
    if not force and _valid_export(target, identity):
        return target
    if backend == "onnx-int8":
        fp32 = export_onnx(ref, "onnx", cache_root=cache_root, st_model=st_model, force=force)
        with _staging(target) as work:
            _quantize_int8(fp32, work)
        return target
    if st_model is None:
        st_model = load_sentence_transformer(ref, device="cpu")
    with _staging(target) as work:
        _export_fp32(st_model, identity, work)
    return target


class _staging:
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


def _export_fp32(st_model: Any, identity: dict, work: Path) -> None:
    """torch.onnx.export of the whole SentenceTransformer, fused for CPU; writes model.onnx,
    tokenizer.json and export.json into ``work``."""
    import torch

    ort = _require_onnxruntime()
    st_model = st_model.to("cpu").eval()
    hf_model = getattr(st_model[0], "auto_model", None) or getattr(st_model[0], "model", None)
    config = getattr(hf_model, "config", None)
    previous_attn = getattr(config, "_attn_implementation", None)
    if hasattr(hf_model, "set_attn_implementation"):
        # eager attention exports as plain MatMul/Softmax, the pattern ORT's optimizer fuses into one Attention op
        try:
            hf_model.set_attn_implementation("eager")
        except (ValueError, NotImplementedError):
            previous_attn = None
    try:
        _tokenizer_json(st_model, work / TOKENIZER_FILE)
        sample = st_model.tokenize(["a short probe text", "a somewhat longer probe text for the exporter"])
        names = [n for n in _INPUTS if n in sample]
        args = tuple(sample[n].to(torch.int64) for n in names)
        plain = work / "plain.onnx"
        axes = {n: {0: "batch", 1: "sequence"} for n in names}
        axes["sentence_embedding"] = {0: "batch"}
        with torch.no_grad(), quiet_tracing():
            torch.onnx.export(_graph(st_model, names), args, str(plain), input_names=names,
                              output_names=["sentence_embedding"], dynamic_axes=axes, opset_version=OPSET,
                              dynamo=False)
            probe = st_model.encode(["a short probe text"], convert_to_numpy=True, normalize_embeddings=False)
    finally:
        if previous_attn and hasattr(hf_model, "set_attn_implementation"):
            hf_model.set_attn_implementation(previous_attn)
    fusion = _fuse_for_cpu(plain, work / MODEL_FILE, config)
    plain.unlink(missing_ok=True)
    for extra in work.glob("plain.onnx*"):
        extra.unlink()
    write_json(work / EXPORT_FILE, {
        "format_version": EXPORT_FORMAT_VERSION,
        "backend": "onnx",
        "model": identity,
        "dimension": int(probe.shape[1]),
        "max_seq_length": int(st_model.max_seq_length or 512),
        "inputs": names,
        "fusion": fusion,
        "quantization": None,
        "opset": OPSET,
        "versions": {"onnxruntime": ort.__version__, "torch": torch.__version__, "onnx": _version("onnx"),
                     "sentence-transformers": _version("sentence-transformers")},
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    })


def _quantize_int8(fp32_dir: Path, work: Path) -> None:
    """Dynamic int8 quantization of the fp32 export's MatMul/Attention weights (per output channel: per-tensor
    scales lost too much, mean cosine 0.97 vs fp32 on ESCI titles; per channel keeps ≥ 0.99)."""
    from onnx import TensorProto
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # the fused com.microsoft ops defeat ONNX shape inference: the quantizer is told their outputs are float
    quantize_dynamic(str(fp32_dir / MODEL_FILE), str(work / MODEL_FILE), weight_type=QuantType.QInt8,
                     per_channel=True, extra_options={"DefaultTensorType": TensorProto.FLOAT})
    shutil.copyfile(fp32_dir / TOKENIZER_FILE, work / TOKENIZER_FILE)
    meta = _read_export(fp32_dir) or {}
    meta.update({
        "backend": "onnx-int8",
        "quantization": "dynamic int8: QInt8 weights per channel, activations quantized per batch at run time",
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    })
    write_json(work / EXPORT_FILE, meta)


def _read_export(directory: Path) -> dict | None:
    try:
        return json.loads((directory / EXPORT_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _valid_export(directory: Path, identity: dict) -> bool:
    meta = _read_export(directory)
    if meta is None or not (directory / MODEL_FILE).exists() or not (directory / TOKENIZER_FILE).exists():
        return False
    ort = _require_onnxruntime()
    return (
        meta.get("format_version") == EXPORT_FORMAT_VERSION
        and meta.get("model", {}).get("sha256") == identity.get("sha256")
        and meta.get("versions", {}).get("onnxruntime") == ort.__version__
    )


# ---- encoding ---------------------------------------------------------------------------------------


def env_threads() -> int | None:
    """Intra-op threads from $MRS_ENCODER_THREADS (a positive integer), else None (all cores).
    InputError for anything else."""
    value = os.environ.get("MRS_ENCODER_THREADS", "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) < 1:
        raise InputError(f"MRS_ENCODER_THREADS must be a positive integer (got {value!r})")
    return int(value)


def session_options(threads: int | None = None) -> Any:
    """onnxruntime SessionOptions: every graph optimization on, ``threads`` intra-op threads (None: all
    cores), one inter-op thread (the graph is one sequential chain)."""
    ort = _require_onnxruntime()
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.inter_op_num_threads = 1
    if threads:
        opts.intra_op_num_threads = int(threads)
    opts.log_severity_level = 3
    return opts


class OnnxEncoder(Encoder):
    """Encoder running an exported model with ONNX Runtime on CPU (see module doc).

    session: an onnxruntime.InferenceSession of the export's model.onnx; tokenizer: a tokenizers.Tokenizer;
    meta: the export's export.json; identity: the source model's mrs.models.model_identity (so manifests and
    embedding-cache keys name the same model as the torch backend, plus ``backend``).

    Example::

        enc = OnnxEncoder.load(None, backend="onnx-int8")      # exports once, then loads from the cache
        vecs = enc.encode(["red shirt", "blue cotton jeans"])  # (2, 384) float32, unit rows
    """

    def __init__(self, session: Any, tokenizer: Any, meta: dict, *, backend: str = "onnx",
                 space_type: str = "cosinesimil", batch_size: int = 32, threads: int | None = None) -> None:
        if backend not in ONNX_BACKENDS:
            raise InputError(f"unknown ONNX backend {backend!r} (expected one of {', '.join(ONNX_BACKENDS)})")
        super().__init__(session, meta["model"], space_type=space_type, batch_size=batch_size)
        self.backend = backend
        self.session = session
        self.tokenizer = tokenizer
        self.meta = dict(meta)
        self.threads = threads
        self._inputs = [i.name for i in session.get_inputs()]
        self._pad_id = int(self.meta.get("pad_id", 0))

    @classmethod
    def load(
        cls,
        ref: str | os.PathLike | None = None,
        *,
        space_type: str = "cosinesimil",
        batch_size: int = 32,
        device: str | None = "cpu",
        backend: str = "onnx",
        threads: int | None = None,
        cache_root: str | os.PathLike | None = None,
    ) -> OnnxEncoder:
        """Load the ``backend`` export of model ``ref``, exporting it first when the cache lacks it.
        device: only "cpu" (or None) — this path is for CPUs. threads: ORT intra-op threads (None:
        $MRS_ENCODER_THREADS, else all cores)."""
        if device not in (None, "cpu"):
            raise InputError(f"the ONNX encoder runs on CPU only (got device {device!r}); use --encoder torch")
        ort = _require_onnxruntime()
        from tokenizers import Tokenizer

        if threads is None:
            threads = env_threads()
        directory = export_onnx(ref, backend, cache_root=cache_root)
        meta = _read_export(directory) or {}
        session = ort.InferenceSession(str(directory / MODEL_FILE), sess_options=session_options(threads),
                                       providers=["CPUExecutionProvider"])
        tokenizer = Tokenizer.from_file(str(directory / TOKENIZER_FILE))
        tokenizer.enable_truncation(max_length=int(meta["max_seq_length"]))
        pad_token = "[PAD]"
        pad_id = tokenizer.token_to_id(pad_token)
        if pad_id is None:
            pad_token, pad_id = "<pad>", tokenizer.token_to_id("<pad>")
        tokenizer.enable_padding(pad_id=int(pad_id or 0), pad_token=pad_token)
        meta["pad_id"] = int(pad_id or 0)
        meta["export_dir"] = str(directory)
        return cls(session, tokenizer, meta, backend=backend, space_type=space_type, batch_size=batch_size,
                   threads=threads)

    @property
    def dimension(self) -> int:
        return int(self.meta["dimension"])

    @property
    def max_seq_length(self) -> int | None:
        return int(self.meta["max_seq_length"])

    def _forward(self, texts: Sequence[str]) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(list(texts))
        arrays = {
            "input_ids": np.asarray([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.asarray([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.asarray([e.type_ids for e in encodings], dtype=np.int64),
        }
        (out,) = self.session.run(["sentence_embedding"], {n: arrays[n] for n in self._inputs})
        return np.asarray(out, dtype=np.float32)

    def describe(self) -> dict:
        """What the manifest records: the base fields plus the export (fusion, quantization, ORT version)."""
        out = super().describe()
        out["onnx"] = {k: self.meta.get(k) for k in ("fusion", "quantization", "opset", "versions")}
        out["threads"] = self.threads
        return out
