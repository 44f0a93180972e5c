"""Model resolution: local dir → packaged default → hub id; bad directories are clear input errors."""

import pytest

from mrs.errors import InputError
from mrs.models import model_identity, packaged_model_dir, resolve_model


def test_default_resolves_to_packaged_minilm():
    assert resolve_model(None) == str(packaged_model_dir())
    assert resolve_model("all-MiniLM-L6-v2") == str(packaged_model_dir())
    assert (packaged_model_dir() / "config.json").exists()


def test_local_dir_that_is_not_a_model_is_rejected(tmp_path):
    (tmp_path / "readme.txt").write_text("hello")
    with pytest.raises(InputError, match="not a sentence-transformers model directory"):
        resolve_model(tmp_path)


def test_missing_local_path_is_rejected(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        resolve_model(str(tmp_path / "nope"))


def test_hub_id_passes_through():
    assert resolve_model("BAAI/bge-small-en-v1.5") == "BAAI/bge-small-en-v1.5"


def test_identity_is_stable():
    a, b = model_identity(None), model_identity("default")
    assert a == b and a["name"] == "all-MiniLM-L6-v2" and len(a["sha256"]) == 64
