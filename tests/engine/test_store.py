"""Atomic index directory: a failed write leaves the previous index as it was; no temp dirs are left."""

from __future__ import annotations

import pytest

from mrs.engine import store
from mrs.errors import InputError


def _write(target, marker):
    with store.atomic_directory(target) as tmp:
        store.write_documents(tmp, [("a", {"title": marker})])
        (tmp / "manifest.json").write_text("{}")


def test_replace_and_failed_write_keeps_previous(tmp_path):
    target = tmp_path / "index"
    _write(target, "first")
    _write(target, "second")
    assert store.read_documents(target) == (["a"], [{"title": "second"}])
    with pytest.raises(RuntimeError, match="disk full"):
        with store.atomic_directory(target) as tmp:
            store.write_documents(tmp, [("b", {"title": "third"})])
            raise RuntimeError("disk full")
    assert store.read_documents(target) == (["a"], [{"title": "second"}])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index"]  # no .building-/.old- leftovers


def test_refuses_to_replace_foreign_directory(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("precious")
    with pytest.raises(InputError, match="not an mrs index"):
        with store.atomic_directory(tmp_path / "mine"):
            pass
    assert (tmp_path / "mine" / "thesis.tex").read_text() == "precious"


def test_recover_previous_after_crash_between_renames(tmp_path):
    target = tmp_path / "index"
    _write(target, "kept")
    target.rename(tmp_path / ".index.old-x1")  # as if the process died after moving the old index aside
    assert store.recover_previous(target)
    assert store.read_documents(target)[1] == [{"title": "kept"}]


def test_corrupt_documents_name_file_and_line(tmp_path):
    (tmp_path / "documents.jsonl").write_text('{"id": "a", "fields": {}}\n{"id": \n')
    with pytest.raises(InputError, match=r"documents.jsonl:2: corrupt document row"):
        store.read_documents(tmp_path)
