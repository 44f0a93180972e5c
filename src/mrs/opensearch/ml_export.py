"""Export a sentence-transformers model for OpenSearch ML Commons (local model, TEXT_EMBEDDING).

``export_model(MODEL_DIR, out_zip, fmt="torchscript"|"onnx")`` writes:
- ``out_zip``: the model graph (``<name>.pt`` TorchScript or ``<name>.onnx``) + ``tokenizer.json`` (with
  truncation at the model's max_seq_length, so the cluster cuts long texts where sentence-transformers does);
- ``<out_zip stem>.register.json``: the body of ``POST /_plugins/_ml/models/_register`` — name, version,
  model_format (TORCH_SCRIPT | ONNX), function_name TEXT_EMBEDDING, model_content_hash_value = SHA-256 of the
  zip, model_content_size_in_bytes, model_config {model_type, embedding_dimension, framework_type
  sentence_transformers, pooling_mode, normalize_result, all_config}, and ``url`` when given.

The graph holds the whole sentence-transformers pipeline: transformer → pooling (mean / cls / max /
mean_sqrt_len_tokens) → optional Dense projection(s) → optional L2 normalization, so the cluster's vectors are
the ones ``mrs index`` wrote:
- TorchScript: ``forward({"input_ids", "attention_mask"}) → {"sentence_embedding": (batch, dim)}`` — ML
  Commons' SentenceTransformerTextEmbeddingTranslator feeds ``input1.input_ids`` / ``input1.attention_mask`` and
  returns the named outputs.
- ONNX: inputs ``input_ids``, ``attention_mask`` (+ ``token_type_ids`` for bert/albert, which ML Commons'
  ONNX translator always sends for those model types); first output ``sentence_embedding_per_token``
  (batch, seq, dim) = the final embedding repeated on every token, second output ``sentence_embedding``. The
  ONNX translator pools the first output itself (pooling_mode MEAN over the attention mask); a mean of identical
  rows is that row, so the cluster gets exactly the in-graph embedding, projection and normalization included.

Verification (``verify_export``) loads the zip back (torch.jit.load / onnxruntime), tokenizes sample texts
with the exported tokenizer.json one text at a time (as the cluster does) and requires cosine ≥ 0.9999 with
``SentenceTransformer.encode``.

Documentation relied on: OpenSearch "Custom local models" (ml-commons-plugin/custom-local-models: zip with
model + tokenizer.json, register body fields, model_config), "Register model API"; ml-commons sources
SentenceTransformerTextEmbeddingTranslator.java / ONNXSentenceTransformerTextEmbeddingTranslator.java
(input names, pooling); torch.jit.trace / torch.onnx.export docs.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from mrs.errors import InputError

FORMATS = {"torchscript": "TORCH_SCRIPT", "onnx": "ONNX"}
POOLING = ("mean", "cls", "max", "mean_sqrt_len_tokens")
MIN_COSINE = 0.9999
SAMPLE_TEXTS = (
    "red cotton shirt",
    "Stainless steel water bottle, 750 ml. Brand: Hydro. Category: Kitchen > Drinkware",
    "kids' \"rain\" boots size 10",
    "gaming laptop 16GB RAM RTX 4060 with a very long description " + "that repeats " * 60,
    "café crème tassen",
)


def _pooling_mode(module: Any) -> str:
    config = module.get_config_dict() if hasattr(module, "get_config_dict") else {}
    mode = config.get("pooling_mode")
    if mode is None:  # sentence-transformers < 6: one bool key per mode
        active = [k[len("pooling_mode_"):] for k, v in config.items() if k.startswith("pooling_mode_") and v]
        mode = active[0] if len(active) == 1 else active
    if isinstance(mode, (list, tuple)):
        mode = mode[0] if len(mode) == 1 else None
    mode = {"mean_tokens": "mean", "cls_token": "cls", "max_tokens": "max"}.get(mode, mode)
    if mode not in POOLING:
        raise InputError(f"pooling mode {mode!r} cannot be exported (supported: {', '.join(POOLING)})")
    return mode


def build_graph(st_model: Any) -> Any:
    """A torch.nn.Module: (input_ids, attention_mask[, token_type_ids]) → sentence embeddings (batch, dim),
    reproducing the SentenceTransformer's modules (see module doc). InputError for unsupported modules."""
    import torch

    modules = list(st_model)
    transformer = modules[0]
    auto_model = getattr(transformer, "auto_model", None) or getattr(transformer, "model", None)
    if auto_model is None:
        raise InputError("first module of the model is not a Hugging Face transformer")
    pooling = None
    post: list[tuple[str, Any]] = []
    for m in modules[1:]:
        kind = type(m).__name__
        if kind == "Pooling":
            pooling = _pooling_mode(m)
        elif kind == "Dense":
            if getattr(m, "use_residual", False):
                raise InputError("Dense with a residual connection cannot be exported")
            post.append(("dense", m))
        elif kind == "Normalize":
            post.append(("normalize", None))
        else:
            raise InputError(f"module {kind} cannot be exported to OpenSearch ML (supported: Pooling, Dense, Normalize)")
    if pooling is None:
        raise InputError("the model has no Pooling module")

    class EmbeddingGraph(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.transformer = auto_model
            self.dense = torch.nn.ModuleList([m for k, m in post if k == "dense"])
            self.steps = [k for k, _ in post]

        def embed(self, input_ids, attention_mask, token_type_ids=None):
            kwargs = {"input_ids": input_ids, "attention_mask": attention_mask}
            if token_type_ids is not None:
                kwargs["token_type_ids"] = token_type_ids
            out = self.transformer(**kwargs, return_dict=False)
            tokens = out[0]
            mask = attention_mask.unsqueeze(-1).to(tokens.dtype)
            if pooling == "cls":
                emb = tokens[:, 0]
            elif pooling == "max":
                emb = torch.max(tokens + (mask - 1.0) * 1e9, dim=1).values
            else:
                summed = torch.sum(tokens * mask, dim=1)
                counts = torch.clamp(mask.sum(dim=1), min=1e-9)
                emb = summed / (torch.sqrt(counts) if pooling == "mean_sqrt_len_tokens" else counts)
            d = 0
            for step in self.steps:
                if step == "dense":
                    layer = self.dense[d]
                    emb = layer.activation_function(layer.linear(emb))
                    d += 1
                else:
                    emb = torch.nn.functional.normalize(emb, p=2.0, dim=1)
            return emb

    graph = EmbeddingGraph()
    graph.eval()
    return graph


class _TorchScriptIO:
    """Wraps the graph as ML Commons' TorchScript translator calls it: one dict in, a dict out."""

    @staticmethod
    def wrap(graph: Any) -> Any:
        import torch

        class DictGraph(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.graph = graph

            def forward(self, features: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
                emb = self.graph.embed(features["input_ids"], features["attention_mask"])
                return {"sentence_embedding": emb}

        return DictGraph().eval()


class _OnnxIO:
    @staticmethod
    def wrap(graph: Any, with_token_types: bool) -> Any:
        import torch

        class OnnxGraph(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.graph = graph

            def forward(self, input_ids, attention_mask, token_type_ids=None):
                emb = self.graph.embed(input_ids, attention_mask, token_type_ids)
                per_token = emb.unsqueeze(1).expand(-1, input_ids.shape[1], -1)
                return per_token, emb

        return OnnxGraph().eval()


def tokenizer_json(st_model: Any, workdir: Path) -> Path:
    """Save the fast tokenizer's tokenizer.json with truncation at max_seq_length and no fixed padding."""
    tok = st_model.tokenizer
    if not getattr(tok, "is_fast", False):
        raise InputError("the model's tokenizer has no tokenizer.json (a fast tokenizer is required)")
    tok.save_pretrained(str(workdir / "tok"))
    path = workdir / "tok" / "tokenizer.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["truncation"] = {"direction": "Right", "max_length": int(st_model.max_seq_length),
                          "strategy": "LongestFirst", "stride": 0}
    data["padding"] = None
    out = workdir / "tokenizer.json"
    out.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return out


def _encode_one(tokenizer_path: Path, text: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from tokenizers import Tokenizer

    enc = Tokenizer.from_file(str(tokenizer_path)).encode(text)
    return (np.asarray([enc.ids], dtype=np.int64), np.asarray([enc.attention_mask], dtype=np.int64),
            np.asarray([enc.type_ids], dtype=np.int64))


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def register_body(name: str, version: str, fmt: str, zip_path: Path, model_type: str, dimension: int,
                  all_config: dict[str, Any], url: str | None = None, description: str | None = None) -> dict[str, Any]:
    """The ``POST /_plugins/_ml/models/_register`` body for the exported zip."""
    body: dict[str, Any] = {
        "name": name,
        "version": version,
        "description": description or f"{name}: sentence-transformers text embedding exported by mrs",
        "model_format": FORMATS[fmt],
        "function_name": "TEXT_EMBEDDING",
        "model_content_hash_value": sha256_file(zip_path),
        "model_content_size_in_bytes": zip_path.stat().st_size,
        "model_config": {
            "model_type": model_type,
            "embedding_dimension": int(dimension),
            "framework_type": "sentence_transformers",
            "pooling_mode": "MEAN",
            "normalize_result": False,
            "all_config": json.dumps(all_config, sort_keys=True),
        },
    }
    if url:
        body["url"] = url
    return body


def export_model(model_dir: str | os.PathLike | None, out_zip: str | os.PathLike, fmt: str = "torchscript", *,
                 name: str | None = None, version: str = "1.0.0", url: str | None = None,
                 verify: bool = True, on_stage: Any = None) -> dict[str, Any]:
    """Export ``model_dir`` (a sentence-transformers directory, or None for the packaged default) to ``out_zip``.

    Returns {"zip", "register_json", "register": body, "verification": {...} or None}.
    InputError for an unknown format or an unsupported model. on_stage(name): called as each stage starts
    ("load", "trace", "zip", "verify").
    """
    def stage(name_: str) -> None:
        if on_stage is not None:
            on_stage(name_)

    import torch

    from mrs.models import load_sentence_transformer, model_identity, quiet_tracing, write_json

    if fmt not in FORMATS:
        raise InputError(f"--format {fmt!r}: expected one of {', '.join(FORMATS)}")
    stage("load")
    st_model = load_sentence_transformer(model_dir, device="cpu")
    identity = model_identity(model_dir)
    name = name or identity["name"]
    graph = build_graph(st_model)
    config = st_model[0].auto_model.config
    model_type = str(getattr(config, "model_type", "bert"))
    get_dim = getattr(st_model, "get_embedding_dimension", None) or st_model.get_sentence_embedding_dimension
    dimension = int(get_dim())
    out = Path(out_zip)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        tok_path = tokenizer_json(st_model, work)
        ids, mask, types = _encode_one(tok_path, SAMPLE_TEXTS[1])
        t_ids, t_mask, t_types = torch.from_numpy(ids), torch.from_numpy(mask), torch.from_numpy(types)
        stem = Path(name).name.replace(" ", "_")
        stage("trace")
        if fmt == "torchscript":
            model_file = work / f"{stem}.pt"
            with torch.no_grad(), quiet_tracing():
                traced = torch.jit.trace(_TorchScriptIO.wrap(graph), ({"input_ids": t_ids, "attention_mask": t_mask},),
                                         strict=False, check_trace=False)
            traced.save(str(model_file))
        else:
            model_file = work / f"{stem}.onnx"
            with_types = model_type in ("bert", "albert")
            args = (t_ids, t_mask, t_types) if with_types else (t_ids, t_mask)
            names = ["input_ids", "attention_mask"] + (["token_type_ids"] if with_types else [])
            axes = {n: {0: "batch", 1: "sequence"} for n in names}
            axes.update({"sentence_embedding_per_token": {0: "batch", 1: "sequence"}, "sentence_embedding": {0: "batch"}})
            with torch.no_grad(), quiet_tracing():
                torch.onnx.export(_OnnxIO.wrap(graph, with_types), args, str(model_file), input_names=names,
                                  output_names=["sentence_embedding_per_token", "sentence_embedding"],
                                  dynamic_axes=axes, opset_version=17, dynamo=False)
        stage("zip")
        tmp_zip = out.with_name(out.name + ".tmp")
        with zipfile.ZipFile(tmp_zip, "w") as zf:  # weights barely compress: store the model, deflate the rest
            zf.write(model_file, model_file.name, compress_type=zipfile.ZIP_STORED)
            zf.write(tok_path, "tokenizer.json", compress_type=zipfile.ZIP_DEFLATED)
        tmp_zip.replace(out)
    all_config = config.to_dict() if hasattr(config, "to_dict") else {}
    body = register_body(name, version, fmt, out, model_type, dimension, all_config, url=url)
    register_path = out.with_name(out.stem + ".register.json")
    write_json(register_path, body)
    if verify:
        stage("verify")
    verification = verify_export(out, fmt, st_model) if verify else None
    return {"zip": str(out), "register_json": str(register_path), "register": body, "verification": verification,
            "model": identity}


def verify_export(zip_path: str | os.PathLike, fmt: str, st_model: Any,
                  texts: tuple[str, ...] = SAMPLE_TEXTS) -> dict[str, Any]:
    """Load the exported zip back and compare with ``st_model.encode`` text by text.

    Returns {"min_cosine", "texts", "runtime", "passed"}; raises InputError when min cosine < 0.9999
    (the export would give the cluster different vectors).
    """
    import torch

    reference = np.asarray(st_model.encode(list(texts), convert_to_numpy=True, normalize_embeddings=False),
                           dtype=np.float32)
    cosines = []
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(zip_path) as zf:
        zf.extractall(tmp)
        tok = Path(tmp) / "tokenizer.json"
        model_files = [n for n in zf.namelist() if n.endswith((".pt", ".onnx"))]
        if len(model_files) != 1 or not tok.exists():
            raise InputError("export zip must hold one model file and tokenizer.json", path=str(zip_path))
        model_file = str(Path(tmp) / model_files[0])
        if fmt == "torchscript":
            loaded = torch.jit.load(model_file)
            runtime = "torch.jit"

            def run(ids, mask, types):
                with torch.no_grad():
                    out = loaded({"input_ids": torch.from_numpy(ids), "attention_mask": torch.from_numpy(mask)})
                return out["sentence_embedding"].numpy()[0]
        else:
            try:
                import onnxruntime as ort
            except ImportError:
                return {"min_cosine": None, "texts": len(texts), "runtime": None, "passed": None,
                        "note": "onnxruntime not installed: pip install 'mine-refine-search[onnx]' to verify"}
            session = ort.InferenceSession(model_file, providers=["CPUExecutionProvider"])
            wanted = {i.name for i in session.get_inputs()}
            runtime = f"onnxruntime {ort.__version__}"

            def run(ids, mask, types):
                feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
                per_token, _ = session.run(None, {k: v for k, v in feeds.items() if k in wanted})
                m = mask[0].astype(np.float32)[:, None]  # the cluster's mean pooling over the first output
                return (per_token[0] * m).sum(axis=0) / max(m.sum(), 1e-9)

        for text, ref in zip(texts, reference, strict=True):
            vec = run(*_encode_one(tok, text)).astype(np.float64)
            cos = float(vec @ ref / (np.linalg.norm(vec) * np.linalg.norm(ref) + 1e-12))
            cosines.append(cos)
    min_cos = float(min(cosines))
    if min_cos < MIN_COSINE:
        raise InputError(f"exported model disagrees with sentence-transformers: min cosine {min_cos:.6f} < {MIN_COSINE}",
                         path=str(zip_path))
    return {"min_cosine": min_cos, "texts": len(texts), "runtime": runtime, "passed": True}
