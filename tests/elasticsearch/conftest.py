"""Fixtures for the Elasticsearch tests: an in-memory node at elastic_transport's node layer."""

from __future__ import annotations

import pytest
from fake_es import FakeES


@pytest.fixture
def es():
    return FakeES()

