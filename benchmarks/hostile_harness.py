"""The harness of benchmarks/hostile_corpus.py: a case, a CLI run, the checks a hostile case must pass, and
real fault injection (tmpfs mounts: a full disk, a read-only directory)."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SECRET = "Zq9-s3cr3t-X"
CATEGORIES = ("urls", "csv-rows", "one-line", "all-or-nothing", "mismatch", "readers", "noise", "concurrency")


@dataclass
class Result:
    """What one CLI run did: exit code, stdout, stderr, seconds."""

    code: int
    out: str
    err: str
    seconds: float


@dataclass
class Case:
    """One hostile case. run(ctx) → Result; check(result, ctx) → None when it holds, else what failed."""

    category: str
    name: str
    run: Callable[[Context], Result]
    check: Callable[[Result, Context], str | None]
    needs_mount: bool = False


@dataclass
class Context:
    work: Path
    env: dict[str, str]
    mounts: list[Path] = field(default_factory=list)
    can_mount: bool | None = None
    mount_error: str = ""


def mrs(ctx: Context, *args: str, env: dict[str, str] | None = None, timeout: float = 600) -> Result:
    """Run `python -m mrs.cli.main ARGS` (the `mrs` entry point) with this checkout's sources first."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "mrs.cli.main", *args], capture_output=True, text=True,
                          env={**ctx.env, **(env or {})}, timeout=timeout, cwd=ctx.work)
    return Result(done.returncode, done.stdout, done.stderr, time.perf_counter() - started)


def python(ctx: Context, code: str, timeout: float = 600) -> Result:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ctx.env,
                          timeout=timeout, cwd=ctx.work)
    return Result(done.returncode, done.stdout, done.stderr, time.perf_counter() - started)


# ---- checks ------------------------------------------------------------------------------------------

def one_line(code: int, *must: str, forbid: tuple[str, ...] = ()) -> Callable[[Result, Context], str | None]:
    """Exit ``code``, exactly one stderr line starting 'error:', no traceback, each ``must`` regex in it,
    none of ``forbid`` (nor the secret) anywhere in the output."""

    def check(r: Result, ctx: Context) -> str | None:
        return one_line_problem(r, code, must, forbid)

    return check


def one_line_problem(r: Result, code: int, must: tuple[str, ...] = (), forbid: tuple[str, ...] = ()) -> str | None:
    lines = [line for line in r.err.strip().splitlines() if line.strip()]
    if "Traceback" in r.err:
        return f"traceback ({len(r.err.splitlines())} lines): {lines[-1][:120] if lines else ''}"
    if r.code != code:
        return f"exit {r.code}, expected {code}: {r.err.strip()[:160]}"
    if len(lines) != 1 or not lines[0].startswith(("error:", "cluster error:")):
        return f"{len(lines)} stderr lines, expected one 'error:' line: {r.err.strip()[:160]}"
    for pattern in must:
        if not re.search(pattern, lines[0]):
            return f"{pattern!r} not in {lines[0][:200]!r}"
    for bad in (SECRET, *forbid):
        if bad in r.out + r.err:
            return f"{bad!r} appears in the output"
    return None


def all_checks(*checks: Callable[[Result, Context], str | None]) -> Callable[[Result, Context], str | None]:
    def check(r: Result, ctx: Context) -> str | None:
        return next((p for p in (c(r, ctx) for c in checks) if p), None)

    return check


def leaves_only(directory: Callable[[Context], Path], expected: set[str]) -> Callable[[Result, Context], str | None]:
    """After the run ``directory`` holds exactly ``expected`` (names; hidden temporaries count too)."""

    def check(r: Result, ctx: Context) -> str | None:
        d = directory(ctx)
        names = {p.name for p in d.iterdir()} if d.exists() else set()
        return None if names == expected else f"{d} holds {sorted(names)}, expected {sorted(expected)}"

    return check


# ---- fault injection -------------------------------------------------------------------------------

def mount(ctx: Context, name: str, options: str) -> Path:
    """A fresh tmpfs at work/mnt/NAME (``options``: size=64k, ro, ...)."""
    where = ctx.work / "mnt" / name
    if where in ctx.mounts:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)
        ctx.mounts.remove(where)
    where.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], capture_output=True,
                          text=True)
    if done.returncode:
        raise RuntimeError(done.stderr.strip() or "mount failed")
    ctx.mounts.append(where)
    return where


def mount_with(ctx: Context, name: str, options: str, fill: Callable[[Path], None]) -> Path:
    """A tmpfs prepared by ``fill`` first, then remounted with ``options`` (e.g. read-only, or full)."""
    where = mount(ctx, name, "size=8m")
    fill(where)
    done = subprocess.run(["mount", "-o", f"remount,{options}", str(where)], capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(done.stderr.strip() or "remount failed")
    return where
