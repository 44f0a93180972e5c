"""Bulk writing: chunking, retries with backoff + jitter, dead letter, resume, count verification — failures
injected at opensearch-py's connection layer (fake_cluster.FakeConnection), sleeps recorded, not slept."""

from __future__ import annotations

import json

import pytest

from mrs.cluster.bulk import (
    BulkConfig,
    BulkVerificationError,
    backoff_s,
    chunk_actions,
    verify_count,
)
from mrs.cluster.checkpoint import Checkpoint
from mrs.errors import InputError
from mrs.opensearch.bulk import OpenSearchBulkWriter as BulkWriter


def docs(n, start=0):
    return [(f"d{i}", {"title": f"product {i}"}) for i in range(start, start + n)]


def bulk_calls(cluster):
    return [r for r in cluster.requests if r[1] == "/_bulk"]


def test_backoff_is_exponential_capped_and_jittered():
    cfg = BulkConfig(initial_backoff_s=1.0, max_backoff_s=5.0, jitter=0.5)
    # delay = min(5, 1·2^attempt); sleep = delay·(1 − 0.5 + 0.5·rand)
    assert backoff_s(0, cfg, 0.0) == 0.5      # 1 · 0.5
    assert backoff_s(1, cfg, 1.0) == 2.0      # 2 · 1.0
    assert backoff_s(2, cfg, 0.5) == 3.0      # 4 · 0.75
    assert backoff_s(5, cfg, 0.0) == 2.5      # min(5, 32) · 0.5
    assert backoff_s(3, BulkConfig(jitter=0.0, initial_backoff_s=0.1), 0.9) == pytest.approx(0.8)


def test_chunks_by_count_and_by_bytes():
    dumps = json.dumps
    actions = [{"_index": "i", "_id": str(i), "_source": {"t": "x" * 50}} for i in range(7)]
    assert [len(c) for c in chunk_actions(actions, 3, 10**9, dumps)] == [3, 3, 1]
    one = len(dumps({"index": {"_index": "i", "_id": "0"}})) + len(dumps({"t": "x" * 50})) + 2
    # room for exactly two items per chunk by bytes
    assert [len(c) for c in chunk_actions(actions, 100, 2 * one + 1, dumps)] == [2, 2, 2, 1]
    # an item larger than the byte limit travels alone
    assert [len(c) for c in chunk_actions(actions[:2], 100, 10, dumps)] == [1, 1]


def test_request_level_429_and_connection_error_are_retried_with_backoff(cluster, sleeps, tmp_path):
    cluster.fault("POST", "/_bulk", [429, "conn"])  # first two bulk requests fail, the third passes
    writer = BulkWriter(cluster.client(), "idx", config=BulkConfig(chunk_docs=10, max_retries=3, jitter=0.5),
                        sleep=sleeps, rand=lambda: 0.5, dead_letter=tmp_path / "dl.jsonl")
    report = writer.write(docs(4))
    assert report.indexed == 4 and report.failed == 0 and report.retries == 2
    assert sleeps.calls == [0.75, 1.5]  # 1·(0.5+0.25), 2·(0.5+0.25)
    assert len(bulk_calls(cluster)) == 3
    assert sorted(cluster.indices["idx"]["docs"]) == ["d0", "d1", "d2", "d3"]
    assert not (tmp_path / "dl.jsonl").exists()


def test_item_failures_retry_only_the_failed_items_and_dead_letter_the_permanent_ones(cluster, sleeps, tmp_path):
    cluster.item_faults["d1"] = [(429, {"type": "es_rejected_execution_exception", "reason": "queue full"}), None]
    cluster.item_faults["d2"] = [(400, {"type": "mapper_parsing_exception", "reason": "failed to parse [price]",
                                        "caused_by": {"type": "number_format_exception", "reason": "abc"}})]
    dl = tmp_path / "dl.jsonl"
    writer = BulkWriter(cluster.client(), "idx", config=BulkConfig(max_retries=2, jitter=0.0, initial_backoff_s=2),
                        sleep=sleeps, dead_letter=dl)
    report = writer.write(docs(4))
    assert (report.indexed, report.failed, report.retries) == (3, 1, 1)
    assert sleeps.calls == [2.0]
    # the retry request carried only the 429'd item
    retry_body = bulk_calls(cluster)[1][3]
    assert '"_id":"d1"' in retry_body.replace(" ", "") and "d0" not in retry_body
    rows = [json.loads(line) for line in dl.read_text().splitlines()]
    assert rows == [{"id": "d2", "index": "idx", "chunk": 0, "status": 400, "error_type": "mapper_parsing_exception",
                     "reason": "failed to parse [price] (caused by number_format_exception: abc)", "attempts": 1}]
    assert report.failure_reasons == {"400 mapper_parsing_exception": 1}


def test_gives_up_after_max_retries_with_the_last_reason(cluster, sleeps, tmp_path):
    cluster.item_faults["d0"] = [(503, {"type": "unavailable", "reason": "shard not ready"})] * 10
    dl = tmp_path / "dl.jsonl"
    writer = BulkWriter(cluster.client(), "idx", config=BulkConfig(max_retries=3, jitter=0.0, initial_backoff_s=1),
                        sleep=sleeps, dead_letter=dl)
    report = writer.write(docs(2))
    assert sleeps.calls == [1.0, 2.0, 4.0]
    assert (report.indexed, report.failed) == (1, 1)
    row = json.loads(dl.read_text())
    assert row["attempts"] == 4 and row["status"] == 503
    assert row["reason"] == "gave up after 4 attempts: shard not ready"


def test_resume_after_an_interruption_skips_written_ids_and_finishes(cluster, sleeps, tmp_path):
    client = cluster.client()
    cp_path = tmp_path / "x.checkpoint.jsonl"
    cp = Checkpoint(cp_path)
    cp.start("idx-1", "idx")

    def interrupted():
        yield from docs(5)
        raise KeyboardInterrupt  # the process dies after two full chunks of 2 (+1 item pending)

    writer = BulkWriter(client, "idx-1", config=BulkConfig(chunk_docs=2), checkpoint=cp, sleep=sleeps)
    with pytest.raises(KeyboardInterrupt):
        writer.write(interrupted())
    assert sorted(cluster.indices["idx-1"]["docs"]) == ["d0", "d1", "d2", "d3"]

    resumed = Checkpoint.load(cp_path)
    assert resumed.index == "idx-1" and resumed.written == {"d0", "d1", "d2", "d3"} and not resumed.done
    n_before = len(bulk_calls(cluster))
    report = BulkWriter(client, "idx-1", config=BulkConfig(chunk_docs=2), checkpoint=resumed, sleep=sleeps).write(docs(7))
    assert report.skipped == 4 and report.indexed == 3 and report.total_written == 7
    sent = "".join(r[3] for r in bulk_calls(cluster)[n_before:])
    assert "d0" not in sent and "d4" in sent and "d6" in sent
    assert verify_count(client, "idx-1", report.total_written) == 7
    resumed.finish(7)
    assert Checkpoint.load(cp_path).done


def test_torn_checkpoint_line_is_ignored(tmp_path):
    p = tmp_path / "c.jsonl"
    p.write_text('{"kind": "header", "index": "a-1", "alias": "a"}\n{"kind": "chunk", "chunk": 0, "ids": ["x"]}\n{"kind": "chu')
    cp = Checkpoint.load(p)
    assert cp.written == {"x"} and cp.chunks == 1


def test_count_verification_fails_loudly(cluster):
    client = cluster.client()
    BulkWriter(client, "idx").write(docs(3))
    assert verify_count(client, "idx", 3) == 3
    with pytest.raises(BulkVerificationError, match="holds 3 documents, expected 4"):
        verify_count(client, "idx", 4)


def test_bad_config_is_an_input_error():
    with pytest.raises(InputError):
        BulkConfig(chunk_docs=0)
    with pytest.raises(InputError):
        BulkConfig(jitter=1.5)
