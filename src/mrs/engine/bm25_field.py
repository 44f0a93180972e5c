"""One field's BM25 exactly as OpenSearch (Lucene) scores it, with bm25s-style precomputed sparse term scores.

As Lucene's BM25Similarity computes it
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

Storage is bm25s's idea: every (doc, term) score is computed at index time into a CSC sparse matrix
(rows docs, columns terms), so a query is the sum of its terms' columns. Across fields: mrs.engine.bm25.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

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
