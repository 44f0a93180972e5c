"""mrs — Mine & Refine Search: graded-relevance hybrid product search on OpenSearch and Elasticsearch."""

__version__ = "0.1.0"
