"""mrs.atomic.atomic_directory: a whole output directory (models, judges) replaced all or nothing."""

import pytest


def test_atomic_directory_replaces_whole_or_leaves_the_old_one(tmp_path):
    from mrs.atomic import atomic_directory

    out = tmp_path / "model"
    with atomic_directory(out) as tmp:
        (tmp / "a.txt").write_text("one")
    with pytest.raises(RuntimeError), atomic_directory(out) as tmp:
        (tmp / "a.txt").write_text("two")
        raise RuntimeError("crash while writing")
    assert (out / "a.txt").read_text() == "one"
    with atomic_directory(out) as tmp:
        (tmp / "b.txt").write_text("three")
    assert sorted(p.name for p in out.iterdir()) == ["b.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # no temporary or .old sibling left
