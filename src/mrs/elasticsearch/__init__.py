"""The Elasticsearch target: dense_vector + BM25 index, knn similarity thresholds, linear/rrf retrievers,
search templates, and a SearchBackend over the official ``elasticsearch`` client."""
