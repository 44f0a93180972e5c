"""Client of LuceneOracle.java: real Lucene 9.9.1 (from Anserini's fat jar) as the oracle of the suite.

``find_jar()`` locates the jar: ``$MRS_LUCENE_JAR``, else ``~/.cache/mrs/lucene/anserini-1.7.1-fatjar.jar``
(where ``.ci/run`` puts it). ``LuceneOracle(jar)`` compiles the helper with javac into a cache folder keyed
by the source's hash (once), starts one JVM and talks to it over stdin/stdout:

- ``tokens(analyzer, texts) -> list[list[str]]``: StandardAnalyzer / EnglishAnalyzer as OpenSearch configures
  them (``standard``: no stop words; ``english``: the default English stop set; max_token_length 255);
- ``bm25(...) -> list[list[(doc, float32 score)]]``: top-k of a dis_max over per-field boosted boolean
  queries (multi_match best_fields) on an in-memory index, BM25Similarity or LegacyBM25 (Elasticsearch's:
  boost × (k1 + 1));
- ``cosine(a, b) -> float32[n]``: VectorSimilarityFunction.COSINE, (1 + cos) / 2.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

JAR_NAME = "anserini-1.7.1-fatjar.jar"
CACHE = Path(os.environ.get("MRS_LUCENE_CACHE", Path.home() / ".cache" / "mrs" / "lucene"))
SOURCE = Path(__file__).with_name("LuceneOracle.java")


def find_jar() -> Path | None:
    """The Lucene jar to test against, or None when there is none here."""
    env = os.environ.get("MRS_LUCENE_JAR")
    if env:
        return Path(env) if Path(env).is_file() else None
    path = CACHE / JAR_NAME
    return path if path.is_file() else None


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def _unb64(token: str) -> str:
    return base64.b64decode(token).decode("utf-8")


def _bits(values: np.ndarray) -> str:
    return " ".join(str(v) for v in np.ascontiguousarray(values, dtype=np.float32).view(np.int32))


def _float(bits: str) -> np.float32:
    return np.array([int(bits)], dtype=np.int32).view(np.float32)[0]


class LuceneOracle:
    """One JVM running LuceneOracle.java against ``jar`` (close() ends it)."""

    def __init__(self, jar: Path):
        if shutil.which("javac") is None or shutil.which("java") is None:
            raise RuntimeError("the Lucene suite needs a JDK (javac and java on PATH)")
        digest = hashlib.sha256(SOURCE.read_bytes() + str(jar).encode()).hexdigest()[:16]
        classes = CACHE / f"oracle-{digest}"
        if not (classes / "LuceneOracle.class").is_file():
            tmp = classes.with_name(classes.name + f".tmp{os.getpid()}")
            tmp.mkdir(parents=True, exist_ok=True)
            subprocess.run(["javac", "--release", "17", "-nowarn", "-cp", str(jar), "-d", str(tmp), str(SOURCE)],
                           check=True, capture_output=True, text=True)
            tmp.replace(classes) if not classes.exists() else shutil.rmtree(tmp)
        self._proc = subprocess.Popen(
            ["java", "-Xss8m", "-cp", f"{classes}{os.pathsep}{jar}", "LuceneOracle"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, encoding="utf-8", bufsize=1 << 20)

    def _request(self, header: str, payload: Sequence[str]) -> list[str]:
        proc = self._proc

        def send() -> None:  # from a thread: the JVM answers while it reads, and a full pipe must not block us
            proc.stdin.write(header + "\n" + "".join(line + "\n" for line in payload))
            proc.stdin.flush()

        writer = threading.Thread(target=send, daemon=True)
        writer.start()
        lines = []
        while True:
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError(f"LuceneOracle exited during {header.split()[0]} (rc {proc.poll()})")
            line = line.rstrip("\n")
            if line == "END":
                writer.join()
                return lines
            lines.append(line)

    def tokens(self, analyzer: str, texts: Sequence[str]) -> list[list[str]]:
        lines = self._request(f"TOKENS {analyzer} {len(texts)}", [_b64(t) for t in texts])
        return [[_unb64(tok) for tok in line.split()] for line in lines]

    def bm25(self, docs: Sequence[Mapping[str, str | None]], fields: Mapping[str, float], queries: Sequence[str], *,
             similarity: str = "BM25", k1: float = 1.2, b: float = 0.75, analyzer: str = "standard",
             tie_breaker: float = 0.0, k: int = 100) -> list[list[tuple[int, np.float32]]]:
        header = (f"BM25 {similarity} {k1!r} {b!r} {analyzer} {tie_breaker!r} {k} {len(docs)} {len(queries)}")
        rows = [" ".join(f"{name}:{boost!r}" for name, boost in fields.items())]
        rows += ["\t".join(_b64(doc[f]) if doc.get(f) else "-" for f in fields) for doc in docs]
        lines = self._request(header, rows + [_b64(q) for q in queries])
        return [[(int(d), _float(s)) for d, s in (hit.split(":") for hit in line.split())] for line in lines]

    def cosine(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        a = np.asarray(a, dtype=np.float32)
        b = np.asarray(b, dtype=np.float32)
        lines = self._request(f"COSINE {a.shape[1]} {len(a)}", [_bits(x) + " " + _bits(y) for x, y in zip(a, b, strict=True)])
        return np.array([int(v) for v in lines], dtype=np.int32).view(np.float32)

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.stdin.write("QUIT\n")
            self._proc.stdin.close()
            self._proc.wait(timeout=30)
