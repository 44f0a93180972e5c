"""All-or-nothing output files: the one helper every mrs writer uses.

A target file is written to a hidden temporary file beside it, ``.<name>.<pid>-<random>.tmp`` (same
directory, so same file system), flushed and fsync'ed, then renamed over the target with ``os.replace``
(atomic on POSIX). When anything fails — a full disk (ENOSPC), a read-only file system (EROFS), no permission
(EACCES), a bug in the caller — the temporary file is removed, the previous target is untouched, and an OS
failure is raised as ``mrs.errors.OutputError`` naming the target (the CLI prints it as one line, exit 1).

Several files that belong together (a report and its plots, the sample dataset's five files) are staged in
one ``OutputSet`` and renamed only after every one of them was written: either all new files appear, or none.

A temporary file left by a killed run (its pid no longer running on this host) is removed the next time the
same target is written.

Reference: POSIX rename(2) ("If newpath already exists, it will be atomically replaced"), fsync(2).
"""

from __future__ import annotations

import io
import json
import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from mrs.errors import OutputError

TMP_SUFFIX = ".tmp"
_TMP_NAME = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)-[0-9a-f]{8}\.tmp$")


def temporary_name(target: Path) -> Path:
    """``<dir>/.<name>.<pid>-<8 hex>.tmp``: the temporary file of ``target`` for this process."""
    return target.with_name(f".{target.name}.{os.getpid()}-{secrets.token_hex(4)}{TMP_SUFFIX}")


def pid_alive(pid: int) -> bool:
    """True when a process with this pid runs on this host (or cannot be signalled: another user's)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_dead_temporaries(target: Path) -> list[Path]:
    """Remove the temporary files of ``target`` whose writer is no longer running. Returns those removed."""
    removed: list[Path] = []
    try:
        siblings = list(target.parent.glob(f".{glob_escape(target.name)}.*{TMP_SUFFIX}"))
    except OSError:
        return removed
    for p in siblings:
        m = _TMP_NAME.match(p.name)
        if m and m["name"] == target.name and not pid_alive(int(m["pid"])):
            try:
                p.unlink()
                removed.append(p)
            except OSError:
                pass
    return removed


def glob_escape(name: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", name)


def ensure_directory(directory: str | os.PathLike, target: str | os.PathLike | None = None) -> Path:
    """``mkdir -p directory``; OutputError naming ``target`` (default the directory) when the OS refuses."""
    d = Path(directory)
    try:
        d.mkdir(parents=True, exist_ok=True)
    except FileExistsError as e:  # a file where the directory should be
        raise OutputError(target or d, NotADirectoryError(20, "a file is in the way of the directory", str(d))) \
            from e
    except OSError as e:
        raise OutputError(target or d, e) from e
    return d


class _GuardedFile:
    """A staged file whose write failures are OutputErrors naming the target; everything else passes through
    (so the caller's own OSErrors, e.g. from reading its input, stay what they are)."""

    def __init__(self, fh: IO[Any], target: Path):
        self._fh, self._target = fh, target

    def write(self, data: Any) -> int:
        try:
            return self._fh.write(data)
        except OSError as e:
            raise OutputError(self._target, e) from e

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        try:
            self._fh.flush()
        except OSError as e:
            raise OutputError(self._target, e) from e

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fh, name)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._fh)


def _close_quietly(fh: IO[Any]) -> None:
    try:
        fh.close()
    except OSError:
        pass


class OutputSet:
    """Files staged together and renamed into place together by ``commit`` (see module doc).

    ``open(path, mode)`` stages one file (a context manager yielding the open file); ``write_text``,
    ``write_bytes`` and ``write_json`` stage whole contents. ``commit`` renames every staged file over its
    target; ``abort`` removes them. Use ``output_set()`` to get commit-on-success / abort-on-error.
    """

    def __init__(self) -> None:
        self.staged: list[tuple[Path, Path]] = []  # (temporary, target)
        self.created: list[Path] = []  # directories this set made, removed again by abort when still empty

    def mkdir(self, directory: str | os.PathLike, target: str | os.PathLike | None = None) -> Path:
        """``mkdir -p directory``, remembering the directories it made (abort removes them when empty).
        OutputError naming ``target`` (default the directory) when the OS refuses."""
        d = Path(directory)
        missing = []
        for p in (d, *d.parents):
            if p.exists():
                break
            missing.append(p)
        ensure_directory(d, target)
        self.created.extend(reversed(missing))  # outermost first
        return d

    @contextmanager
    def open(self, path: str | os.PathLike, mode: str = "w", *, encoding: str | None = "utf-8",
             newline: str | None = None) -> Iterator[IO[Any]]:
        """Stage ``path``: yield a file open for writing; it is closed (flushed + fsync'ed) at the end of the
        ``with`` block and renamed over ``path`` by ``commit``. OutputError (naming ``path``) on OS failures."""
        if mode not in ("w", "wb"):
            raise ValueError(f"mode must be 'w' or 'wb', not {mode!r}")
        target = Path(path)
        self.mkdir(target.parent, target)
        remove_dead_temporaries(target)
        tmp = temporary_name(target)
        try:
            fh = open(tmp, mode, encoding=None if mode == "wb" else encoding,  # noqa: SIM115 - closed below
                      newline=None if mode == "wb" else newline)
        except OSError as e:
            raise OutputError(target, e) from e
        self.staged.append((tmp, target))
        try:
            yield _GuardedFile(fh, target)
            try:
                fh.flush()
                os.fsync(fh.fileno())
                fh.close()
            except OSError as e:
                raise OutputError(target, e) from e
        finally:
            _close_quietly(fh)  # after a failure: the buffered rest cannot be written, and is not wanted

    def write_bytes(self, path: str | os.PathLike, data: bytes) -> Path:
        with self.open(path, "wb") as fh:
            fh.write(data)
        return Path(path)

    def write_text(self, path: str | os.PathLike, text: str, *, newline: str | None = None) -> Path:
        with self.open(path, "w", newline=newline) as fh:
            fh.write(text)
        return Path(path)

    def write_json(self, path: str | os.PathLike, obj: Any) -> Path:
        """Stage ``obj`` as indented UTF-8 JSON (non-JSON values via str) with a final newline."""
        return self.write_text(path, json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n")

    def commit(self) -> list[Path]:
        """Rename every staged file over its target (in staging order). Returns the targets."""
        done: list[Path] = []
        try:
            for tmp, target in self.staged:
                os.replace(tmp, target)
                done.append(target)
        except OSError as e:
            self.abort()
            raise OutputError(target, e) from e
        self.staged, self.created = [], []
        return done

    def abort(self) -> None:
        """Remove every staged temporary file that is still there (targets keep their previous content), then
        the directories this set made, innermost first, when they are empty."""
        for tmp, _ in self.staged:
            try:
                tmp.unlink()
            except OSError:
                pass
        for d in reversed(self.created):
            try:
                d.rmdir()
            except OSError:  # not empty (someone else's file), or already gone
                pass
        self.staged, self.created = [], []


@contextmanager
def output_set() -> Iterator[OutputSet]:
    """An OutputSet committed when the ``with`` block ends normally and aborted when it raises."""
    outputs = OutputSet()
    try:
        yield outputs
    except BaseException:
        outputs.abort()
        raise
    outputs.commit()


@contextmanager
def atomic_file(path: str | os.PathLike, mode: str = "w", *, encoding: str | None = "utf-8",
                newline: str | None = None) -> Iterator[IO[Any]]:
    """One all-or-nothing file: ``with atomic_file(p) as fh: fh.write(...)`` (see module doc)."""
    with output_set() as outputs, outputs.open(path, mode, encoding=encoding, newline=newline) as fh:
        yield fh


def write_text(path: str | os.PathLike, text: str, *, newline: str | None = None) -> Path:
    """Write ``text`` (UTF-8) to ``path``, all or nothing."""
    with output_set() as outputs:
        return outputs.write_text(path, text, newline=newline)


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path``, all or nothing."""
    with output_set() as outputs:
        return outputs.write_bytes(path, data)


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as indented UTF-8 JSON to ``path``, all or nothing."""
    with output_set() as outputs:
        return outputs.write_json(path, obj)


def figure_png(fig: Any, dpi: int) -> bytes:
    """A matplotlib figure rendered as PNG bytes in memory (so the file itself is written by this module)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def write_figure(fig: Any, path: str | os.PathLike, dpi: int, outputs: OutputSet | None = None) -> Path:
    """Render a matplotlib figure as PNG at ``dpi`` and write it to ``path``: staged in ``outputs`` when given,
    else on its own, all or nothing either way. The figure is closed whether or not rendering succeeds."""
    import matplotlib.pyplot as plt

    try:
        png = figure_png(fig, dpi)
    finally:
        plt.close(fig)
    return outputs.write_bytes(path, png) if outputs is not None else write_bytes(path, png)


@contextmanager
def atomic_directory(out_dir: str | os.PathLike) -> Iterator[Path]:
    """A whole output directory, all or nothing: ``with atomic_directory(out) as tmp:`` write the files into
    ``tmp`` (a hidden sibling ``.<name>.*``, same file system); when the block ends normally ``tmp`` replaces
    ``out`` (the previous directory is moved aside, then removed, so a crash leaves either the old or the new
    directory whole); when it raises, ``tmp`` is removed and ``out`` is untouched."""
    import shutil
    import tempfile

    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        yield tmp
        if out.exists():
            old = out.with_name(f".{out.name}.old")
            if old.exists():
                shutil.rmtree(old)
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old)
        else:
            tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
