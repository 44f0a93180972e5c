"""Encoder: token-length buckets come back in input order; normalization only for cosinesimil."""

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
    from mrs.indexer.encoders import load_encoder

    with pytest.raises(InputError, match="unknown encoder backend 'tensorrt'"):
        load_encoder(None, backend="tensorrt")


def test_batches_are_cut_by_token_count_and_rows_restored(minilm, identity):
    # "internationalization" has the most characters (20) but only 2 word pieces; the short-word texts have 8:
    # buckets follow the tokens the model pads, not the characters
    texts = ["internationalization", "ab cd ef gh ij", "mug", "x y z w v u t s"]
    enc = Encoder(minilm, identity, batch_size=2)
    lengths = enc.token_lengths(texts)
    # [CLS] + word pieces + [SEP], counted by the model's own tokenizer
    assert lengths == [len(minilm.tokenizer(t)["input_ids"]) for t in texts]
    assert lengths == [4, 10, 3, 10]
    batches: list[list[str]] = []
    forward = enc._forward
    enc._forward = lambda batch: (batches.append(list(batch)), forward(batch))[1]
    vectors = enc.encode(texts)
    # longest first by tokens (ties in input order); by characters the first batch would pair
    # "internationalization" with "x y z w v u t s"
    assert batches == [["ab cd ef gh ij", "x y z w v u t s"], ["internationalization", "mug"]]
    for i, text in enumerate(texts):  # rows back in input order
        np.testing.assert_allclose(vectors[i], enc.encode_query(text), atol=1e-5)


def test_token_lengths_truncate_at_max_seq_length(minilm, identity):
    enc = Encoder(minilm, identity)
    assert enc.token_lengths([" ".join(["memory foam"] * 300)]) == [minilm.max_seq_length]


def test_cli_rejects_an_unknown_encoder_in_one_line(tmp_path):
    from click.testing import CliRunner

    from mrs.cli.main import cli

    catalog = tmp_path / "catalog.jsonl"
    catalog.write_text('{"id": "1", "title": "mug"}\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["index", "catalog", str(catalog), "--index", str(tmp_path / "idx"),
                                      "--encoder", "tensorrt"])
    assert result.exit_code == 2
    errors = [line for line in result.output.splitlines() if line.startswith("Error")]
    assert len(errors) == 1 and "'tensorrt'" in errors[0] and "openvino-int8" in errors[0], result.output
    assert "Traceback" not in result.output
