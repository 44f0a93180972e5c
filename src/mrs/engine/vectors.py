"""Dense vector search: exact (faiss SIMD kernels) for small indexes, faiss HNSW above a size threshold.

Scores are OpenSearch k-NN scores of the index's space_type (mrs.engine.spaces.knn_score):
- cosinesimil: (1 + cos) / 2 — vectors and queries are L2-normalized, raw = inner product = cos;
- innerproduct: ip + 1 when ip > 0, else 1 / (1 − ip) — raw = inner product;
- l2: 1 / (1 + d²) — raw = squared Euclidean distance.

HNSW parameters default to OpenSearch's faiss engine: m 16, ef_construction 100, ef_search 100; each search
passes efSearch = max(ef_search, k) as faiss SearchParametersHNSW, so the index is read-only while searching.
Below ``hnsw_threshold`` documents (default 20,000) search is exact, so small catalogs get exact
neighbours (as an OpenSearch exact k-NN script would) and pay no graph-building time.

On disk: ``vectors.npy`` (n, d) float32 as stored (normalized for cosinesimil), ``vectors.json``
(space, parameters) and, when HNSW is used, ``hnsw.faiss`` (faiss.write_index).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from mrs.ann import build_hnsw
from mrs.engine.spaces import knn_score, raw_from_score, validate_knn_limits
from mrs.errors import InputError
from mrs.indexer.embed import l2_normalize
from mrs.spaces import check_space_type

DEFAULT_HNSW_THRESHOLD = 20_000
DEFAULT_M = 16
DEFAULT_EF_CONSTRUCTION = 100
DEFAULT_EF_SEARCH = 100
# The k-NN plugin's KNNConstants.MAX_DISTANCE_COMPUTATIONS: a filtered search whose filtered documents ×
# dimension stays within it is exact (opensearch-project/k-NN#1049).
MAX_DISTANCE_COMPUTATIONS = 2_048_000

VECTORS_FILE = "vectors.npy"
PARAMS_FILE = "vectors.json"
HNSW_FILE = "hnsw.faiss"


def _unit_rows(vectors: np.ndarray, chunk: int = 65_536) -> np.ndarray:
    """l2_normalize row block by row block into one new float32 array (the same rows bit for bit): the
    temporaries stay one block in size instead of three copies of a million-row matrix."""
    out = np.empty(vectors.shape, dtype=np.float32)
    for start in range(0, len(vectors), chunk):
        out[start: start + chunk] = l2_normalize(vectors[start: start + chunk])
    return out


class VectorIndex:
    """k-NN over float32 vectors in one space.

    vectors: (n, d) array, row i = document i. space_type: cosinesimil | innerproduct | l2.
    hnsw_threshold: n ≥ this → faiss HNSW (0 forces HNSW), else exact.
    """

    def __init__(
        self,
        vectors: np.ndarray,
        space_type: str = "cosinesimil",
        *,
        hnsw_threshold: int = DEFAULT_HNSW_THRESHOLD,
        m: int = DEFAULT_M,
        ef_construction: int = DEFAULT_EF_CONSTRUCTION,
        ef_search: int = DEFAULT_EF_SEARCH,
        _hnsw=None,
    ) -> None:
        check_space_type(space_type)
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2:
            raise ValueError(f"vectors must be 2-D, got shape {vectors.shape}")
        for name, value in (("hnsw_threshold", hnsw_threshold), ("m", m - 1), ("ef_construction", ef_construction - 1), ("ef_search", ef_search - 1)):
            if value < 0:
                raise InputError(f"{name} out of range ({value if name == 'hnsw_threshold' else value + 1})")
        self.space_type = space_type
        self.vectors = _unit_rows(vectors) if space_type == "cosinesimil" else np.ascontiguousarray(vectors)
        self.hnsw_threshold = int(hnsw_threshold)
        self.m, self.ef_construction, self.ef_search = int(m), int(ef_construction), int(ef_search)
        self._hnsw = _hnsw
        if self._hnsw is None and self.uses_hnsw:
            self._hnsw = self._build_hnsw()

    # ---- properties ---------------------------------------------------------------------------------

    def __len__(self) -> int:
        return int(self.vectors.shape[0])

    @property
    def dimension(self) -> int:
        return int(self.vectors.shape[1])

    @property
    def uses_hnsw(self) -> bool:
        """True when searches go through the faiss HNSW graph (n ≥ hnsw_threshold and n > 0)."""
        return len(self) > 0 and len(self) >= self.hnsw_threshold

    @property
    def method(self) -> str:
        return "hnsw" if self.uses_hnsw else "exact"

    def params(self) -> dict:
        return {
            "space_type": self.space_type,
            "method": self.method,
            "hnsw_threshold": self.hnsw_threshold,
            "m": self.m,
            "ef_construction": self.ef_construction,
            "ef_search": self.ef_search,
            "count": len(self),
            "dimension": self.dimension,
        }

    # ---- scoring ------------------------------------------------------------------------------------

    def _query(self, vector: np.ndarray) -> np.ndarray:
        q = np.asarray(vector, dtype=np.float32).reshape(-1)
        if q.shape[0] != self.dimension:
            raise InputError(f"query vector has dimension {q.shape[0]}, the index has {self.dimension}")
        return l2_normalize(q) if self.space_type == "cosinesimil" else q

    def _raw(self, q: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Raw similarity/distance of q to rows, float32: inner product, or squared L2 distance for l2.

        Computed by faiss's single-threaded SIMD kernels (fvec_inner_products_ny, fvec_L2sqr_ny: the ones
        OpenSearch's faiss engine scores with), never by BLAS threads (timings: docs/performance.md).
        """
        import faiss

        rows = np.ascontiguousarray(rows, dtype=np.float32)
        q = np.ascontiguousarray(q, dtype=np.float32)
        out = np.empty(rows.shape[0], dtype=np.float32)
        if rows.shape[0]:
            kernel = faiss.fvec_L2sqr_ny if self.space_type == "l2" else faiss.fvec_inner_products_ny
            kernel(faiss.swig_ptr(out), faiss.swig_ptr(q), faiss.swig_ptr(rows), rows.shape[1], rows.shape[0])
        return out

    def _score(self, raw: np.ndarray) -> np.ndarray:
        return np.asarray(knn_score(raw, self.space_type), dtype=np.float64)

    def scores_for(self, vector: np.ndarray, doc_indices) -> np.ndarray:
        """k-NN scores (the space's OpenSearch score) of the given documents, in the given order."""
        idx = np.asarray(doc_indices, dtype=np.int64)
        q = self._query(vector)
        if len(idx) == 0:
            return np.zeros(0, dtype=np.float64)
        return self._score(self._raw(q, self.vectors[idx]))

    def all_scores(self, vector: np.ndarray) -> np.ndarray:
        """k-NN score of every document (exact), shape (n,)."""
        return self._score(self._raw(self._query(vector), self.vectors))

    # ---- search -------------------------------------------------------------------------------------

    def search(
        self, vector: np.ndarray, k: int | None = None, *, min_score: float | None = None,
        allowed: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k documents (k-NN), or radial: every document scoring ≥ min_score, best first.

        Exactly one of k and min_score (as OpenSearch's radial search). allowed: a filter bitset (bool per
        document): OpenSearch's efficient filtering (see ``filtered_search``). Returns (doc_indices int64,
        scores float64), sorted by score descending, ties by document index ascending.
        """
        validate_knn_limits(k, min_score, None, self.space_type)
        q = self._query(vector)
        if len(self) == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
        if allowed is not None:
            return self.filtered_search(q, k, min_score, allowed)
        if self.uses_hnsw:
            idx = self._hnsw_search(q, k, min_score)
            scores = self._score(self._raw(q, self.vectors[idx])) if len(idx) else np.zeros(0)
        else:
            idx, scores = self._exact_candidates(q, k, min_score)
        if min_score is not None:
            keep = scores >= min_score
            idx, scores = idx[keep], scores[keep]
        if k is not None and len(scores) > k:
            # keep everything tied with the k-th best, so the index tie-break below is exact
            kth = np.partition(scores, len(scores) - k)[len(scores) - k]
            keep = scores >= kth
            idx, scores = idx[keep], scores[keep]
        return _best_first(idx, scores, k)

    # ---- filtered search (OpenSearch k-NN "efficient filtering") ------------------------------------

    def exact_filter_preferred(self, n_allowed: int, k: int | None) -> bool:
        """Whether a filtered search scores the filtered documents exactly instead of walking the graph.

        The k-NN plugin's rule (KNNWeight.isFilteredExactSearchPreferred, "Efficient k-NN filtering"): exact
        when no more documents pass than k (top-k queries), or when the exact search costs no more than
        MAX_DISTANCE_COMPUTATIONS distance terms (n_allowed × dimension ≤ 2,048,000: 5,333 documents at
        384 dimensions); otherwise a filtered HNSW search. An index below ``hnsw_threshold`` is exact anyway.
        """
        if not self.uses_hnsw:
            return True
        if k is not None and n_allowed <= k:
            return True
        return n_allowed * self.dimension <= MAX_DISTANCE_COMPUTATIONS

    def filtered_search(self, q: np.ndarray, k: int | None, min_score: float | None, allowed: np.ndarray
                        ) -> tuple[np.ndarray, np.ndarray]:
        """search() over the documents ``allowed`` lets through (q already prepared by _query).

        Exact over the filtered documents when ``exact_filter_preferred``, else faiss HNSW with an
        IDSelectorBitmap (the filter applied while the graph is walked, as OpenSearch's faiss engine does);
        when that finds fewer than k although at least k documents pass, exact search over them (the plugin's
        isFilteredExactSearchRequireAfterANNSearch) — so k results come back whenever k documents pass."""
        allowed = np.asarray(allowed, dtype=bool)
        if allowed.shape != (len(self),):
            raise ValueError(f"filter bitset has shape {allowed.shape}, expected ({len(self)},)")
        rows = np.flatnonzero(allowed)
        if rows.size == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
        if not self.exact_filter_preferred(rows.size, k):
            idx = self._hnsw_search(q, k, min_score, selector=allowed)
            scores = self._score(self._raw(q, self.vectors[idx])) if len(idx) else np.zeros(0)
            if min_score is not None:
                keep = scores >= min_score
                idx, scores = idx[keep], scores[keep]
            if k is None or len(idx) >= min(k, rows.size):
                return _best_first(idx, scores, k)
        idx, scores = self._exact_candidates(q, k, min_score, rows=rows)
        if min_score is not None:
            keep = scores >= min_score
            idx, scores = idx[keep], scores[keep]
        return _best_first(idx, scores, k)

    def _exact_candidates(self, q: np.ndarray, k: int | None, min_score: float | None,
                          rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Exact search: the documents that can be in the top k (or pass min_score) and their scores.

        The score transform is monotone in the raw value, so the top k are chosen on the float32 raw values
        (ties at the cut kept) and only those are turned into scores. If the transform maps the best
        excluded raw value to the k-th score (float64 rounding of nearly equal raws), every document is
        scored, so ties are still broken by index exactly as on the whole catalog.

        rows: only these documents (ascending indices; a filter), default all. When they are more than a tenth of
        the index, every document is scored and the rows' values taken (streaming all vectors through the
        kernel costs less than gathering a large subset; timings: docs/performance.md)."""
        if rows is None:
            raw = self._raw(q, self.vectors)
        elif rows.size * 10 >= len(self):
            raw = self._raw(q, self.vectors)[rows]
        else:
            raw = self._raw(q, self.vectors[rows])
        ids = np.arange(raw.size, dtype=np.int64) if rows is None else rows.astype(np.int64)
        key = -raw if self.space_type == "l2" else raw  # higher key = higher score
        if k is None:
            pos = np.flatnonzero(self._score(raw) >= min_score)
            return ids[pos], self._score(raw[pos])
        n = key.size
        if n > k:
            kth = np.partition(key, n - k)[n - k]
            keep = key >= kth
            pos = np.flatnonzero(keep)
            scores = self._score(raw[pos])
            below = key[~keep]
            if below.size:
                best_below = below.max()
                kth_score = scores.min()
                if self._score(np.array([-best_below if self.space_type == "l2" else best_below],
                                        dtype=np.float32))[0] >= kth_score:
                    return ids, self._score(raw)
            return ids[pos], scores
        return ids, self._score(raw)

    def _build_hnsw(self):
        return build_hnsw(self.vectors, metric="l2" if self.space_type == "l2" else "inner_product", m=self.m,
                          ef_construction=self.ef_construction)

    def _hnsw_search(self, q: np.ndarray, k: int | None, min_score: float | None,
                     selector: np.ndarray | None = None) -> np.ndarray:
        """Graph search with efSearch = max(ef_search, k), passed per call (faiss SearchParametersHNSW) so the
        shared index is never written and concurrent queries with different k cannot change each other's ef.
        `selector` (bool per row) restricts the walk to the documents a filter passes."""
        import faiss

        params = faiss.SearchParametersHNSW(efSearch=max(self.ef_search, k or 0))
        if selector is not None:  # filtered: faiss skips documents the selector rejects while walking the graph
            bits = np.packbits(selector, bitorder="little")
            sel = faiss.IDSelectorBitmap(len(selector), faiss.swig_ptr(bits))
            params.sel = sel
            params._keep = (bits, sel)  # the bitmap must outlive the call
        if k is not None:
            _, labels = self._hnsw.search(q.reshape(1, -1), min(k, len(self)), params=params)
            labels = labels[0]
            return labels[labels >= 0].astype(np.int64)
        # Radial: faiss range_search keeps ip > radius (inner product) or d² < radius (l2).
        radius = float(raw_from_score(min_score, self.space_type))
        if self.space_type == "l2":
            radius = np.nextafter(radius, np.inf)  # keep d² == radius (score == min_score)
        else:
            radius = np.nextafter(radius, -np.inf)
        _, _, labels = self._hnsw.range_search(q.reshape(1, -1), float(radius), params=params)
        return np.unique(labels.astype(np.int64))

    # ---- persistence --------------------------------------------------------------------------------

    def save(self, directory: str | os.PathLike) -> None:
        """Write vectors.npy, vectors.json and (HNSW) hnsw.faiss into ``directory``."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        np.save(d / VECTORS_FILE, self.vectors, allow_pickle=False)
        (d / PARAMS_FILE).write_text(json.dumps(self.params(), indent=2) + "\n", encoding="utf-8")
        if self.uses_hnsw:
            import faiss

            faiss.write_index(self._hnsw, str(d / HNSW_FILE))

    @classmethod
    def load(cls, directory: str | os.PathLike) -> VectorIndex:
        """Read what save() wrote. InputError naming the file when one is missing or corrupt."""
        d = Path(directory)
        try:
            params = json.loads((d / PARAMS_FILE).read_text(encoding="utf-8"))
            space = params["space_type"]
            opts = {key: int(params[key]) for key in ("hnsw_threshold", "m", "ef_construction", "ef_search")}
        except FileNotFoundError:
            raise InputError("index is missing its vector parameters", path=d / PARAMS_FILE) from None
        except (ValueError, KeyError, TypeError) as e:
            raise InputError(f"corrupt vector parameters ({e})", path=d / PARAMS_FILE) from None
        try:
            vectors = np.load(d / VECTORS_FILE, allow_pickle=False)
        except FileNotFoundError:
            raise InputError("index is missing its vectors", path=d / VECTORS_FILE) from None
        except (OSError, ValueError, EOFError) as e:
            raise InputError(f"corrupt vectors ({e})", path=d / VECTORS_FILE) from None
        if vectors.ndim != 2 or len(vectors) != int(params.get("count", len(vectors))):
            raise InputError(f"vectors have shape {vectors.shape}, expected {params.get('count')} rows",
                             path=d / VECTORS_FILE)
        hnsw = None
        if params.get("method") == "hnsw":
            import faiss

            path = d / HNSW_FILE
            if not path.exists():
                raise InputError("index is missing its HNSW graph", path=path)
            try:
                hnsw = faiss.read_index(str(path))
            except RuntimeError as e:
                raise InputError(f"corrupt HNSW graph ({str(e).splitlines()[0]})", path=path) from None
            if hnsw.ntotal != len(vectors):
                raise InputError(f"HNSW graph holds {hnsw.ntotal} vectors, expected {len(vectors)}", path=path)
        index = cls.__new__(cls)
        index.space_type = space
        index.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        index.hnsw_threshold = opts["hnsw_threshold"]
        index.m, index.ef_construction, index.ef_search = opts["m"], opts["ef_construction"], opts["ef_search"]
        index._hnsw = hnsw
        if index.uses_hnsw != (hnsw is not None):
            raise InputError("vector parameters disagree with the stored HNSW graph", path=d / PARAMS_FILE)
        return index


def _best_first(idx: np.ndarray, scores: np.ndarray, k: int | None) -> tuple[np.ndarray, np.ndarray]:
    """(idx, scores) sorted by score descending, ties by document index ascending; the first k when given."""
    order = np.lexsort((idx, -scores))
    if k is not None:
        order = order[:k]
    return idx[order].astype(np.int64), scores[order]
