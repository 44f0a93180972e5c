"""mrs.engine — the embedded backend: BM25, vectors, hybrid scoring identical to OpenSearch, on-disk persistence."""
