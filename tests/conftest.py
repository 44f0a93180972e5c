"""Shared fixtures: the project's own generated sample data (never ../shared/data)."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def sample(tmp_path_factory):
    """The generated sample dataset: .catalog (JSONL), .judgments (ESCI-style qrels TSV), .events (UBI JSONL)."""
    from mrs.data.sample import write_sample

    return write_sample(tmp_path_factory.mktemp("sample"), seed=0)


@pytest.fixture(scope="session")
def minilm():
    """The packaged all-MiniLM-L6-v2 SentenceTransformer (loaded once per test session)."""
    from mrs.models import load_sentence_transformer

    return load_sentence_transformer(None, device="cpu")


@pytest.fixture
def sleeps():
    """A recording sleep for retry/backoff code: tests assert the exact backoff sequence without waiting."""
    calls: list[float] = []

    def sleep(seconds: float) -> None:
        calls.append(seconds)

    sleep.calls = calls  # type: ignore[attr-defined]
    return sleep
