"""All-or-nothing outputs and one-line OS faults (issue 20, classes 3 and 4): mrs.atomic and the CLI's error
boundary, with real ENOSPC / EROFS from tiny and read-only tmpfs mounts."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from mrs.atomic import OutputSet, atomic_file, output_set, temporary_name, write_text
from mrs.cli.main import cli
from mrs.errors import OutputError

from .helpers import one_error_line


def test_a_failed_set_leaves_neither_new_files_nor_temporaries(tmp_path):
    (tmp_path / "a.txt").write_text("old a")
    with pytest.raises(RuntimeError), output_set() as outputs:
        outputs.write_text(tmp_path / "a.txt", "new a")
        outputs.write_text(tmp_path / "b.txt", "new b")
        raise RuntimeError("the third file failed")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]
    assert (tmp_path / "a.txt").read_text() == "old a"


def test_a_failed_set_removes_the_directories_it_made(tmp_path):
    (tmp_path / "keep").mkdir()
    with pytest.raises(RuntimeError), output_set() as outputs:
        outputs.write_text(tmp_path / "out" / "runs" / "a.trec", "A")
        outputs.write_text(tmp_path / "keep" / "b.txt", "B")
        raise RuntimeError("failed")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep"] and list((tmp_path / "keep").iterdir()) == []


def test_a_set_appears_whole(tmp_path):
    with output_set() as outputs:
        outputs.write_text(tmp_path / "a.txt", "A")
        outputs.write_bytes(tmp_path / "sub" / "b.bin", b"B")
        assert not (tmp_path / "a.txt").exists()  # nothing visible before the commit
    assert (tmp_path / "a.txt").read_text() == "A" and (tmp_path / "sub" / "b.bin").read_bytes() == b"B"
    assert [p.name for p in tmp_path.rglob(".*.tmp")] == []


def test_full_disk_is_an_output_error_naming_the_target_and_leaves_nothing(full_disk):
    target = full_disk / "big.bin"
    with pytest.raises(OutputError) as err:
        with atomic_file(target, "wb") as fh:
            fh.write(b"x" * 200_000)
    assert err.value.error.errno == errno.ENOSPC
    assert str(err.value) == f"cannot write {target}: no space left on device (ENOSPC)"
    assert list(full_disk.iterdir()) == []


def test_read_only_directory_is_an_output_error(read_only_dir):
    with pytest.raises(OutputError, match=r"read-only file system \(EROFS\)"):
        write_text(read_only_dir / "x.json", "{}")


def test_a_dead_writers_temporary_is_removed_by_the_next_write(tmp_path):
    target = tmp_path / "report.json"
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(child.stdout)  # exited: its pid is free (reuse within this test is vanishingly unlikely)
    stale = target.with_name(f".{target.name}.{dead_pid}-0123abcd.tmp")
    stale.write_text("half a report")
    live = temporary_name(target)  # this process: alive, must be kept
    live.write_text("being written")
    write_text(target, "{}")
    assert not stale.exists() and live.exists() and target.read_text() == "{}"


def test_caller_os_errors_inside_the_block_stay_what_they_are(tmp_path):
    with pytest.raises(FileNotFoundError), atomic_file(tmp_path / "out.txt") as fh:
        fh.write("x")
        open(tmp_path / "missing-input.txt")  # noqa: SIM115 - an input error of the caller, not a write error
    assert list(tmp_path.iterdir()) == []


def test_outputset_rejects_read_modes(tmp_path):
    with pytest.raises(ValueError), OutputSet().open(tmp_path / "x", "r"):
        pass


def test_data_sample_on_a_full_disk_is_one_line_exit_1_and_writes_nothing(full_disk):
    out = full_disk / "demo"
    result = CliRunner().invoke(cli, ["data", "sample", "--out", str(out)])
    assert result.exit_code == 1
    line = one_error_line(result)
    assert "no space left on device (ENOSPC)" in line and str(out) in line
    assert list(full_disk.iterdir()) == []  # no truncated events.jsonl, no catalog without its judgments, no dir


def test_data_sample_into_a_read_only_mount_is_one_line_exit_1(read_only_dir):
    result = CliRunner().invoke(cli, ["data", "sample", "--out", str(read_only_dir / "demo")])
    assert result.exit_code == 1
    assert "read-only file system (EROFS)" in one_error_line(result)


def test_inspect_rejects_on_a_full_disk_leave_no_temporary(tmp_path, full_disk, monkeypatch):
    catalog = full_disk / "catalog.jsonl"
    rows = [json.dumps({"id": str(i), "title": "sofa " * 20}) for i in range(60)] + ["{broken"] * 400
    catalog.write_text("\n".join(rows) + "\n")  # fills most of the 64 KiB; the rejects file will not fit
    result = CliRunner().invoke(cli, ["data", "inspect", str(catalog), "--on-error", "skip"])
    assert result.exit_code == 1, result.output
    assert "ENOSPC" in one_error_line(result)
    assert sorted(p.name for p in full_disk.iterdir()) == ["catalog.jsonl"]


def test_other_os_faults_at_the_boundary_are_one_line_exit_1(tmp_path, monkeypatch):
    import mrs.cli.data as data_cli

    def refuse(*args, **kwargs):
        raise OSError(errno.EIO, os.strerror(errno.EIO), str(tmp_path / "demo"))

    monkeypatch.setattr(data_cli, "write_sample", refuse)
    result = CliRunner().invoke(cli, ["data", "sample", "--out", str(tmp_path / "demo")])
    assert result.exit_code == 1
    assert one_error_line(result) == f"error: {tmp_path / 'demo'}: input/output error (EIO)"
