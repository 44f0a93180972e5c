"""What the OpenSearch and Elasticsearch backends do alike: every request through one retrying ``call``, filters
checked against the index's attributes, the lexical query, the stored product fields of hits, count / refresh /
delete, and bulk writes through the shared writer (mrs.cluster.bulk).

``ClusterBackend.call`` retries 429, 5xx and connection errors (no HTTP answer) with the exponential backoff and
jitter of mrs.cluster.bulk.backoff_s (0.5 s doubling to at most 10 s), then raises ClusterError with one redacted
line. A subclass names its client's error types (``transport_errors``), reads an error's HTTP status
(``status_of``) and describes it (``describe``); it builds the k-NN, hybrid and facet requests itself.
"""

from __future__ import annotations

import random
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar

from mrs.cluster.bodies import filtered, lexical_query
from mrs.cluster.bulk import BulkConfig, BulkWriter, backoff_s, is_retryable
from mrs.cluster.connection import ClusterError
from mrs.cluster.documents import document_source
from mrs.engine.filters import cluster_filter
from mrs.errors import InputError
from mrs.indexer.backend import Document, Hit

RADIAL_HYBRID = ("--min-score / --min-level in hybrid mode (radial k-NN sub-query) needs --backend embedded; on a "
                 "cluster use --mode dense")


class ClusterBackend(ABC):
    """A cluster index (or alias) seen through the backend protocol; the parts both clusters share.

    client: the cluster client. index: index or alias name. spec: the index spec (text fields and boosts, vector
    field, attributes). tie_breaker: multi_match weight of the non-best fields. max_retries: retries of one
    request. settings: the connection settings (for redacting errors). sleep / rand: injectable for tests.
    hybrid_raw_scores: hybrid hits also carry their raw score in each sub-query.
    """

    bulk_writer: ClassVar[type[BulkWriter]]

    def __init__(self, client: Any, index: str, spec: Any, *, tie_breaker: float = 0.0, max_retries: int = 3,
                 settings: Any = None, sleep: Callable[[float], None] = time.sleep,
                 rand: Callable[[], float] | None = None, hybrid_raw_scores: bool = True) -> None:
        self.client = client
        self.index = index
        self.spec = spec
        self.tie_breaker = float(tie_breaker)
        self.retry = BulkConfig(max_retries=max_retries, initial_backoff_s=0.5, max_backoff_s=10.0)
        self.settings = settings
        self.sleep = sleep
        self.rand = rand or random.Random().random
        self.hybrid_raw_scores = hybrid_raw_scores

    # ------------------------------------------------------------------ what a client differs in
    @abstractmethod
    def transport_errors(self) -> tuple[type[BaseException], ...]:
        """The client's exception types a failed request raises."""

    @abstractmethod
    def status_of(self, err: BaseException) -> Any:
        """The HTTP status of a client error; "N/A" when no response came back."""

    @abstractmethod
    def describe(self, err: BaseException) -> str:
        """One redacted line for a client error."""

    # ------------------------------------------------------------------ the one place requests go through
    def call(self, fn: Callable[..., Any], **kwargs: Any) -> Any:
        """Run one client call; retry 429/5xx/connection errors with backoff; raise ClusterError (redacted)."""
        errors = self.transport_errors()
        for attempt in range(self.retry.max_retries + 1):
            try:
                return fn(**kwargs)
            except errors as e:
                if attempt < self.retry.max_retries and is_retryable(self.status_of(e)):
                    self.sleep(backoff_s(attempt, self.retry, self.rand()))
                    continue
                raise ClusterError(self.describe(e)) from None
        raise AssertionError("unreachable")

    def _search(self, body: dict[str, Any], **request: Any) -> list[dict[str, Any]]:
        resp = self.call(self.client.search, index=self.index, body=body, **request)
        return resp["hits"]["hits"]

    # ------------------------------------------------------------------ shared query parts
    def filter_dsl(self, filter: Any) -> dict[str, Any] | None:
        """A filter (query DSL / --where node) checked against the index's attributes, as the cluster runs it."""
        return cluster_filter(filter, self.spec.attributes)

    def lexical_query(self, text: str, filter_dsl: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """multi_match best_fields over the spec's BM25 fields, within ``filter_dsl`` (non-scoring)."""
        return filtered(lexical_query(text, self.spec.text_fields, self.tie_breaker), filter_dsl)

    @staticmethod
    def check_no_radial(knn_min_score: float | None) -> None:
        """InputError when a hybrid search asks for a radial k-NN sub-query (the embedded engine's alone)."""
        if knn_min_score is not None:
            raise InputError(RADIAL_HYBRID)

    def attach_sources(self, hits: list[Hit]) -> None:
        """Fill Hit.source with the stored product fields (``_source.product``) of ``hits``, one ids query."""
        if not hits:
            return
        ids = [h.id for h in hits]
        body = {"size": len(ids), "query": {"ids": {"values": ids}}, "_source": ["product"]}
        found = {h["_id"]: (h.get("_source") or {}).get("product") or {} for h in self._search(body)}
        for h in hits:
            h.source = found.get(h.id)

    def count(self) -> int:
        return int(self.call(self.client.count, index=self.index)["count"])

    # ------------------------------------------------------------------ WritableBackend
    def write(self, docs: Iterable[Document], bm25: Callable[[Document], Mapping[str, str]] | None = None,
              config: BulkConfig | None = None, dead_letter: str | None = None) -> dict[str, int]:
        """Bulk-write documents (vectors set) with the backend's writer; bm25(doc) → field texts (default: the
        stored fields as text). ClusterError when any document failed."""
        from mrs.data.text import field_text

        def texts(doc: Document) -> Mapping[str, str]:
            return bm25(doc) if bm25 is not None else {f: field_text(doc.fields.get(f)) for f in self.spec.text_fields}

        writer = self.bulk_writer(self.client, self.index, config=config, dead_letter=dead_letter, sleep=self.sleep)
        report = writer.write((d.id, document_source(d, self.spec, texts(d))) for d in docs)
        if report.failed:
            raise ClusterError(f"{report.failed} documents failed to index: {report.failure_reasons}")
        return {"indexed": report.indexed, "failed": report.failed, "chunks": report.chunks}

    def delete(self) -> None:
        self.call(self.client.indices.delete, index=self.index)

    def refresh(self) -> None:
        self.call(self.client.indices.refresh, index=self.index)



def query_encoder(identity: Mapping[str, Any], dimension: int, space_type: str, model: str | None, index: str,
                  allow_model_mismatch: bool = False) -> Any:
    """The query encoder of a cluster index: ``model``, else the model its mapping's ``_meta.mrs_model`` names
    (the packaged default by name, others by path). identity: that ``_meta.mrs_model``. InputError when the
    encoder's dimension ≠ the index's ``dimension`` or it is another model than the identity names, unless
    allow_model_mismatch (mrs.indexer.embed.check_query_model)."""
    from mrs.indexer.embed import Encoder, check_query_model
    from mrs.models import DEFAULT_MODEL

    ref = model
    if ref is None and identity.get("name") != DEFAULT_MODEL:
        ref = identity.get("path")
    encoder = Encoder.load(ref, space_type=space_type)
    check_query_model(encoder, dict(identity), int(dimension), index, allow_model_mismatch=allow_model_mismatch)
    return encoder
