"""Bulk writing and blue/green indexing on Elasticsearch, with failures injected at elastic_transport's node layer:
whole-request 429/5xx and connection errors, per-item rejections; exact backoff sleeps; dead letter; resume;
the alias moved atomically only when every document is in."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

import numpy as np
import pytest

from mrs.cluster.bulk import BulkConfig
from mrs.cluster.checkpoint import Checkpoint
from mrs.data.catalog import Product
from mrs.elasticsearch.bulk import ElasticsearchBulkWriter
from mrs.elasticsearch.indexing import index_catalog_elasticsearch
from mrs.elasticsearch.mapping import ElasticIndexSpec
from mrs.errors import InputError

CONFIG = BulkConfig(chunk_docs=2, max_retries=2, initial_backoff_s=1.0, max_backoff_s=60.0, jitter=0.0)


def docs(n=4):
    return [(f"d{i}", {"title": f"doc {i}"}) for i in range(n)]


def writer(es, tmp_path, sleeps, **kw):
    es.indices["idx"] = {"body": {}, "docs": {}}
    return ElasticsearchBulkWriter(es.client(), "idx", config=kw.pop("config", CONFIG),
                                   dead_letter=tmp_path / "dead.jsonl", sleep=sleeps, rand=lambda: 0.0, **kw)


def test_whole_request_429_then_connection_error_are_retried_with_backoff(es, tmp_path, sleeps):
    es.fault("PUT", "/_bulk", [429, "conn"])
    report = writer(es, tmp_path, sleeps).write(docs())
    # chunk 0: 429 → sleep 1·2⁰ = 1; connection error → sleep 1·2¹ = 2; then written. chunk 1: first try.
    assert sleeps.calls == [1.0, 2.0]
    assert (report.indexed, report.failed, report.retries, report.chunks) == (4, 0, 2, 2)
    assert sorted(es.indices["idx"]["docs"]) == ["d0", "d1", "d2", "d3"]


def test_item_rejection_goes_to_dead_letter_without_retry(es, tmp_path, sleeps):
    es.item_faults["d1"] = [(400, {"type": "mapper_parsing_exception", "reason": "failed to parse [embedding]",
                                   "caused_by": {"type": "illegal_argument_exception", "reason": "dims 2 ≠ 3"}})]
    report = writer(es, tmp_path, sleeps).write(docs())
    assert sleeps.calls == [] and report.failed == 1 and report.indexed == 3
    dead = [json.loads(line) for line in (tmp_path / "dead.jsonl").read_text().splitlines()]
    assert dead == [{"id": "d1", "index": "idx", "chunk": 0, "status": 400, "error_type": "mapper_parsing_exception",
                     "reason": "failed to parse [embedding] (caused by illegal_argument_exception: dims 2 ≠ 3)",
                     "attempts": 1}]
    assert report.failure_reasons == {"400 mapper_parsing_exception": 1}


def test_persistent_item_503_gives_up_after_max_retries(es, tmp_path, sleeps):
    es.item_faults["d2"] = [(503, {"type": "unavailable_shards_exception", "reason": "primary not active"})] * 5
    report = writer(es, tmp_path, sleeps).write(docs())
    # 3 attempts (max_retries 2): sleeps 1, 2 before attempts 2 and 3
    assert sleeps.calls == [1.0, 2.0]
    assert (report.indexed, report.failed, report.retries) == (3, 1, 2)
    dead = json.loads((tmp_path / "dead.jsonl").read_text())
    assert dead["id"] == "d2" and dead["attempts"] == 3 and dead["reason"].startswith("gave up after 3 attempts")


def test_resume_skips_checkpointed_ids(es, tmp_path, sleeps):
    cp = Checkpoint(tmp_path / "cp.jsonl")
    cp.start("idx", "alias")
    cp.add_chunk(0, ["d0", "d1"])
    report = writer(es, tmp_path, sleeps, checkpoint=Checkpoint.load(tmp_path / "cp.jsonl")).write(docs())
    assert report.skipped == 2 and report.indexed == 2
    assert sorted(es.indices["idx"]["docs"]) == ["d2", "d3"]
    assert report.total_written == 4


class FakeEncoder:
    backend = "torch"
    normalize = True
    space_type = "cosinesimil"
    dimension = 3
    identity = {"name": "fake", "sha256": "f" * 64, "path": "/models/fake"}

    def encode(self, texts):
        out = []
        for t in texts:
            h = hashlib.sha256(t.encode()).digest()
            v = np.array([h[0] + 1, h[1] + 1, h[2] + 1], dtype=np.float32)
            out.append(v / np.linalg.norm(v))
        return np.stack(out)


def products(n=5):
    return [Product(id=f"p{i}", fields={"title": f"Cotton shirt {i}", "brand": "Acme" if i % 2 else None},
                    source_line=i + 1) for i in range(n)]


def test_index_catalog_blue_green(es, sleeps, tmp_path):
    client = es.client()
    spec = ElasticIndexSpec(dimension=3, text_fields={"title": 3.0, "brand": 2.0}, index_type="int8_hnsw")
    t1, t2, t3 = (datetime(2026, 1, d, tzinfo=UTC) for d in (1, 2, 3))
    r1 = index_catalog_elasticsearch(products(), client=client, alias="shop", encoder=FakeEncoder(), spec=spec,
                                     work_dir=tmp_path, sleep=sleeps, now=t1)
    assert (r1.status, r1.index, r1.indexed, r1.count) == ("swapped", "shop-20260101000000", 5, 5)
    body = es.indices["shop-20260101000000"]["body"]
    assert body["mappings"]["properties"]["embedding"]["index_options"]["type"] == "int8_hnsw"
    assert body["mappings"]["_meta"]["mrs_model"]["name"] == "fake"
    doc = es.indices[r1.index]["docs"]["p1"]
    assert doc["title"] == "Cotton shirt 1" and doc["brand"] == "Acme" and len(doc["embedding"]) == 3
    assert "brand" not in es.indices[r1.index]["docs"]["p0"]  # empty field left out (field statistics)
    r2 = index_catalog_elasticsearch(products(), client=client, alias="shop", encoder=FakeEncoder(), spec=spec,
                                     work_dir=tmp_path, sleep=sleeps, now=t2)
    assert r2.embedded == 0 and r2.cached == 5  # content-hash cache shared with the OpenSearch writer
    assert es.alias_actions[-1] == {"actions": [{"remove": {"index": "shop-20260101000000", "alias": "shop"}},
                                                {"add": {"index": "shop-20260102000000", "alias": "shop",
                                                         "is_write_index": True}}]}
    index_catalog_elasticsearch(products(), client=client, alias="shop", encoder=FakeEncoder(), spec=spec,
                                work_dir=tmp_path, sleep=sleeps, now=t3, keep=1)
    assert sorted(es.indices) == ["shop-20260102000000", "shop-20260103000000"]  # oldest pruned, one kept
    assert es.aliases["shop"] == {"shop-20260103000000"}


def test_dead_letter_blocks_the_swap_and_resume_finishes(es, sleeps, tmp_path):
    client = es.client()
    es.item_faults["p3"] = [(400, {"type": "mapper_parsing_exception", "reason": "bad"})]
    r = index_catalog_elasticsearch(products(), client=client, alias="shop", encoder=FakeEncoder(), work_dir=tmp_path,
                                    sleep=sleeps, now=datetime(2026, 2, 1, tzinfo=UTC))
    assert r.status == "incomplete" and r.failed == 1 and "shop" not in es.aliases
    r2 = index_catalog_elasticsearch(products(), client=client, alias="shop", encoder=FakeEncoder(), work_dir=tmp_path,
                                     sleep=sleeps, resume=True)
    assert (r2.status, r2.index, r2.indexed, r2.skipped) == ("swapped", r.index, 1, 4)
    assert es.aliases["shop"] == {r.index}
    r3 = index_catalog_elasticsearch(products(), client=client, alias="shop", encoder=FakeEncoder(), work_dir=tmp_path,
                                     resume=True)
    assert r3.status == "up-to-date"


def test_duplicate_ids_and_bad_alias(es, tmp_path):
    with pytest.raises(InputError, match="appears twice"):
        index_catalog_elasticsearch(products(2) + products(1), client=es.client(), alias="shop2",
                                    encoder=FakeEncoder(), work_dir=tmp_path)
    with pytest.raises(InputError, match="not valid"):
        index_catalog_elasticsearch(products(1), client=es.client(), alias="Bad Name", encoder=FakeEncoder(),
                                    work_dir=tmp_path)
