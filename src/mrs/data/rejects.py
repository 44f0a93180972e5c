"""Rejected input rows: bad rows are reported with file and line, or collected, counted and written out.

Every reader takes ``on_error`` ("fail" or "skip") and a ``Rejects``. With "fail" the first bad row raises an
``InputError`` naming file and line (the CLI prints that one line and exits 2). With "skip" the row goes to the
``Rejects`` (file, line, reason, raw text) and reading goes on; the caller writes them beside its output with
``rejects.write(rejects_path_for(output))``. Nothing is silently lost.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from mrs.atomic import OutputSet, output_set
from mrs.errors import InputError

ON_ERROR_CHOICES = ("fail", "skip")


@dataclass(frozen=True)
class Reject:
    """One rejected row. line: 1-based line (row number for Parquet); raw: the row's text as read."""

    file: str
    line: int | None
    reason: str
    raw: str


@dataclass
class Rejects:
    """Collects rejected rows across one or more input files."""

    rows: list[Reject] = field(default_factory=list)

    def add(self, path: str | os.PathLike, line: int | None, reason: str, raw: object) -> None:
        """Record one bad row. raw: the row's text (bytes are decoded with replacement characters)."""
        if isinstance(raw, bytes):
            raw = raw.decode("utf-8", errors="replace")
        elif not isinstance(raw, str):
            raw = json.dumps(raw, ensure_ascii=False, default=str)
        self.rows.append(Reject(str(path), line, reason, raw.rstrip("\r\n")))

    @property
    def count(self) -> int:
        return len(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def reasons(self) -> dict[str, int]:
        """{reason kind: count}; the kind is the reason up to its first ':' or '('."""
        kinds = Counter(r.reason.split(":")[0].split("(")[0].strip() for r in self.rows)
        return dict(kinds.most_common())

    def write(self, path: str | os.PathLike, outputs: OutputSet | None = None) -> Path:
        """Write the rejects as JSONL ``{file, line, reason, raw}``, all or nothing (mrs.atomic); outputs:
        stage the file in this OutputSet (committed with the command's other outputs) instead. Returns the path."""
        path = Path(path)
        with output_set() if outputs is None else nullcontext(outputs) as staged, staged.open(path) as out:
            for r in self.rows:
                out.write(json.dumps({"file": r.file, "line": r.line, "reason": r.reason, "raw": r.raw},
                                     ensure_ascii=False) + "\n")
        return path


def rejects_path_for(output_path: str | os.PathLike) -> Path:
    """Where the rejects of an output go: ``<output>.rejects.jsonl`` beside it (for a directory: inside it)."""
    p = Path(output_path)
    if p.is_dir():
        return p / "rejects.jsonl"
    return p.with_name(p.name + ".rejects.jsonl")


class RowErrors:
    """The on_error policy of one read: ``fail`` raises InputError, ``skip`` records into ``rejects``.

    Readers call ``row_errors.bad(path, line, reason, raw)`` for each bad row.
    """

    def __init__(self, on_error: str = "fail", rejects: Rejects | None = None):
        if on_error not in ON_ERROR_CHOICES:
            raise ValueError(f"on_error must be one of {ON_ERROR_CHOICES}, not {on_error!r}")
        if on_error == "skip" and rejects is None:
            raise ValueError("on_error='skip' needs a Rejects object to collect the rejected rows")
        self.on_error = on_error
        self.rejects = rejects
        self.skipped = 0

    def bad(self, path: str | os.PathLike, line: int | None, reason: str, raw: object) -> None:
        if self.on_error == "fail":
            raise InputError(reason, str(path), line)
        assert self.rejects is not None
        self.rejects.add(path, line, reason, raw)
        self.skipped += 1
