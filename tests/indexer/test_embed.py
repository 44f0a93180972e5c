"""Encoder: length-sorted batches come back in input order; normalization only for cosinesimil."""

from __future__ import annotations

import numpy as np
import pytest

from mrs.errors import InputError
from mrs.indexer.embed import Encoder, l2_normalize, normalizes
from mrs.models import model_identity

TEXTS = [
    "a",
    "red cotton shirt with long sleeves and buttons",
    "blue jeans",
    "stainless steel kitchen knife set with wooden block, 15 pieces",
    "mug",
]


@pytest.fixture(scope="module")
def identity():
    return model_identity(None)


def test_batches_restore_input_order(minilm, identity):
    enc = Encoder(minilm, identity, batch_size=2)
    seen = []
    vectors = enc.encode(TEXTS, progress=seen.append)
    assert vectors.dtype == np.float32 and vectors.shape == (5, 384)
    # each row equals the text encoded on its own (padding must not change the vector beyond float noise)
    for i, text in enumerate(TEXTS):
        np.testing.assert_allclose(vectors[i], enc.encode_query(text), atol=1e-5)
    # 5 texts in batches of 2 → 2 + 2 + 1
    assert seen == [2, 2, 1]


def test_cosinesimil_vectors_are_unit_length_other_spaces_raw(minilm, identity):
    cos = Encoder(minilm, identity, space_type="cosinesimil").encode(["wireless mouse", "garden hose"])
    np.testing.assert_allclose(np.linalg.norm(cos, axis=1), 1.0, atol=1e-5)
    raw = minilm.encode(["wireless mouse"], convert_to_numpy=True, normalize_embeddings=False)[0]
    for space in ("innerproduct", "l2"):
        vec = Encoder(minilm, identity, space_type=space).encode_query("wireless mouse")
        np.testing.assert_allclose(vec, raw, atol=1e-5)


def test_dimension_identity_and_empty_input(minilm, identity):
    enc = Encoder(minilm, identity)
    assert enc.dimension == 384
    assert enc.identity["name"] == "all-MiniLM-L6-v2"
    assert enc.describe()["backend"] == "torch"
    assert enc.encode([]).shape == (0, 384)


def test_bad_settings_are_input_errors(minilm, identity):
    with pytest.raises(InputError, match="space type"):
        Encoder(minilm, identity, space_type="hamming")
    with pytest.raises(InputError, match="batch size"):
        Encoder(minilm, identity, batch_size=0)
    with pytest.raises(InputError, match="encoder backend"):
        Encoder.load(None, backend="tensorrt")


def test_l2_normalize_keeps_zero_rows():
    out = l2_normalize(np.array([[3.0, 4.0], [0.0, 0.0]]))
    # [3, 4] / 5 = [0.6, 0.8]; the zero row stays zero (no division by 0)
    np.testing.assert_allclose(out, [[0.6, 0.8], [0.0, 0.0]])
    assert normalizes("cosinesimil") and not normalizes("l2") and not normalizes("innerproduct")


def test_load_encoder_rejects_unknown_backend():
    from mrs.indexer.embed import load_encoder

    with pytest.raises(InputError, match="unknown encoder backend 'tensorrt'"):
        load_encoder(None, backend="tensorrt")
