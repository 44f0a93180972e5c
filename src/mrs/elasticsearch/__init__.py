"""The Elasticsearch target: dense_vector + BM25 index, knn similarity thresholds, linear/rrf retrievers,
search templates, and a SearchBackend over the official ``elasticsearch`` client. It builds on mrs.cluster (bulk
writer, checkpoint, aliases, catalog → cluster indexing, shared bodies and mapping parts) and imports nothing from
mrs.opensearch."""
