"""The `lucene` fixture: one LuceneOracle JVM per test module; skip (or, under CI=true, fail) without a jar."""

from __future__ import annotations

import os
import shutil

import pytest
from tests.lucene.oracle import LuceneOracle, find_jar


@pytest.fixture(scope="module")
def lucene():
    jar = find_jar()
    reason = None
    if jar is None:
        reason = ("no Lucene jar: set MRS_LUCENE_JAR, or run .ci/run, which fetches anserini-1.7.1-fatjar.jar "
                  "(pyserini 1.6.0) into ~/.cache/mrs/lucene")
    elif shutil.which("javac") is None:
        reason = "no JDK (javac) to compile tests/lucene/LuceneOracle.java"
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the Lucene suite must run in CI: {reason}")
        pytest.skip(reason)
    oracle = LuceneOracle(jar)
    yield oracle
    oracle.close()
