"""multi_match (best_fields) BM25 across text fields, scored exactly as OpenSearch does.

Across fields (``MultiFieldBM25``), OpenSearch's ``multi_match`` ``best_fields`` is a dis_max over per-field
match queries: score = max_f s_f + tie_breaker · (Σ_f s_f − max_f s_f), where s_f is the field's score with
its boost (``title^3``) inside the weight. A document is matched when any field matched a query term.

Each field is a mrs.engine.bm25_field.FieldBM25 (Lucene's BM25Similarity on precomputed sparse term scores).
``search`` returns the exact top k; over long postings it never scores the documents that match only
query terms too weak to reach the k-th best (MaxScore, mrs.engine.bm25_maxscore), with results identical
to exhaustive scoring.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mrs.engine.analysis import Analyzer
from mrs.engine.bm25_field import DEFAULT_B, DEFAULT_K1, SIMILARITIES, FieldBM25
from mrs.engine.bm25_maxscore import maxscore_top_k, term_max_scores
from mrs.engine.topk import top_k
from mrs.errors import InputError

__all__ = ["DEFAULT_B", "DEFAULT_K1", "SIMILARITIES", "FieldBM25", "MultiFieldBM25", "parse_fields", "top_k"]

_f32 = np.float32
PRUNE_MIN_POSTINGS = 16_384


def parse_fields(spec: str) -> dict[str, float]:
    """Parse ``"title^3,brand^2,color"`` → {"title": 3.0, "brand": 2.0, "color": 1.0} (OpenSearch syntax)."""
    fields: dict[str, float] = {}
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        name, _, boost = part.partition("^")
        name = name.strip()
        if not name:
            raise InputError(f"empty field name in fields spec {spec!r}")
        try:
            value = float(boost) if boost else 1.0
        except ValueError:
            raise InputError(f"bad boost {boost!r} for field {name!r} in fields spec {spec!r}") from None
        if not (value >= 0 and np.isfinite(value)):
            raise InputError(f"boost for field {name!r} must be a finite number ≥ 0, got {boost!r}")
        if name in fields:
            raise InputError(f"field {name!r} listed twice in fields spec {spec!r}")
        fields[name] = value
    if not fields:
        raise InputError(f"no fields in fields spec {spec!r}")
    return fields


class MultiFieldBM25:
    """multi_match (best_fields) BM25 over several text fields, scored as OpenSearch does.

    fields: {"title": 3.0, "brand": 2.0, ...} field name → boost. analyzer: an Analyzer (or its name).
    similarity "BM25" | "LegacyBM25"; k1, b; tie_breaker (multi_match default 0.0).

    >>> bm = MultiFieldBM25({"title": 3.0, "description": 1.0}).build([{"title": "red shoe"}, {"title": "blue"}])
    >>> idx, scores = bm.search("red shoes", k=10)
    """

    FILE = "bm25.npz"
    META = "bm25.json"

    def __init__(
        self,
        fields: dict[str, float],
        analyzer: Analyzer | str = "standard",
        similarity: str = "BM25",
        k1: float = DEFAULT_K1,
        b: float = DEFAULT_B,
        tie_breaker: float = 0.0,
    ):
        if not fields:
            raise InputError("MultiFieldBM25 needs at least one field")
        if not 0 <= tie_breaker <= 1:
            raise InputError(f"tie_breaker must be in [0, 1], got {tie_breaker!r}")
        self.analyzer = analyzer if isinstance(analyzer, Analyzer) else Analyzer(analyzer)
        self.similarity = similarity
        self.k1 = float(k1)
        self.b = float(b)
        self.tie_breaker = float(tie_breaker)
        self.field_boosts = {name: float(boost) for name, boost in fields.items()}
        self.fields = {name: FieldBM25(similarity, k1, b, boost) for name, boost in self.field_boosts.items()}
        self.n_docs = 0
        self._scratch = threading.local()
        # early termination (mrs.engine.bm25_maxscore) for queries with at least prune_min_postings postings;
        # shorter ones are scored exhaustively (already a fraction of a millisecond)
        self.prune_min_postings = PRUNE_MIN_POSTINGS
        self._max_scores: list[np.ndarray] | None = None
        self._max_scores_lock = threading.Lock()

    def build(self, docs: Sequence[dict[str, str | None]]) -> MultiFieldBM25:
        """Index docs (each a dict field → text; missing/None/empty = the doc lacks that field)."""
        self.n_docs = len(docs)
        self._max_scores = None
        tokens = self.analyzer.tokens
        for name, field in self.fields.items():
            field.build([tokens(_as_text(doc.get(name))) for doc in docs])
        return self

    def field_scores(self, text: str) -> dict[str, np.ndarray]:
        """Each field's match-query score with its boost applied (float32[n_docs], 0.0 where no term matched)."""
        toks = self.analyzer.tokens(text)
        return {name: field.scores(toks)[0] for name, field in self.fields.items()}

    def score(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """best_fields score of every doc: max_f s_f + tie_breaker · (Σ s_f − max_f s_f).

        Returns (scores float32[n_docs], 0.0 where no field matched; matched bool[n_docs] — True where any
        field matched a term). Whole-catalog arrays; ``score_matched`` is the same over matched docs only.
        """
        cand, best = self.score_matched(text)
        scores = np.zeros(self.n_docs, dtype=np.float32)
        matched = np.zeros(self.n_docs, dtype=bool)
        scores[cand] = best
        matched[cand] = True
        return scores, matched

    def score_matched(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """best_fields scores of the matched documents only: (doc indices int64, in no particular order;
        scores float32, same order).

        Same values as ``score`` (per field: the term scores of a document summed in float64 in query-token
        order, then float32; then max + tie_breaker · others), computed over the union of the query terms'
        postings instead of whole-catalog arrays, so a query costs its postings' length, not the catalog size.
        """
        toks = self.analyzer.tokens(text)
        return self.best_fields([field.postings(toks) for field in self.fields.values()])

    def best_fields(self, postings: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
        """best_fields scores of the documents in per-field postings (one (doc rows, float64 term scores) pair
        per field, in self.fields order, each field's tokens in query-token order): (doc indices int64, in no
        particular order; scores float32). A document's terms are summed in the order they come."""
        nonempty = [rows for rows, _ in postings if rows.size]
        if not nonempty:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        cand, slot = self._union(nonempty)
        per_field = np.zeros((len(postings), cand.size), dtype=np.float32)
        for i, (rows, data) in enumerate(postings):
            if rows.size:
                # bincount adds the weights of one slot in input order, in float64: as ``scores`` does
                per_field[i] = np.bincount(slot[rows], weights=data, minlength=cand.size)
        return cand, self.combine(per_field)

    def combine(self, per_field: np.ndarray) -> np.ndarray:
        """best_fields of per-field float32 scores (n_fields, n): max + tie_breaker · others, float32 (n,)."""
        best = per_field.max(axis=0)
        if self.tie_breaker > 0 and len(per_field) > 1:
            best64 = best.astype(np.float64)
            others = per_field.sum(axis=0, dtype=np.float64) - best64
            best = (best64 + float(_f32(self.tie_breaker)) * others).astype(np.float32)
        return best

    def _union(self, row_arrays: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """The distinct rows of the arrays (int64) and a slot table: slot[row] = the row's
        position in that list, valid for those rows only. O(postings) with no sort: the table is a per-thread
        scratch array of n_docs int32 entries; only entries of this query's rows are written before being read,
        so it never needs clearing."""
        scratch = getattr(self._scratch, "slots", None)
        if scratch is None or scratch.size != self.n_docs:
            scratch = np.empty(self.n_docs, dtype=np.int32)
            self._scratch.slots = scratch
        rows = np.concatenate(row_arrays) if len(row_arrays) > 1 else row_arrays[0]
        order = np.arange(rows.size, dtype=np.int32)
        scratch[rows] = order  # a repeated row keeps one of its positions (which one does not matter)
        first = scratch[rows] == order  # exactly one occurrence of every distinct row
        cand = rows[first].astype(np.int64)
        scratch[cand] = np.arange(cand.size, dtype=np.int32)
        return cand, scratch

    def search(self, text: str, k: int, *, allowed: np.ndarray | None = None,
               early_termination: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Top-k matched documents: (doc indices int64, scores float32), by score desc then index asc.

        allowed: a filter bitset (bool per document, mrs.engine.filters): only those documents are returned,
        their scores unchanged and the statistics (N, df, avgdl) still over the whole index — as Lucene scores
        a query with a non-scoring ``filter`` clause. early_termination: when the query's postings number at
        least ``prune_min_postings``, skip the documents that cannot reach the top k (MaxScore,
        mrs.engine.bm25_maxscore); the result is identical either way, False scores every posting."""
        if k < 1:
            raise InputError(f"k must be ≥ 1, got {k}")
        toks = self.analyzer.tokens(text)
        fields = list(self.fields.values())
        terms = [[f.vocab[t] for t in toks if t in f.vocab] for f in fields]
        n_postings = sum(int(np.sum(f.doc_freqs[ts])) for f, ts in zip(fields, terms, strict=True) if ts)
        if early_termination and n_postings and n_postings >= self.prune_min_postings:
            found = maxscore_top_k(fields, terms, self.max_scores(), k, self.combine, self._zeros(), allowed)
            if found is not None:
                return found
        cand, scores = self.best_fields([field.postings(toks) for field in fields])
        if allowed is not None:
            keep = allowed[cand]
            cand, scores = cand[keep], scores[keep]
        return top_k(scores, np.ones(cand.size, dtype=bool), k, ids=cand)

    def _zeros(self) -> np.ndarray:
        """A per-thread all-zero float32 array of n_docs entries (MaxScore's scatter/gather scratch, which
        leaves it all-zero again)."""
        zeros = getattr(self._scratch, "zeros", None)
        if zeros is None or zeros.size != self.n_docs:
            zeros = np.zeros(self.n_docs, dtype=np.float32)
            self._scratch.zeros = zeros
        return zeros

    def max_scores(self) -> list[np.ndarray]:
        """Each field's largest term score per term (self.fields order; MaxScore's bounds), computed on first
        use in one pass over the postings and kept until the next ``build``."""
        with self._max_scores_lock:
            if self._max_scores is None:
                self._max_scores = [term_max_scores(f.indptr, f.data) for f in self.fields.values()]
            return self._max_scores

    # -- persistence -------------------------------------------------------------------------------------

    def save(self, directory: str | Path) -> None:
        """Write bm25.npz (arrays, no pickle) and bm25.json (settings) into ``directory``."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, np.ndarray] = {}
        for i, field in enumerate(self.fields.values()):
            arrays.update(field.arrays(f"f{i}_"))
        np.savez(directory / self.FILE, **arrays)
        meta = {
            "fields": [[name, boost] for name, boost in self.field_boosts.items()],
            "analyzer": self.analyzer.to_dict(),
            "similarity": self.similarity,
            "k1": self.k1,
            "b": self.b,
            "tie_breaker": self.tie_breaker,
            "n_docs": self.n_docs,
        }
        (directory / self.META).write_text(json.dumps(meta, indent=2))

    @classmethod
    def load(cls, directory: str | Path) -> MultiFieldBM25:
        """Read what ``save`` wrote; InputError when files are missing or corrupt."""
        directory = Path(directory)
        meta_path, npz_path = directory / cls.META, directory / cls.FILE
        try:
            meta = json.loads(meta_path.read_text())
            analyzer = Analyzer(**meta["analyzer"])
            bm = cls(
                {name: boost for name, boost in meta["fields"]},
                analyzer,
                meta["similarity"],
                meta["k1"],
                meta["b"],
                meta.get("tie_breaker", 0.0),
            )
            with np.load(npz_path, allow_pickle=False) as arrays:
                for i, (name, boost) in enumerate(bm.field_boosts.items()):
                    bm.fields[name] = FieldBM25.from_arrays(arrays, f"f{i}_", bm.similarity, bm.k1, bm.b, boost)
            bm.n_docs = int(meta["n_docs"])
        except FileNotFoundError as exc:
            raise InputError("BM25 index file missing", path=exc.filename) from None
        except (KeyError, ValueError, TypeError, OSError) as exc:
            raise InputError(f"corrupt BM25 index ({exc})", path=str(directory)) from None
        return bm


def _as_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        # OpenSearch indexes an array of strings as one field with position gaps: the lengths add up.
        return " ".join(str(v) for v in value if v is not None)
    return str(value)
