"""Fault injection for the hostile-input tests: a tiny tmpfs (a full disk) and a read-only tmpfs.

Both are real mounts (root in a sandbox that allows ``mount``), so the OS itself raises ENOSPC / EROFS. Where
mounting is not allowed the fixture skips with that reason (shown in pytest's summary), and the monkeypatched
tests beside them still cover the same code paths.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest


def _mount_tmpfs(where: Path, options: str) -> None:
    where.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], capture_output=True,
                          text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip() or done.returncode}): fault injection "
                    "by mount is unavailable")


def _umount(where: Path) -> None:
    subprocess.run(["umount", "-l", str(where)], capture_output=True)


@pytest.fixture
def full_disk(tmp_path):
    """A directory on a 64 KiB tmpfs: writes past 64 KiB fail with ENOSPC."""
    where = tmp_path / "full"
    _mount_tmpfs(where, "size=64k")
    yield where
    _umount(where)


@pytest.fixture
def read_only_dir(tmp_path):
    """A directory on a read-only tmpfs: every write fails with EROFS (even for root)."""
    where = tmp_path / "ro"
    _mount_tmpfs(where, "ro,size=64k")
    yield where
    _umount(where)
