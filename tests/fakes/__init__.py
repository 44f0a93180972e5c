"""Test doubles shared by the OpenSearch and Elasticsearch tests (importable as ``fakes`` from tests/)."""
