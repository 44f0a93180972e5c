"""Fixtures for the Elasticsearch tests: an in-memory node at elastic_transport's node layer."""

from __future__ import annotations

import pytest
from fake_es import FakeES


@pytest.fixture
def es():
    return FakeES()


@pytest.fixture
def sleeps():
    """A recording sleep: tests assert the exact backoff sequence without waiting."""
    calls: list[float] = []

    def sleep(seconds: float) -> None:
        calls.append(seconds)

    sleep.calls = calls  # type: ignore[attr-defined]
    return sleep
