"""What the OpenSearch and Elasticsearch targets share: the cluster plumbing both build on, so neither imports
the other (mrs.opensearch and mrs.elasticsearch hold only what differs: client, mapping of the vector field,
k-NN / hybrid requests, templates and pipelines or retrievers).

| module | holds |
|---|---|
| url | cluster URLs parsed, checked and redacted before any client sees them |
| connection | the shared connection rules (basic-auth pair, CA file, redaction) and ClusterError |
| bodies | request bodies both clusters accept alike: multi_match, vectors as JSON, filters, ids |
| documents | the ``_source`` of one product document |
| mapping | the mapping parts both share (BM25 text fields, stored fields, attributes), spec checks, shard notes |
| backend | ClusterBackend: one retrying ``call``, filters, lexical query, sources, count, bulk writes; query encoder |
| bulk | resilient bulk writer: chunks, backoff + jitter, dead letter, count check (backends add the send step) |
| checkpoint | the resume file of a bulk load |
| aliases | blue/green generations and the atomic alias swap |
| embedding | vectors for a load through the content-hash embedding cache |
| indexing | catalog → cluster: read and type the catalog, embed, bulk, verify, swap, summarise |
| mustache | an offline mustache renderer that behaves like the clusters' (search-template checks) |
| templates | search-template pieces both share: filtered lexical query, sample params, render checks, files |

Imports flow one way: mrs.cluster imports the rooms below it (data, indexer, engine) and no backend;
mrs.opensearch and mrs.elasticsearch import it.
"""
