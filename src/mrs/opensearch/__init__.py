"""The OpenSearch target (opensearch-py): everything the embedded engine does, deployable on a cluster.

| module | holds |
|---|---|
| connection | client from URL + env secrets (basic auth, CA file, AWS SigV4), timeouts, retries, redaction |
| bodies | pure request-body builders (multi_match, knn / radial, hybrid, ids filter, alias actions) |
| mapping | the index body: explicit BM25/LegacyBM25 similarity, keyword subfields, knn_vector hnsw |
| pipelines | search pipelines (normalization-processor, score-ranker RRF, explanation) + calibration reader |
| templates | mustache search templates, a small OpenSearch-like renderer, render/install of the set |
| bulk | resilient bulk writer: chunks, backoff + jitter, dead letter, checkpoint/resume, count check |
| aliases | blue/green generations and the atomic alias swap |
| backend | OpenSearchBackend (the SearchBackend protocol on a cluster) |
| indexing | index_catalog_opensearch: catalog → vectors (shared cache) → bulk → verify → alias swap |
| ml_export | sentence-transformers → OpenSearch ML Commons zip (TorchScript / ONNX) + register body |

See docs/opensearch.md.
"""
