"""Index writers under faults (issue 20, classes 4 and 8): a kill -9 between the two renames of the swap and
during a build leaves leftovers the next build cleans (and reports); two writers of one index: the second
is refused naming the holder, or waits with --wait."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from mrs.cli.main import cli
from mrs.data.catalog import Product
from mrs.engine import store
from mrs.engine.build import build_index
from mrs.engine.engine import EmbeddedEngine
from mrs.errors import InputError, OutputError
from mrs.indexer.embed import Encoder

from .helpers import one_error_line

SRC = str(Path(__file__).resolve().parents[2] / "src")


class HashModel:
    """A stand-in SentenceTransformer: 8-d vectors from character codes (deterministic, instant)."""

    max_seq_length = 64

    def get_embedding_dimension(self) -> int:
        return 8

    def encode(self, texts, **kwargs):
        return np.asarray([[(sum(map(ord, t)) * (i + 1)) % 97 + 1.0 for i in range(8)] for t in texts],
                          dtype=np.float32)


def encoder() -> Encoder:
    return Encoder(HashModel(), {"name": "hash-8", "path": "/nonexistent/hash-8", "sha256": "0" * 64})


PRODUCTS = [Product(f"p{i}", {"title": f"grey sofa {i}"}) for i in range(5)]


def _build(target, products=PRODUCTS, **kw):
    return build_index(target, products, encoder=encoder(), **kw)


KILLER = textwrap.dedent("""
    import os, signal, sys
    sys.path.insert(0, {src!r}); sys.path.insert(0, {tests!r})
    from mrs.engine import store
    from hostile.test_index_writers import PRODUCTS, _build
    real = os.rename
    calls = []
    def rename(a, b):
        calls.append((a, b))
        real(a, b)
        if {after} == len(calls):
            os.kill(os.getpid(), signal.SIGKILL)
    store.os.rename = rename
    {before}
    _build({target!r}, PRODUCTS[:3])
""")


def _run_killed(target: Path, after_renames: int, before: str = "") -> int:
    code = KILLER.format(src=SRC, tests=str(Path(__file__).resolve().parents[1]), after=after_renames,
                         target=str(target), before=before)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).returncode


def test_kill_between_the_two_renames_then_the_next_build_recovers_and_cleans(tmp_path):
    target = tmp_path / "idx"
    _build(target)
    assert _run_killed(target, after_renames=1) == -9  # killed after `idx → .idx.old-*`, before `.building → idx`
    names = sorted(p.name for p in tmp_path.iterdir())
    assert "idx" not in names and any(n.startswith(".idx.old-") for n in names) and \
        any(n.startswith(".idx.building-") for n in names)
    stats = _build(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".idx.lock", "idx"]
    assert stats.leftovers_removed and all(n.startswith(".idx.building-") for n in stats.leftovers_removed)
    assert stats.cached == 5  # the recovered previous index's vectors were reused


def test_kill_after_the_swap_leaves_an_old_copy_the_next_build_removes(tmp_path):
    target = tmp_path / "idx"
    _build(target)
    before = "import shutil; shutil.rmtree = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)"
    assert _run_killed(target, after_renames=99, before=before) == -9  # both renames done, old copy not removed
    assert any(p.name.startswith(".idx.old-") for p in tmp_path.iterdir())
    assert len(EmbeddedEngine.open(target).ids) == 3
    stats = _build(target)
    assert [n[:9] for n in stats.leftovers_removed] == [".idx.old-"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".idx.lock", "idx"]


def test_a_second_writer_is_refused_naming_the_holder(tmp_path):
    target = tmp_path / "idx"
    with store.index_lock(target):
        with pytest.raises(InputError) as err:
            _build(target)
    message = str(err.value)
    assert f"pid {os.getpid()} on host " in message and "--wait" in message and str(target) in message
    _build(target)  # released: the next writer goes ahead


def test_a_second_writer_with_wait_starts_when_the_first_is_done(tmp_path):
    target = tmp_path / "idx"
    waited: list[str] = []
    order: list[str] = []
    holding = threading.Event()

    def first():
        with store.index_lock(target):
            holding.set()
            time.sleep(0.5)
            order.append("first done")

    t = threading.Thread(target=first)
    t.start()
    holding.wait()
    with store.index_lock(target, wait=True, on_wait=waited.append):
        order.append("second in")
    t.join()
    assert order == ["first done", "second in"] and waited and "pid" in waited[0]


def test_cli_second_index_run_exits_2_with_the_holder(tmp_path):
    catalog = tmp_path / "c.jsonl"
    catalog.write_text("".join(json.dumps({"id": f"p{i}", "title": "sofa"}) + "\n" for i in range(3)))
    target = tmp_path / "idx"
    with store.index_lock(target):
        result = CliRunner().invoke(cli, ["index", "catalog", str(catalog), "--index", str(target)])
    assert result.exit_code == 2
    line = one_error_line(result)
    assert "is being written by pid" in line and "--wait" in line


def test_the_lock_is_released_when_its_holder_is_killed(tmp_path):
    target = tmp_path / "idx"
    code = (f"import sys, os, signal; sys.path.insert(0, {SRC!r}); from mrs.engine import store\n"
            f"with store.index_lock({str(target)!r}): os.kill(os.getpid(), signal.SIGKILL)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == -9
    _build(target)  # the kernel dropped the flock with the process
    assert sorted(p.name for p in tmp_path.iterdir()) == [".idx.lock", "idx"]


def test_index_on_a_full_disk_is_an_output_error_and_the_previous_index_survives(tmp_path, full_disk):
    target = full_disk / "idx"
    _build(target)
    many = [Product(f"q{i}", {"title": "grey sofa " * 30 + str(i)}) for i in range(400)]
    with pytest.raises(OutputError, match=r"cannot write .*idx: no space left on device \(ENOSPC\)"):
        _build(target, many)
    assert len(EmbeddedEngine.open(target).ids) == 5
    assert sorted(p.name for p in full_disk.iterdir()) == [".idx.lock", "idx"]


def test_index_into_a_read_only_directory_is_one_line_exit_1(tmp_path, read_only_dir):
    catalog = tmp_path / "c.jsonl"
    catalog.write_text(json.dumps({"id": "p1", "title": "sofa"}) + "\n")
    result = CliRunner().invoke(cli, ["index", "catalog", str(catalog), "--index", str(read_only_dir / "idx")])
    assert result.exit_code == 1
    assert "read-only file system (EROFS)" in one_error_line(result)
