"""Text → float32 vectors with ONNX Runtime on CPU: ``--encoder onnx`` and ``--encoder onnx-int8``.

The model is exported once into the cache by mrs.indexer.onnx_export (fp32 fused graph, or its dynamic int8
quantization) and run with ``GraphOptimizationLevel.ORT_ENABLE_ALL``, one inter-op thread and
``threads`` intra-op threads. Tokenization and batching: mrs.indexer.exported_encoder.

Source: onnxruntime docs "Graph optimizations" and "Thread management".
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from mrs.indexer.exported_encoder import ExportedEncoder, cpu_only, env_threads, load_tokenizer
from mrs.indexer.onnx_export import MODEL_FILE, ONNX_BACKENDS, export_onnx, read_export, require_onnxruntime


def session_options(threads: int | None = None) -> Any:
    """onnxruntime SessionOptions: every graph optimization on, ``threads`` intra-op threads (None: all
    cores), one inter-op thread (the graph is one sequential chain)."""
    ort = require_onnxruntime()
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.inter_op_num_threads = 1
    if threads:
        opts.intra_op_num_threads = int(threads)
    opts.log_severity_level = 3
    return opts


def open_session(export: os.PathLike | str, threads: int | None) -> Any:
    """An onnxruntime CPU InferenceSession of the export folder's model.onnx."""
    ort = require_onnxruntime()
    return ort.InferenceSession(os.path.join(export, MODEL_FILE), sess_options=session_options(threads),
                                providers=["CPUExecutionProvider"])


class OnnxEncoder(ExportedEncoder):
    """Encoder running an exported model with ONNX Runtime on CPU (see module doc).

    session: an onnxruntime.InferenceSession of the export's model.onnx; tokenizer, meta, identity: see
    mrs.indexer.exported_encoder.ExportedEncoder (manifests and embedding-cache keys name the same model as
    the torch backend, plus ``backend``).

    Example::

        enc = OnnxEncoder.load(None, backend="onnx-int8")      # exports once, then loads from the cache
        vecs = enc.encode(["red shirt", "blue cotton jeans"])  # (2, 384) float32, unit rows
    """

    backends = ONNX_BACKENDS
    runtime = "onnx"

    def __init__(self, session: Any, tokenizer: Any, meta: dict, *, backend: str = "onnx", **options: Any) -> None:
        super().__init__(session, tokenizer, meta, backend=backend, **options)
        self.session = session

    @classmethod
    def load(cls, ref: str | os.PathLike | None = None, *, backend: str = "onnx", device: str | None = "cpu",
             threads: int | None = None, cache_root: str | os.PathLike | None = None, **options: Any) -> OnnxEncoder:
        """Load the ``backend`` export of model ``ref``, exporting it first when the cache lacks it.
        device: only "cpu" (or None). threads: ORT intra-op threads (None: $MRS_ENCODER_THREADS, else all
        cores). options: space_type, batch_size (mrs.indexer.embed.Encoder)."""
        cpu_only(device, "ONNX")
        threads = env_threads() if threads is None else threads
        directory = export_onnx(ref, backend, cache_root=cache_root)
        meta = {**(read_export(directory) or {}), "export_dir": str(directory)}
        tokenizer, meta["pad_id"] = load_tokenizer(directory, meta["max_seq_length"])
        return cls(open_session(directory, threads), tokenizer, meta, backend=backend, threads=threads, **options)

    def _run(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        (out,) = self.session.run(["sentence_embedding"], feeds)
        return out

    def set_threads(self, threads: int) -> None:
        """A new session of the same export with ``threads`` intra-op threads."""
        self.session = self.model = open_session(self.meta["export_dir"], threads)
        self.threads = threads
