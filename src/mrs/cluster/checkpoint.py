"""The resume file of a bulk load (``<alias>.checkpoint.jsonl``): which physical index a run writes and which ids
are already in it, so an interrupted load continues into the same generation and skips what is written.

Format, one JSON object per line: a header ``{"kind": "header", "index", "alias", "created"}``, then
``{"kind": "chunk", "chunk", "ids": [...]}`` per written chunk, then ``{"kind": "done", "indexed"}``. Every line is
fsync'ed before the next chunk starts; a torn last line (a crash mid-write) is ignored on load.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mrs.errors import InputError


class Checkpoint:
    """The resume file: which physical index, and which ids are already written (see module doc).

    path: the checkpoint file. index / alias: from the header (None before start or load). done: the run
    finished. written: ids already indexed. chunks: the next chunk number."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.index: str | None = None
        self.alias: str | None = None
        self.done = False
        self.written: set[str] = set()
        self.chunks = 0

    @classmethod
    def load(cls, path: str | os.PathLike) -> Checkpoint:
        """Read an existing checkpoint; a torn last line (crash mid-write) is ignored."""
        cp = cls(path)
        if not cp.path.exists():
            return cp
        with cp.path.open(encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    if n == 1:
                        raise InputError("checkpoint header is unreadable", path=str(cp.path), line=1) from None
                    break
                kind = rec.get("kind")
                if kind == "header":
                    cp.index, cp.alias = rec.get("index"), rec.get("alias")
                elif kind == "chunk":
                    cp.written.update(str(i) for i in rec.get("ids", []))
                    cp.chunks = max(cp.chunks, int(rec.get("chunk", 0)) + 1)
                elif kind == "done":
                    cp.done = True
        return cp

    def start(self, index: str, alias: str | None) -> None:
        """Begin a fresh checkpoint for ``index`` (truncates an old one)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.index, self.alias, self.done, self.written, self.chunks = index, alias, False, set(), 0
        created = datetime.now(UTC).isoformat(timespec="seconds")
        with self.path.open("w", encoding="utf-8") as fh:
            fh.write(json.dumps({"kind": "header", "index": index, "alias": alias, "created": created}) + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def _append(self, rec: dict[str, Any]) -> None:
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def add_chunk(self, chunk: int, ids: list[str]) -> None:
        self._append({"kind": "chunk", "chunk": chunk, "ids": ids})
        self.written.update(ids)
        self.chunks = max(self.chunks, chunk + 1)

    def finish(self, indexed: int) -> None:
        self._append({"kind": "done", "indexed": indexed})
        self.done = True
