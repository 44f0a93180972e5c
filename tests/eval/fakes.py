"""A tiny in-memory SearchBackend for eval tests: products are word sets, scores are simple and known."""

from __future__ import annotations

import numpy as np

from mrs.indexer.backend import Hit

PRODUCTS = {
    "p-red-shirt": "red cotton shirt",
    "p-red-hat": "red wool hat",
    "p-blue-shirt": "blue cotton shirt",
    "p-blue-hat": "blue hat",
    "p-green-sock": "green sock",
}
VOCAB = sorted({w for t in PRODUCTS.values() for w in t.split()})


class FakeEncoder:
    """encode(texts) → bag-of-words unit vectors over VOCAB."""

    def encode(self, texts):
        return np.stack([FakeBackend.vector(t) for t in texts])


class FakeBackend:
    """lexical: number of shared words (0 → not returned); dense: (1 + cos)/2 of bag-of-words vectors;
    hybrid: lexical/10 + dense. Records every call."""

    def __init__(self, products: dict[str, str] | None = None):
        self.products = dict(PRODUCTS if products is None else products)
        self.calls: list[tuple] = []

    @staticmethod
    def vector(text: str) -> np.ndarray:
        words = set(text.split())
        v = np.array([1.0 if w in words else 0.0 for w in VOCAB], dtype=np.float32)
        n = np.linalg.norm(v)
        return v / n if n else v

    def _lex(self, text: str, pid: str) -> float:
        return float(len(set(text.split()) & set(self.products[pid].split())))

    def _dense(self, vector, pid: str) -> float:
        return float((1.0 + float(self.vector(self.products[pid]) @ vector)) / 2.0)

    @staticmethod
    def _top(scored: dict[str, float], k: int) -> list[tuple[str, float]]:
        return sorted(scored.items(), key=lambda kv: (-kv[1], kv[0]))[:k]

    def lexical(self, text, k):
        self.calls.append(("lexical", text))
        scored = {p: self._lex(text, p) for p in self.products}
        return [Hit(p, s, {"lexical": s, "dense": None}) for p, s in self._top(scored, k) if s > 0]

    def knn(self, vector, k=None, min_score=None):
        self.calls.append(("knn",))
        scored = {p: self._dense(vector, p) for p in self.products}
        return [Hit(p, s, {"lexical": None, "dense": s}) for p, s in self._top(scored, k or len(scored))]

    def hybrid(self, text, vector, k, pipeline=None):
        self.calls.append(("hybrid", text, pipeline))
        scored = {p: self._lex(text, p) / 10 + self._dense(vector, p) for p in self.products}
        return [Hit(p, s) for p, s in self._top(scored, k)]

    def score_documents(self, text, vector, ids):
        out = {}
        for pid in ids:
            if pid not in self.products:
                out[pid] = {"lexical": None, "dense": None}
                continue
            lex = self._lex(text, pid)
            out[pid] = {"lexical": lex or None, "dense": None if vector is None else self._dense(vector, pid)}
        return out

    def count(self):
        return len(self.products)
