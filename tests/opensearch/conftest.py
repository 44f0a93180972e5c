"""Fixtures for the OpenSearch tests: an in-memory cluster at opensearch-py's connection layer."""

from __future__ import annotations

import pytest
from fake_cluster import FakeCluster


@pytest.fixture
def cluster():
    return FakeCluster()


@pytest.fixture
def sleeps():
    """A recording sleep: tests assert the exact backoff sequence without waiting."""
    calls: list[float] = []

    def sleep(seconds: float) -> None:
        calls.append(seconds)

    sleep.calls = calls  # type: ignore[attr-defined]
    return sleep
