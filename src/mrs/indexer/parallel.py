"""Thread settings and multi-process encoding for large catalogs.

- ``set_threads(encoder, n)``: how many CPU threads one encoder uses — torch's intra-op pool
  (``torch.set_num_threads``) or, for an exported-model encoder (ONNX Runtime, OpenVINO), its own
  ``set_threads`` (a new session / compiled model with ``n`` threads).
- ``ProcessPoolEncoder(encoder, processes)``: the same interface as the encoder it wraps (identity, backend,
  dimension, normalize, space_type, encode, encode_query, describe), but ``encode`` of a large list spreads
  length-sorted chunks over ``processes`` worker processes (spawned; each loads the same model and backend
  with ``threads_per_process`` threads). Small lists (< ``min_texts``) and single queries stay in process:
  starting workers and loading a model in each costs seconds.

When it pays: on many cores, several single-threaded workers beat one process whose intra-op threads idle
between small ops (tokenization, pooling, short batches). On 2 cores one process with 2 threads is as fast;
benchmarks/run.py reports both. Vectors are the same up to float noise for torch and onnx; onnx-int8
quantizes activations per batch, so its vectors depend slightly on which texts share a batch.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

import numpy as np

from mrs.errors import InputError
from mrs.indexer.embed import ProgressCallback

_WORKER_ENCODER: Any = None


def set_threads(encoder: Any, threads: int | None) -> None:
    """Use ``threads`` CPU threads for ``encoder`` (None: leave the library default, all cores)."""
    if threads is None:
        return
    if threads < 1:
        raise InputError(f"threads must be ≥ 1 (got {threads})")
    own = getattr(encoder, "set_threads", None)
    if callable(own):
        own(int(threads))
        return
    import torch

    torch.set_num_threads(int(threads))


def _load_worker(ref: str, backend: str, space_type: str, batch_size: int, threads: int) -> None:
    global _WORKER_ENCODER
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from mrs.indexer.encoders import load_encoder

    _WORKER_ENCODER = load_encoder(ref, backend=backend, space_type=space_type, batch_size=batch_size)
    set_threads(_WORKER_ENCODER, threads)


def _encode_chunk(texts: list[str]) -> np.ndarray:
    return _WORKER_ENCODER.encode(texts)


class ProcessPoolEncoder:
    """An encoder whose large ``encode`` calls run in ``processes`` worker processes (see module doc).

    encoder: the in-process encoder (mrs.indexer.embed.Encoder or a subclass) — its model path, backend,
    space_type and batch_size configure the workers. chunk_size: texts per task (default 8 batches).

    Example::

        enc = ProcessPoolEncoder(load_encoder(None, backend="onnx-int8"), processes=4)
        vectors = enc.encode(catalog_texts)        # (n, 384) float32, input order
    """

    def __init__(self, encoder: Any, processes: int, *, threads_per_process: int = 1, chunk_size: int | None = None,
                 min_texts: int = 2000) -> None:
        if processes < 1:
            raise InputError(f"processes must be ≥ 1 (got {processes})")
        self.encoder = encoder
        self.processes = int(processes)
        self.threads_per_process = int(threads_per_process)
        self.chunk_size = int(chunk_size or encoder.batch_size * 8)
        self.min_texts = int(min_texts)

    def __getattr__(self, name: str) -> Any:  # identity, backend, dimension, normalize, space_type, ...
        return getattr(self.encoder, name)

    def encode(self, texts: Sequence[str], progress: ProgressCallback | None = None) -> np.ndarray:
        """Vectors for ``texts`` in input order, as ``encoder.encode`` returns them; ``progress(n)`` after
        each finished chunk."""
        texts = list(texts)
        if self.processes == 1 or len(texts) < self.min_texts:
            return self.encoder.encode(texts, progress=progress)
        order = np.argsort([-len(t) for t in texts], kind="stable")
        chunks = [order[i: i + self.chunk_size] for i in range(0, len(texts), self.chunk_size)]
        out = np.empty((len(texts), self.encoder.dimension), dtype=np.float32)
        spec = (str(self.encoder.identity["path"]), self.encoder.backend, self.encoder.space_type,
                self.encoder.batch_size, self.threads_per_process)
        with ProcessPoolExecutor(max_workers=self.processes, mp_context=multiprocessing.get_context("spawn"),
                                 initializer=_load_worker, initargs=spec) as pool:
            futures = {pool.submit(_encode_chunk, [texts[i] for i in idx]): idx for idx in chunks}
            for fut in as_completed(futures):
                idx = futures[fut]
                out[idx] = fut.result()
                if progress is not None:
                    progress(len(idx))
        return out

    def encode_query(self, text: str) -> np.ndarray:
        return self.encoder.encode_query(text)

    def describe(self) -> dict:
        return {**self.encoder.describe(), "processes": self.processes, "threads_per_process": self.threads_per_process}
