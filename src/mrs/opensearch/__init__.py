"""The OpenSearch target (opensearch-py): everything the embedded engine does, deployable on a cluster. It builds
on mrs.cluster (bulk writer, checkpoint, aliases, catalog → cluster indexing, shared bodies and mapping parts).

| module | holds |
|---|---|
| connection | client from URL + env secrets (basic auth, CA file, AWS SigV4), timeouts, retries, redaction |
| bodies | pure request-body builders (knn / radial, hybrid, search request; the shared ones re-exported) |
| mapping | the index body: explicit BM25/LegacyBM25 similarity, keyword subfields, knn_vector hnsw |
| pipelines | search pipelines (normalization-processor, score-ranker RRF, explanation) + calibration reader |
| templates | mustache search templates and pipelines from a calibration, render/install of the set |
| bulk | the bulk writer's send step over opensearch-py (mrs.cluster.bulk does the rest) |
| backend | OpenSearchBackend (the SearchBackend protocol on a cluster) |
| indexing | index_catalog_opensearch: the OpenSearch spec and mapping for mrs.cluster.indexing |
| ml_export | sentence-transformers → OpenSearch ML Commons zip (TorchScript / ONNX) + register body |

See docs/opensearch.md.
"""
