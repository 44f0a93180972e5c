"""Fixtures for the OpenSearch tests: an in-memory cluster at opensearch-py's connection layer."""

from __future__ import annotations

import pytest
from fake_cluster import FakeCluster


@pytest.fixture
def cluster():
    return FakeCluster()

