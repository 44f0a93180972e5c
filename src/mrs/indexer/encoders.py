"""Every encoder backend by its ``--encoder`` name, and the one function that loads one.

| name | class | runs |
|---|---|---|
| ``torch`` | mrs.indexer.embed.Encoder | the SentenceTransformer in PyTorch (CPU or GPU) |
| ``onnx``, ``onnx-int8`` | mrs.indexer.onnx_encoder.OnnxEncoder | ONNX Runtime on CPU (fp32 fused; dynamic int8) |
| ``openvino``, ``openvino-int8`` | mrs.indexer.openvino_encoder.OpenVinoEncoder | OpenVINO on CPU (fp32; NNCF static int8) |

The index manifest records ``encoder.backend`` so queries are encoded by the same backend as the catalog.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from mrs.errors import InputError
from mrs.indexer.embed import ENCODER_BACKENDS, Encoder
from mrs.indexer.onnx_export import ONNX_BACKENDS, OPENVINO_BACKENDS

KNOWN_ENCODER_BACKENDS = ENCODER_BACKENDS + ONNX_BACKENDS + OPENVINO_BACKENDS
CALIBRATED_BACKENDS = ("openvino-int8",)  # their first export calibrates on the texts they are given


def load_encoder(
    ref: str | os.PathLike | None = None,
    *,
    backend: str = "torch",
    space_type: str = "cosinesimil",
    batch_size: int = 32,
    device: str | None = "cpu",
    calibration_texts: Sequence[str] | None = None,
) -> Encoder:
    """An encoder of model ``ref`` (mrs.models.resolve_model) for ``backend`` (the table above).
    calibration_texts: embedding texts for a calibrated backend's first export (openvino-int8); others
    ignore them. InputError for an unknown backend or a backend whose packages are missing."""
    options = {"space_type": space_type, "batch_size": batch_size, "device": device}
    if backend in ENCODER_BACKENDS:
        return Encoder.load(ref, backend=backend, **options)
    if backend in ONNX_BACKENDS:
        from mrs.indexer.onnx_encoder import OnnxEncoder

        return OnnxEncoder.load(ref, backend=backend, **options)
    if backend in OPENVINO_BACKENDS:
        from mrs.indexer.openvino_encoder import OpenVinoEncoder

        return OpenVinoEncoder.load(ref, backend=backend, calibration_texts=calibration_texts, **options)
    raise InputError(f"unknown encoder backend {backend!r} (expected one of {', '.join(KNOWN_ENCODER_BACKENDS)})")
