"""The part every exported-model encoder shares: its export folder's tokenizer and export.json.

An ``ExportedEncoder`` (a mrs.indexer.embed.Encoder) reads ``tokenizer.json`` (the model's own fast
tokenizer, ``tokenizers``, Rust) truncating at the model's max_seq_length and padding each batch to its
longest text, and ``export.json`` (mrs.indexer.onnx_export.export_meta: model identity, dimension,
max_seq_length, input names). A subclass runs the graph: ``_run(feeds) → (batch, dimension)`` float32 from
int64 ``input_ids`` / ``attention_mask`` / ``token_type_ids`` arrays of shape (batch, tokens).
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mrs.errors import InputError
from mrs.indexer.embed import Encoder
from mrs.indexer.onnx_export import TOKENIZER_FILE


def env_threads() -> int | None:
    """Intra-op threads from $MRS_ENCODER_THREADS (a positive integer), else None (all cores).
    InputError for anything else."""
    value = os.environ.get("MRS_ENCODER_THREADS", "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) < 1:
        raise InputError(f"MRS_ENCODER_THREADS must be a positive integer (got {value!r})")
    return int(value)


def cpu_only(device: str | None, backend: str) -> None:
    """InputError unless ``device`` is "cpu" or None: the exported backends run on CPU."""
    if device not in (None, "cpu"):
        raise InputError(f"the {backend} encoder runs on CPU only (got device {device!r}); use --encoder torch")


def load_tokenizer(directory: Path, max_seq_length: int) -> tuple[Any, int]:
    """(tokenizers.Tokenizer of ``directory``/tokenizer.json truncating at ``max_seq_length`` and padding to
    the batch's longest text, its pad id)."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(directory / TOKENIZER_FILE))
    tokenizer.enable_truncation(max_length=int(max_seq_length))
    pad_token = "[PAD]"
    pad_id = tokenizer.token_to_id(pad_token)
    if pad_id is None:
        pad_token, pad_id = "<pad>", tokenizer.token_to_id("<pad>")
    tokenizer.enable_padding(pad_id=int(pad_id or 0), pad_token=pad_token)
    return tokenizer, int(pad_id or 0)


class ExportedEncoder(Encoder, ABC):
    """Encoder over an export folder (see module doc). runner: the runtime's compiled model; tokenizer: a
    tokenizers.Tokenizer (load_tokenizer); meta: the export.json plus ``export_dir``; backend: the
    ``--encoder`` name; threads: the runtime's intra-op threads (None: all cores)."""

    backends: tuple[str, ...] = ()
    runtime = "export"  # the manifest key describe() files the export's details under

    def __init__(self, runner: Any, tokenizer: Any, meta: dict, *, backend: str, space_type: str = "cosinesimil",
                 batch_size: int = 32, threads: int | None = None) -> None:
        if backend not in self.backends:
            raise InputError(f"unknown {type(self).__name__} backend {backend!r} "
                             f"(expected one of {', '.join(self.backends)})")
        super().__init__(runner, meta["model"], space_type=space_type, batch_size=batch_size)
        self.backend = backend
        self.tokenizer = tokenizer
        self.meta = dict(meta)
        self.threads = threads

    @property
    def dimension(self) -> int:
        return int(self.meta["dimension"])

    @property
    def max_seq_length(self) -> int | None:
        return int(self.meta["max_seq_length"])

    def token_lengths(self, texts: Sequence[str]) -> list[int]:
        """Tokens per text after truncation (special tokens included), no padding."""
        return [int(sum(e.attention_mask)) for e in self.tokenizer.encode_batch(list(texts))]

    def _forward(self, texts: Sequence[str]) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(list(texts))
        feeds = {
            "input_ids": np.asarray([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.asarray([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.asarray([e.type_ids for e in encodings], dtype=np.int64),
        }
        return np.asarray(self._run({n: feeds[n] for n in self.meta["inputs"]}), dtype=np.float32)

    @abstractmethod
    def _run(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        """The runtime's sentence embeddings [N, dimension] for tokenised ``feeds`` (the export's inputs)."""

    @abstractmethod
    def set_threads(self, threads: int) -> None:
        """Rebuild the runtime with ``threads`` intra-op threads."""

    def describe(self) -> dict:
        """What the manifest records: the base fields plus the export (fusion, quantization, versions)."""
        out = super().describe()
        out[self.runtime] = {k: self.meta.get(k) for k in ("fusion", "quantization", "calibration", "opset", "versions")}
        out["threads"] = self.threads
        return out
