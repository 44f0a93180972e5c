"""BM25 exactly as OpenSearch (Lucene) scores it, with bm25s-style precomputed sparse term scores.

Per field (``FieldBM25``), as Lucene's BM25Similarity computes it
(lucene/core/src/java/org/apache/lucene/search/similarities/BM25Similarity.java; OpenSearch similarity docs
https://opensearch.org/docs/latest/field-types/mappings-parameters/similarity/ or index-modules-similarity):

    idf(t)     = ln(1 + (N − df + 0.5) / (df + 0.5))                     (float32)
    avgdl      = sumTotalTermFreq / docCount                             (exact token counts, float32)
    dl         = byte4ToInt(intToByte4(field length))                    (mrs.engine.norms: 100 → 96)
    K          = k1 · ((1 − b) + b · dl / avgdl);  normInverse = 1 / K   (float32, Lucene's per-norm cache)
    weight     = boost · idf            ("BM25", OpenSearch 3.x default; Lucene ≥ 8 drops the (k1 + 1))
               = boost · (k1 + 1) · idf ("LegacyBM25", OpenSearch 2.x default)
    score(t,d) = weight − weight / (1 + tf · normInverse)  = weight · tf / (tf + K)

N (docCount), df and sumTotalTermFreq count only the documents whose field has at least one token, as
Lucene's per-field statistics do. A ``match`` query is a disjunction of its terms: a document's field score is
the sum of the scores of the query terms it contains, summed in double and rounded to float32 as Lucene's
disjunction scorers do; a term repeated in the query counts once per occurrence (Lucene rewrites duplicate
SHOULD clauses into one clause with the boosts summed — the same total up to float32 rounding, ≤ 1 ulp;
apache/lucene#14715 discusses exactly this).

Across fields (``MultiFieldBM25``), OpenSearch's ``multi_match`` ``best_fields`` is a dis_max over per-field
match queries: score = max_f s_f + tie_breaker · (Σ_f s_f − max_f s_f), where s_f is the field's score with
its boost (``title^3``) inside the weight. A document is matched when any field matched a query term.

Storage is bm25s's idea: every (doc, term) score is computed at index time into a CSC sparse matrix
(rows docs, columns terms), so a query is the sum of its terms' columns.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mrs.engine.analysis import Analyzer
from mrs.engine.norms import LENGTH_TABLE, encode_lengths
from mrs.errors import InputError

SIMILARITIES = ("BM25", "LegacyBM25")
DEFAULT_K1 = 1.2
DEFAULT_B = 0.75

_f32 = np.float32


class FieldBM25:
    """One field's inverted index with precomputed Lucene BM25 term scores (boost included).

    Build with ``build(token_lists)`` where token_lists[i] is document i's analyzed tokens (empty or None when
    the document lacks the field). ``scores(query_tokens) -> (scores float32[n_docs], matched bool[n_docs])``.
    Statistics after build: ``doc_count`` (N), ``sum_total_term_freq``, ``avgdl`` (float32), ``df(term)``.
    """

    def __init__(self, similarity: str = "BM25", k1: float = DEFAULT_K1, b: float = DEFAULT_B, boost: float = 1.0):
        if similarity not in SIMILARITIES:
            raise InputError(f"unknown similarity {similarity!r} (expected one of {', '.join(SIMILARITIES)})")
        if not (k1 >= 0 and np.isfinite(k1)):
            raise InputError(f"k1 must be a finite number ≥ 0, got {k1!r}")
        if not 0 <= b <= 1:
            raise InputError(f"b must be in [0, 1], got {b!r}")
        if not (boost >= 0 and np.isfinite(boost)):
            raise InputError(f"field boost must be a finite number ≥ 0, got {boost!r}")
        self.similarity = similarity
        self.k1 = float(k1)
        self.b = float(b)
        self.boost = float(boost)
        self.n_docs = 0
        self.doc_count = 0
        self.sum_total_term_freq = 0
        self.avgdl = _f32(0)
        self.vocab: dict[str, int] = {}
        self.doc_freqs = np.zeros(0, dtype=np.int64)
        self.indptr = np.zeros(1, dtype=np.int64)
        self.indices = np.zeros(0, dtype=np.int32)
        self.data = np.zeros(0, dtype=np.float32)

    # -- build -------------------------------------------------------------------------------------------

    def build(self, token_lists: Sequence[Sequence[str] | None]) -> FieldBM25:
        n_docs = len(token_lists)
        vocab: dict[str, int] = {}
        doc_ids: list[int] = []
        term_ids: list[int] = []
        lengths = np.zeros(n_docs, dtype=np.int64)
        for d, toks in enumerate(token_lists):
            if not toks:
                continue
            lengths[d] = len(toks)
            setdefault = vocab.setdefault
            term_ids.extend(setdefault(t, len(vocab)) for t in toks)
            doc_ids.extend([d] * len(toks))
        n_terms = len(vocab)
        self.n_docs = n_docs
        self.vocab = vocab
        has_field = lengths > 0
        self.doc_count = int(has_field.sum())
        self.sum_total_term_freq = int(lengths.sum())
        if self.doc_count == 0 or n_terms == 0:
            self.avgdl = _f32(0)
            self.doc_freqs = np.zeros(n_terms, dtype=np.int64)
            self.indptr = np.zeros(n_terms + 1, dtype=np.int64)
            self.indices = np.zeros(0, dtype=np.int32)
            self.data = np.zeros(0, dtype=np.float32)
            return self
        # (term, doc) pairs → term frequencies, sorted by term then doc (CSC order).
        keys = np.asarray(term_ids, dtype=np.int64) * n_docs + np.asarray(doc_ids, dtype=np.int64)
        uniq, tf = np.unique(keys, return_counts=True)
        cols = uniq // n_docs
        rows = (uniq % n_docs).astype(np.int32)
        doc_freqs = np.bincount(cols, minlength=n_terms).astype(np.int64)
        indptr = np.zeros(n_terms + 1, dtype=np.int64)
        np.cumsum(doc_freqs, out=indptr[1:])

        # Lucene: avgdl = (float) (sumTotalTermFreq / (double) docCount)
        self.avgdl = _f32(self.sum_total_term_freq / self.doc_count)
        idf = self._idf(doc_freqs)  # float32 per term
        weight = self._weight(idf)  # float32 per term
        norm_bytes = encode_lengths(lengths)
        cache = self._norm_inverse_cache()  # float32[256]
        norm_inverse = cache[norm_bytes[rows]]
        w = weight[cols]
        tf32 = tf.astype(np.float32)
        # BM25Scorer.score: weight - weight / (1f + freq * normInverse), all in float32
        scores = w - w / (_f32(1) + tf32 * norm_inverse)
        self.doc_freqs = doc_freqs
        self.indptr = indptr
        self.indices = rows
        self.data = scores.astype(np.float32)
        return self

    def _idf(self, doc_freqs: np.ndarray) -> np.ndarray:
        n = float(self.doc_count)
        df = doc_freqs.astype(np.float64)
        return np.log(1.0 + (n - df + 0.5) / (df + 0.5)).astype(np.float32)

    def _weight(self, idf: np.ndarray) -> np.ndarray:
        boost = _f32(self.boost)
        if self.similarity == "LegacyBM25":
            boost = _f32(boost * _f32(self.k1 + 1.0))
        return (boost * idf).astype(np.float32)

    def _norm_inverse_cache(self) -> np.ndarray:
        k1, b = _f32(self.k1), _f32(self.b)
        lengths = LENGTH_TABLE.astype(np.float32)
        return (_f32(1) / (k1 * ((_f32(1) - b) + b * lengths / self.avgdl))).astype(np.float32)

    # -- query -------------------------------------------------------------------------------------------

    def idf(self, term: str) -> float:
        """Lucene idf of an indexed term (0.0 for a term not in the field)."""
        t = self.vocab.get(term)
        return 0.0 if t is None else float(self._idf(self.doc_freqs[t : t + 1])[0])

    def df(self, term: str) -> int:
        t = self.vocab.get(term)
        return 0 if t is None else int(self.doc_freqs[t])

    def scores(self, query_tokens: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Match-query score of every document: Σ over query tokens (duplicates counted) of the term score.

        Returns (scores float32[n_docs], 0.0 where nothing matched; matched bool[n_docs]).
        """
        acc = np.zeros(self.n_docs, dtype=np.float64)
        matched = np.zeros(self.n_docs, dtype=bool)
        rows, data = self.postings(query_tokens)
        np.add.at(acc, rows, data)
        matched[rows] = True
        return acc.astype(np.float32), matched

    def postings(self, query_tokens: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """The postings of the query tokens, concatenated in query-token order (a duplicated token twice):
        (doc rows int, per-(doc, term) scores float64). Summing data per row in this order reproduces
        ``scores`` bit for bit; the cost is the postings' length, not the number of documents."""
        spans = []
        for tok in query_tokens:
            t = self.vocab.get(tok)
            if t is not None:
                spans.append((self.indptr[t], self.indptr[t + 1]))
        if not spans:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
        if len(spans) == 1:
            lo, hi = spans[0]
            return self.indices[lo:hi], np.asarray(self.data[lo:hi], dtype=np.float64)
        return (np.concatenate([self.indices[lo:hi] for lo, hi in spans]),
                np.concatenate([self.data[lo:hi] for lo, hi in spans]).astype(np.float64, copy=False))

    # -- persistence -------------------------------------------------------------------------------------

    def arrays(self, prefix: str) -> dict[str, np.ndarray]:
        terms = sorted(self.vocab, key=self.vocab.__getitem__)
        return {
            f"{prefix}terms": np.array(terms, dtype=str) if terms else np.zeros(0, dtype="<U1"),
            f"{prefix}doc_freqs": self.doc_freqs,
            f"{prefix}indptr": self.indptr,
            f"{prefix}indices": self.indices,
            f"{prefix}data": self.data,
            f"{prefix}stats": np.array(
                [self.n_docs, self.doc_count, self.sum_total_term_freq], dtype=np.int64
            ),
        }

    @classmethod
    def from_arrays(cls, arrays, prefix: str, similarity: str, k1: float, b: float, boost: float) -> FieldBM25:
        f = cls(similarity, k1, b, boost)
        terms = arrays[f"{prefix}terms"]
        f.vocab = {str(t): i for i, t in enumerate(terms.tolist())}
        f.doc_freqs = arrays[f"{prefix}doc_freqs"]
        f.indptr = arrays[f"{prefix}indptr"]
        f.indices = arrays[f"{prefix}indices"]
        f.data = arrays[f"{prefix}data"]
        f.n_docs, f.doc_count, f.sum_total_term_freq = (int(x) for x in arrays[f"{prefix}stats"])
        f.avgdl = _f32(f.sum_total_term_freq / f.doc_count) if f.doc_count else _f32(0)
        return f


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

    def build(self, docs: Sequence[dict[str, str | None]]) -> MultiFieldBM25:
        """Index docs (each a dict field → text; missing/None/empty = the doc lacks that field)."""
        self.n_docs = len(docs)
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
        postings = [field.postings(toks) for field in self.fields.values()]
        nonempty = [rows for rows, _ in postings if rows.size]
        if not nonempty:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        cand, slot = self._union(nonempty)
        per_field = np.zeros((len(postings), cand.size), dtype=np.float32)
        for i, (rows, data) in enumerate(postings):
            if rows.size:
                # bincount adds the weights of one slot in input order, in float64: as ``scores`` does
                per_field[i] = np.bincount(slot[rows], weights=data, minlength=cand.size)
        best = per_field.max(axis=0)
        if self.tie_breaker > 0 and len(postings) > 1:
            best64 = best.astype(np.float64)
            others = per_field.sum(axis=0, dtype=np.float64) - best64
            best = (best64 + float(_f32(self.tie_breaker)) * others).astype(np.float32)
        return cand, best

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

    def search(self, text: str, k: int, *, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-k matched documents: (doc indices int64, scores float32), by score desc then index asc.

        allowed: a filter bitset (bool per document, mrs.engine.filters): only those documents are returned,
        their scores unchanged and the statistics (N, df, avgdl) still over the whole index — as Lucene scores
        a query with a non-scoring ``filter`` clause."""
        if k < 1:
            raise InputError(f"k must be ≥ 1, got {k}")
        cand, scores = self.score_matched(text)
        if allowed is not None:
            keep = allowed[cand]
            cand, scores = cand[keep], scores[keep]
        return top_k(scores, np.ones(cand.size, dtype=bool), k, ids=cand)

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


def top_k(scores: np.ndarray, mask: np.ndarray, k: int, ids: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Indices and scores of the k best masked entries, by score desc then index asc (ties kept stable).

    ids: the document index of each entry (ascending; default the entry's position)."""
    pos = np.flatnonzero(mask)
    if pos.size == 0:
        return pos.astype(np.int64), np.zeros(0, dtype=scores.dtype)
    cand = pos if ids is None else ids[pos]
    cand_scores = scores[pos]
    if cand.size > k:
        # keep everything tied with the k-th best so the index tie-break is exact
        kth = np.partition(cand_scores, cand.size - k)[cand.size - k]
        keep = cand_scores >= kth
        cand, cand_scores = cand[keep], cand_scores[keep]
    order = np.lexsort((cand, -cand_scores.astype(np.float64)))[:k]
    return cand[order].astype(np.int64), cand_scores[order]


def _as_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        # OpenSearch indexes an array of strings as one field with position gaps: the lengths add up.
        return " ".join(str(v) for v in value if v is not None)
    return str(value)
