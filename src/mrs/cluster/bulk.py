"""Resilient bulk writing, the same for OpenSearch and Elasticsearch: chunks by count and bytes, retries with
exponential backoff and jitter, a dead-letter JSONL of per-item failures, a checkpoint for ``--resume``
(mrs.cluster.checkpoint), and a final document-count check.

How one chunk is written (``BulkWriter.write_chunk``):
1. The backend's writer sends the chunk with its client's ``helpers.streaming_bulk`` (``raise_on_error=False``,
   ``raise_on_exception=False``), so every item comes back with its own status — also when the whole request
   failed (a 429/5xx response or a connection error marks every item of the chunk with that status). That send
   step and the serializer are all a backend writes (mrs.opensearch.bulk, mrs.elasticsearch.bulk).
2. Items with a retryable status (429, any 5xx, or a connection error) are sent again after
   ``backoff_s(attempt)`` = min(max_backoff_s, initial_backoff_s × 2^attempt), scaled by a jitter factor drawn
   in [1 − jitter, 1]; other failures (e.g. 400 mapper_parsing_exception) go straight to the dead letter.
3. After ``max_retries`` retries the items still failing go to the dead letter with the last reason.
4. The ids indexed in the chunk are appended to the checkpoint (fsync'ed) before the next chunk starts.

Dead letter (``<name>.dead-letter.jsonl``): one JSON object per failed item:
``{"id", "index", "chunk", "status", "error_type", "reason", "attempts"}``.

With resume the writer re-opens the checkpoint, skips every id already written and continues into the same
physical index (blue/green: the same ``NAME-<timestamp>``, mrs.cluster.aliases).

Documentation relied on: opensearch-py and elasticsearch-py bulk helpers (streaming_bulk arguments chunk_size,
max_chunk_bytes, raise_on_error, raise_on_exception, max_retries, yield_ok); the bulk API of both clusters
(per-item ``status`` and ``error``).
"""

from __future__ import annotations

import json
import os
import random
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mrs.cluster.checkpoint import Checkpoint
from mrs.errors import InputError

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


class BulkVerificationError(RuntimeError):
    """The index holds a different number of documents than were written."""


@dataclass
class BulkConfig:
    """chunk_docs: max documents per bulk request. chunk_bytes: max request body bytes (a single larger
    document goes alone). max_retries: retries of the failing items of one chunk. initial_backoff_s /
    max_backoff_s: exponential backoff bounds in seconds. jitter: fraction of the delay drawn at random
    (0 = none, 0.5 = sleep in [0.5, 1] × delay)."""

    chunk_docs: int = 500
    chunk_bytes: int = 10 * 1024 * 1024
    max_retries: int = 5
    initial_backoff_s: float = 1.0
    max_backoff_s: float = 60.0
    jitter: float = 0.5

    def __post_init__(self) -> None:
        if self.chunk_docs < 1 or self.chunk_bytes < 1:
            raise InputError("bulk chunks need chunk_docs ≥ 1 and chunk_bytes ≥ 1")
        if self.max_retries < 0 or self.initial_backoff_s < 0 or self.max_backoff_s < 0:
            raise InputError("bulk retries and backoff must be ≥ 0")
        if not 0.0 <= self.jitter <= 1.0:
            raise InputError(f"jitter must be in [0, 1] (got {self.jitter})")


def backoff_s(attempt: int, config: BulkConfig, rand: float) -> float:
    """Seconds to sleep before retry number ``attempt`` (0-based), given a uniform draw ``rand`` in [0, 1).

    delay = min(max_backoff_s, initial_backoff_s × 2^attempt); sleep = delay × (1 − jitter + jitter × rand).
    """
    delay = min(config.max_backoff_s, config.initial_backoff_s * (2 ** attempt))
    return delay * (1.0 - config.jitter + config.jitter * rand)


def is_retryable(status: Any) -> bool:
    """429 and 5xx are retried; a connection error (status "N/A": no HTTP answer) too."""
    if isinstance(status, int):
        return status in RETRYABLE_STATUS or 500 <= status < 600
    return True  # "N/A": the request never got an HTTP answer


@dataclass
class BulkReport:
    """Counts of one write. indexed: items acknowledged in this run. skipped: ids already written (resume).
    failed: items sent to the dead letter. retries: retry rounds slept. chunks: bulk chunks written."""

    index: str
    indexed: int = 0
    skipped: int = 0
    failed: int = 0
    retries: int = 0
    chunks: int = 0
    total_written: int = 0
    dead_letter: str | None = None
    checkpoint: str | None = None
    slept_s: float = 0.0
    failure_reasons: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def chunk_actions(
    actions: Iterable[dict[str, Any]], chunk_docs: int, chunk_bytes: int, dumps: Callable[[Any], str]
) -> Iterator[list[dict[str, Any]]]:
    """Group bulk actions into chunks of ≤ chunk_docs items and ≤ chunk_bytes serialized bytes (action line +
    source line + 2 newlines each, as the bulk body counts them); an item larger than chunk_bytes alone."""
    chunk: list[dict[str, Any]] = []
    size = 0
    for action in actions:
        meta = {"index": {"_index": action["_index"], "_id": action["_id"]}}
        item_bytes = len(dumps(meta).encode("utf-8")) + len(dumps(action["_source"]).encode("utf-8")) + 2
        if chunk and (len(chunk) >= chunk_docs or size + item_bytes > chunk_bytes):
            yield chunk
            chunk, size = [], 0
        chunk.append(action)
        size += item_bytes
    if chunk:
        yield chunk


def _failure(info: dict[str, Any]) -> tuple[Any, str, str]:
    """(status, error_type, reason) of one failed streaming_bulk item."""
    detail = next(iter(info.values()))
    status = detail.get("status", "N/A")
    err = detail.get("error")
    if isinstance(err, dict):
        etype = str(err.get("type", "error"))
        reason = str(err.get("reason", ""))
        caused = err.get("caused_by")
        if isinstance(caused, dict) and caused.get("reason"):
            reason = f"{reason} (caused by {caused.get('type')}: {caused['reason']})"
    else:
        exc = detail.get("exception")
        etype = type(exc).__name__ if exc is not None else "error"
        reason = str(err) if err is not None else ""
    return status, etype, reason.splitlines()[0] if reason else etype


class BulkWriter(ABC):
    """Writes documents into one index with retries, dead letter and checkpoint (see module doc); a backend's
    subclass supplies ``_send`` (one bulk request through its client) and ``dumps`` (its serializer).

    client: the backend's client. index: the physical index name. dead_letter / checkpoint: file
    paths (checkpoint None → no resume support). sleep / rand: injectable for tests (deterministic
    backoff). on_chunk(n_items): progress callback after each chunk. pipeline: the ingest pipeline every item
    goes through (named in each bulk action's metadata), None for none.
    """

    def __init__(
        self,
        client: Any,
        index: str,
        *,
        config: BulkConfig | None = None,
        dead_letter: str | os.PathLike | None = None,
        checkpoint: Checkpoint | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rand: Callable[[], float] | None = None,
        on_chunk: Callable[[int], None] | None = None,
        pipeline: str | None = None,
    ) -> None:
        self.client = client
        self.pipeline = pipeline
        self.index = index
        self.config = config or BulkConfig()
        self.dead_letter = Path(dead_letter) if dead_letter else None
        self.checkpoint = checkpoint
        self.sleep = sleep
        self.rand = rand or random.Random().random
        self.on_chunk = on_chunk

    @abstractmethod
    def dumps(self, obj: Any) -> str:
        """Serialize as the client's bulk body does (the chunk byte sizes are counted with it)."""

    @abstractmethod
    def _send(self, items: list[dict[str, Any]]) -> list[tuple[bool, dict[str, Any]]]:
        """One bulk request for ``items``: one (ok, info) per item, failures included (never raises for a
        failed request); info is the item's bulk response ``{op: {"status", "error", ...}}``."""

    def _dead(self, report: BulkReport, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        report.failed += len(rows)
        for r in rows:
            key = f"{r['status']} {r['error_type']}"
            report.failure_reasons[key] = report.failure_reasons.get(key, 0) + 1
        if self.dead_letter is None:
            return
        self.dead_letter.parent.mkdir(parents=True, exist_ok=True)
        with self.dead_letter.open("a", encoding="utf-8") as fh:
            for r in rows:
                fh.write(json.dumps(r, ensure_ascii=False, default=str) + "\n")

    def write_chunk(self, chunk_no: int, items: list[dict[str, Any]], report: BulkReport) -> list[str]:
        """Send one chunk with retries; returns the ids indexed. Failures go to the dead letter."""
        pending = items
        written: list[str] = []
        last: dict[str, tuple[Any, str, str]] = {}
        for attempt in range(self.config.max_retries + 1):
            if attempt:
                pause = backoff_s(attempt - 1, self.config, self.rand())
                report.retries += 1
                report.slept_s += pause
                self.sleep(pause)
            results = self._send(pending)
            retry: list[dict[str, Any]] = []
            dead: list[dict[str, Any]] = []
            for item, (ok, info) in zip(pending, results, strict=True):
                if ok:
                    written.append(str(item["_id"]))
                    continue
                status, etype, reason = _failure(info)
                last[str(item["_id"])] = (status, etype, reason)
                if is_retryable(status):
                    retry.append(item)
                else:
                    dead.append({"id": str(item["_id"]), "index": self.index, "chunk": chunk_no, "status": status,
                                 "error_type": etype, "reason": reason, "attempts": attempt + 1})
            self._dead(report, dead)
            pending = retry
            if not pending:
                break
        self._dead(report, [
            {"id": str(i["_id"]), "index": self.index, "chunk": chunk_no, "status": last[str(i["_id"])][0],
             "error_type": last[str(i["_id"])][1],
             "reason": f"gave up after {self.config.max_retries + 1} attempts: {last[str(i['_id'])][2]}",
             "attempts": self.config.max_retries + 1}
            for i in pending
        ])
        return written

    def write(self, docs: Iterable[tuple[str, dict[str, Any]]]) -> BulkReport:
        """Write (id, source) pairs. Ids already in the checkpoint are skipped and counted."""
        report = BulkReport(index=self.index,
                            dead_letter=str(self.dead_letter) if self.dead_letter else None,
                            checkpoint=str(self.checkpoint.path) if self.checkpoint else None)
        done = self.checkpoint.written if self.checkpoint else set()

        def actions() -> Iterator[dict[str, Any]]:
            for doc_id, source in docs:
                if str(doc_id) in done:
                    report.skipped += 1
                    continue
                action = {"_op_type": "index", "_index": self.index, "_id": str(doc_id), "_source": source}
                if self.pipeline:
                    action["pipeline"] = self.pipeline
                yield action

        dumps = self.dumps
        chunk_no = self.checkpoint.chunks if self.checkpoint else 0
        for items in chunk_actions(actions(), self.config.chunk_docs, self.config.chunk_bytes, dumps):
            written = self.write_chunk(chunk_no, items, report)
            if self.checkpoint is not None:
                self.checkpoint.add_chunk(chunk_no, written)
            report.indexed += len(written)
            report.chunks += 1
            chunk_no += 1
            if self.on_chunk is not None:
                self.on_chunk(len(items))
        report.total_written = len(self.checkpoint.written) if self.checkpoint else report.indexed
        return report


def verify_count(client: Any, index: str, expected: int) -> int:
    """Refresh ``index`` and check it holds ``expected`` documents; returns the count.

    BulkVerificationError when it differs (a lost write, or ids that were not unique).
    """
    client.indices.refresh(index=index)
    count = int(client.count(index=index)["count"])
    if count != expected:
        raise BulkVerificationError(
            f"index {index} holds {count} documents, expected {expected}: some writes were lost "
            "(rerun with --resume) or document ids repeat"
        )
    return count
