"""Bulk writing to Elasticsearch: mrs.cluster.bulk.BulkWriter (the retry / backoff / dead-letter / checkpoint logic
both clusters share) over elasticsearch-py — this module holds only the client-specific step, sending one chunk
(``_send``) and serializing for chunk sizes (``dumps``).

Differences handled here:
- ``elasticsearch.helpers.streaming_bulk`` turns an HTTP error of the whole request (429, 5xx: an ApiError)
  into per-item failures when ``raise_on_exception=False``, like opensearch-py; but a transport failure with no
  HTTP answer (elastic_transport.ConnectionError / ConnectionTimeout) propagates. ``_send`` catches it and marks
  every item of the chunk failed with status "N/A" — retryable, as in mrs.cluster.bulk.is_retryable.
- Serialization: elastic_transport's JSON serializer writes compact JSON (separators ``,`` ``:``).

Documentation relied on: elasticsearch-py helpers (https://www.elastic.co/docs/reference/elasticsearch/clients/
python/client-helpers: streaming_bulk chunk_size, max_chunk_bytes, raise_on_error, raise_on_exception,
max_retries, yield_ok) and elasticsearch/helpers/actions.py (_process_bulk_chunk catches ApiError only);
Elasticsearch bulk API (docs-bulk: per-item ``status`` and ``error``).
"""

from __future__ import annotations

import json
from typing import Any

from mrs.cluster.bulk import BulkWriter

__all__ = ["ElasticsearchBulkWriter"]


class ElasticsearchBulkWriter(BulkWriter):
    """mrs.cluster.bulk.BulkWriter over an ``elasticsearch.Elasticsearch`` client (see module doc)."""

    def dumps(self, obj: Any) -> str:
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))

    def _send(self, items: list[dict[str, Any]]) -> list[tuple[bool, dict[str, Any]]]:
        from elastic_transport import TransportError
        from elasticsearch import helpers

        try:
            return list(helpers.streaming_bulk(
                self.client, items, chunk_size=len(items), max_chunk_bytes=2 ** 62,
                raise_on_error=False, raise_on_exception=False, max_retries=0, yield_ok=True,
            ))
        except TransportError as e:  # no HTTP answer: every item of the chunk failed, retryable
            reason = str(e).splitlines()[0] if str(e) else type(e).__name__
            return [(False, {"index": {"_index": self.index, "_id": item["_id"], "status": "N/A",
                                       "error": reason, "exception": e}}) for item in items]
