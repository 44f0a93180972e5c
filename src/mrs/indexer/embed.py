"""Text → float32 vectors with a sentence-transformers model, in token-length buckets.

The encoder is pluggable: ``Encoder.backend`` names how vectors are computed ("torch": a
SentenceTransformer on CPU/GPU; the others are subclasses listed in mrs.indexer.encoders). The name is
recorded in the index manifest so a query is encoded the way the catalog was.

Sequence bucketing: ``encode`` sorts the texts by token count (longest first), cuts batches from that
order so each batch pads to nearly one length, and puts the rows back in input order.

Vectors are L2-normalized only for the ``cosinesimil`` space (OpenSearch normalizes for that space
itself, so the score is unchanged); ``innerproduct`` and ``l2`` need the model's raw vectors.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from mrs.errors import InputError
from mrs.models import load_sentence_transformer, model_identity
from mrs.spaces import check_space_type

ENCODER_BACKENDS = ("torch",)  # what Encoder itself runs; every backend: mrs.indexer.encoders

# progress(n_texts_done_in_this_batch) is called after every batch.
ProgressCallback = Callable[[int], None]


def normalizes(space_type: str) -> bool:
    """True when vectors for ``space_type`` are stored L2-normalized (cosinesimil only)."""
    return check_space_type(space_type) == "cosinesimil"


def l2_normalize(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (zero rows stay zero); float32."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return (vectors / np.where(norms == 0, 1.0, norms)).astype(np.float32)


class Encoder:
    """Encodes product and query texts into float32 vectors.

    model: a loaded SentenceTransformer. identity: ``mrs.models.model_identity`` of the model directory
    ({"name", "path", "sha256"}), recorded in manifests and in embedding-cache keys.
    space_type: the vector space the vectors are meant for; decides normalization (see module doc).
    batch_size: texts per forward pass.

    Example::

        enc = Encoder.load(None)                # packaged all-MiniLM-L6-v2
        vecs = enc.encode(["red shirt", "blue cotton jeans"])   # (2, 384) float32, unit rows
        q = enc.encode_query("red shirt")                       # (384,)
    """

    backend = "torch"

    def __init__(
        self,
        model: Any,
        identity: dict,
        *,
        space_type: str = "cosinesimil",
        batch_size: int = 32,
    ) -> None:
        if batch_size < 1:
            raise InputError(f"batch size must be ≥ 1 (got {batch_size})")
        self.model = model
        self.identity = dict(identity)
        self.space_type = space_type
        self.normalize = normalizes(space_type)
        self.batch_size = int(batch_size)

    @classmethod
    def load(
        cls,
        ref: str | os.PathLike | None = None,
        *,
        space_type: str = "cosinesimil",
        batch_size: int = 32,
        device: str | None = "cpu",
        backend: str = "torch",
    ) -> Encoder:
        """Load the model ``ref`` (local dir → packaged default → hub id, see mrs.models.resolve_model)."""
        if backend not in ENCODER_BACKENDS:
            raise InputError(f"unknown encoder backend {backend!r} (expected one of {', '.join(ENCODER_BACKENDS)})")
        model = load_sentence_transformer(ref, device=device)  # quietly: mrs.models.quiet_model_loading
        return cls(model, model_identity(ref), space_type=space_type, batch_size=batch_size)

    @property
    def dimension(self) -> int:
        """Length of each vector."""
        get_dim = getattr(self.model, "get_embedding_dimension", None) or getattr(
            self.model, "get_sentence_embedding_dimension", None
        )
        dim = get_dim() if get_dim is not None else None
        if dim is None:
            dim = int(self._forward(["dimension probe"]).shape[1])
        return int(dim)

    @property
    def max_seq_length(self) -> int | None:
        return getattr(self.model, "max_seq_length", None)

    def token_lengths(self, texts: Sequence[str]) -> list[int]:
        """Tokens per text as the model sees it (special tokens included, truncated at max_seq_length);
        characters per text for a model without a fast tokenizer."""
        tokenizer = getattr(self.model, "tokenizer", None)
        if not getattr(tokenizer, "is_fast", False):
            return [len(t) for t in texts]
        limit = self.max_seq_length
        lengths = tokenizer(list(texts), add_special_tokens=True, truncation=bool(limit), max_length=limit,
                            return_attention_mask=False, return_token_type_ids=False)["input_ids"]
        return [len(ids) for ids in lengths]

    def _forward(self, texts: Sequence[str]) -> np.ndarray:
        out = self.model.encode(
            list(texts),
            batch_size=max(1, len(texts)),
            convert_to_numpy=True,
            normalize_embeddings=False,
            show_progress_bar=False,
        )
        return np.asarray(out, dtype=np.float32)

    def encode(self, texts: Sequence[str], progress: ProgressCallback | None = None) -> np.ndarray:
        """Vectors for ``texts``, shape (len(texts), dimension), float32, rows in the input order.

        Texts are sorted by token count (longest first, ties in input order) before batching so each batch
        pads to nearly one length, then the rows are put back in input order. ``progress(n)`` is called
        after each batch with the number of texts it held.
        """
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        order = np.argsort([-n for n in self.token_lengths(texts)], kind="stable")
        out: np.ndarray | None = None
        for start in range(0, len(texts), self.batch_size):
            idx = order[start : start + self.batch_size]
            vecs = self._forward([texts[i] for i in idx])
            if out is None:
                out = np.empty((len(texts), vecs.shape[1]), dtype=np.float32)
            out[idx] = vecs
            if progress is not None:
                progress(len(idx))
        assert out is not None
        return l2_normalize(out) if self.normalize else out

    def encode_query(self, text: str) -> np.ndarray:
        """One query's vector, shape (dimension,), float32 (no batching, no progress)."""
        vec = self._forward([text])[0]
        return l2_normalize(vec) if self.normalize else vec

    def describe(self) -> dict:
        """What the manifest records about this encoder."""
        return {
            "backend": self.backend,
            "model": self.identity,
            "dimension": self.dimension,
            "normalized": self.normalize,
            "max_seq_length": self.max_seq_length,
        }


def check_query_model(encoder: Any, built_with: Mapping[str, Any], dimension: int, where: str, *,
                      allow_model_mismatch: bool = False) -> None:
    """InputError when ``encoder`` cannot encode queries for an index whose vectors ``built_with`` (the
    index's model identity {"name", "path", "sha256"}) made, ``dimension`` long: another vector length
    (always refused), or another model — a different sha256 (mrs.models.model_identity), whether another
    model was asked for or the model directory was changed in place since the index was built. Its vectors
    live in another space, so every dense score would be meaningless. allow_model_mismatch: accept the
    second case (the user says the models are compatible). where: the index, for the message."""
    have = dict(getattr(encoder, "identity", {}) or {})
    if int(encoder.dimension) != int(dimension):
        raise InputError(f"query model {have.get('name')!r} makes {encoder.dimension}-dimensional vectors, the index "
                         f"holds {dimension}-dimensional ones (index built with {built_with.get('name')!r})", path=where)
    old, new = built_with.get("sha256"), have.get("sha256")
    if allow_model_mismatch or not old or not new or old == new:
        return
    if built_with.get("path") and have.get("path") == built_with.get("path"):
        what = (f"the model directory {have['path']} changed since the index was built (sha256 {old[:12]}… then, "
                f"{new[:12]}… now): rebuild the index with `mrs index catalog`")
    else:
        what = (f"query model {have.get('name')!r} (sha256 {new[:12]}…) is not the model the index was built with, "
                f"{built_with.get('name')!r} (sha256 {old[:12]}…; {built_with.get('path')}): its vectors are in "
                "another space")
    raise InputError(f"{what}, or pass --allow-model-mismatch to use it anyway", path=where)
