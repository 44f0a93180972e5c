"""Bulk writing to OpenSearch: mrs.cluster.bulk.BulkWriter (chunks, retries with backoff, dead letter, checkpoint)
over opensearch-py — this module holds only the client-specific step, sending one chunk with
``opensearchpy.helpers.streaming_bulk`` and serializing with the client's own serializer.

opensearch-py's streaming_bulk with ``raise_on_exception=False`` turns both an HTTP error of the whole request
(429, 5xx) and a connection error (status "N/A") into per-item failures, so nothing is caught here.

Documentation relied on: opensearch-py helpers (https://opensearch-project.github.io/opensearch-py/ ,
"Bulk helpers": streaming_bulk arguments chunk_size, max_chunk_bytes, raise_on_error, raise_on_exception,
max_retries) and opensearchpy/helpers/actions.py.
"""

from __future__ import annotations

from typing import Any

from mrs.cluster.bulk import BulkWriter

__all__ = ["OpenSearchBulkWriter"]


class OpenSearchBulkWriter(BulkWriter):
    """mrs.cluster.bulk.BulkWriter over an ``opensearchpy.OpenSearch`` client (see module doc)."""

    def dumps(self, obj: Any) -> str:
        return self.client.transport.serializer.dumps(obj)

    def _send(self, items: list[dict[str, Any]]) -> list[tuple[bool, dict[str, Any]]]:
        from opensearchpy import helpers

        return list(helpers.streaming_bulk(
            self.client, items, chunk_size=len(items), max_chunk_bytes=2 ** 62,
            raise_on_error=False, raise_on_exception=False, max_retries=0, yield_ok=True,
        ))
