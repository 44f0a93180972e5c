"""EmbeddedEngine: the default search backend — one index directory, no server, OpenSearch's scores.

- ``EmbeddedEngine.build(index_dir, products, encoder=...)`` turns a catalog into an index directory
  (mrs.engine.store layout) atomically, reusing cached embeddings of unchanged products.
- ``EmbeddedEngine.open(index_dir)`` serves the SearchBackend protocol (mrs.indexer.backend):
  ``lexical`` (raw BM25, multi_match best_fields over the boosted fields), ``knn`` (k-NN score of the
  index's space_type, top-k or radial min_score), ``hybrid`` (lexical + dense sub-queries combined by a
  search pipeline exactly as OpenSearch's normalization/score-ranker processors do), ``score_documents``
  and ``count``; plus ``search(text, mode, ...)`` which encodes the query with the index's model.

Hybrid = [lexical top ``pagination_depth or k``, knn top ``pagination_depth or k`` (or radial
``knn_min_score``)] → mrs.engine.hybrid.combine(size=k). The order of sub-queries is lexical, dense, as in
the query templates mrs generates, so a pipeline's ``weights`` read [lexical, dense].

Filters (``filter=``: query DSL JSON / dict / list, or a parsed mrs.engine.filters node) are evaluated once
per query into a bitset over the typed attribute columns (mrs.engine.attributes) and applied as OpenSearch
applies them: to the lexical query as a non-scoring ``filter`` clause (scores and BM25 statistics unchanged),
to k-NN as efficient filtering (mrs.engine.vectors.VectorIndex.filtered_search: k results whenever k documents
pass), and in hybrid to every sub-query before normalization (the hybrid query's top-level ``filter``).
``facets`` counts attribute values over the documents a query matches, as a ``terms`` aggregation does.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mrs.data.catalog import Product
from mrs.engine import store
from mrs.engine.attributes import ATTRIBUTES_DIR, AttributeColumns
from mrs.engine.bm25 import MultiFieldBM25
from mrs.engine.build import IndexStats, build_index
from mrs.engine.facets import DEFAULT_FACET_SIZE, facet_counts
from mrs.engine.filters import Node, bind, evaluate, parse_filter
from mrs.engine.hybrid import SubqueryResult, combine
from mrs.engine.manifest import read_manifest
from mrs.engine.retriever import RetrieverSpec
from mrs.engine.retriever_combine import combine_retriever
from mrs.engine.semantics import parse_blend
from mrs.engine.vectors import VectorIndex
from mrs.errors import InputError
from mrs.indexer.backend import MODES, SUBQUERY_DENSE, SUBQUERY_LEXICAL, Hit, search_by_mode
from mrs.indexer.embed import Encoder, check_query_model
from mrs.indexer.encoders import load_encoder
from mrs.models import DEFAULT_MODEL, model_dimension

__all__ = ["MODES", "EmbeddedEngine"]


def _check_query_text(text: str) -> str:
    if text is None or not str(text).strip():
        raise InputError("empty query")
    return str(text)


class EmbeddedEngine:
    """An opened index. Attributes: directory, manifest (dict), ids (list[str]), stored (list of stored
    field dicts), bm25 (MultiFieldBM25), vectors (VectorIndex), attributes (AttributeColumns; empty for an
    index of format version 1, which has none), allow_model_mismatch (open_encoder's default: False refuses a
    query model other than the one the index was built with)."""

    def __init__(self, directory: Path, manifest: dict, ids: list[str], stored: list[dict], bm25, vectors: VectorIndex,
                 attributes: AttributeColumns | None = None):
        self.directory = directory
        self.manifest = manifest
        self.ids = ids
        self.stored = stored
        self.bm25 = bm25
        self.vectors = vectors
        self.attributes = attributes if attributes is not None else AttributeColumns.empty(len(ids))
        self._row_of = {doc_id: i for i, doc_id in enumerate(ids)}
        self.allow_model_mismatch = False

    # ---- building -----------------------------------------------------------------------------------

    @classmethod
    def build(cls, directory: str | os.PathLike, products: Iterable[Product], *, encoder: Encoder,
              **options: Any) -> IndexStats:
        """Index ``products`` into ``directory`` (atomically); see mrs.engine.build.build_index for options."""
        return build_index(directory, products, encoder=encoder, **options)

    # ---- opening ------------------------------------------------------------------------------------

    @classmethod
    def open(cls, directory: str | os.PathLike) -> EmbeddedEngine:
        """Open an index directory. InputError when it is missing, not an index, or corrupt."""
        d = Path(directory)
        store.recover_previous(d)
        manifest = read_manifest(d)
        ids, stored = store.read_documents(d)
        try:
            bm25 = MultiFieldBM25.load(d / store.BM25_DIR)
        except InputError:
            raise
        except Exception as e:  # noqa: BLE001 — any unreadable BM25 file is a corrupt index
            raise InputError(f"corrupt BM25 index ({type(e).__name__}: {e})".splitlines()[0], path=d / store.BM25_DIR) from None
        vectors = VectorIndex.load(d / store.VECTORS_DIR)
        expected = int(manifest["counts"].get("documents", len(ids)))
        if not (len(ids) == len(vectors) == expected):
            raise InputError(f"corrupt index: {len(ids)} documents, {len(vectors)} vectors, manifest says {expected}", path=d)
        dim = int(manifest["model"].get("dimension", vectors.dimension))
        if dim != vectors.dimension:
            raise InputError(f"corrupt index: manifest dimension {dim} ≠ stored vectors {vectors.dimension}", path=d)
        attributes = (AttributeColumns.load(d / ATTRIBUTES_DIR, len(ids)) if int(manifest["format_version"]) >= 2
                      else AttributeColumns.empty(len(ids)))
        return cls(d, manifest, ids, stored, bm25, vectors, attributes)

    @property
    def space_type(self) -> str:
        return self.vectors.space_type

    @property
    def dimension(self) -> int:
        return self.vectors.dimension

    def count(self) -> int:
        return len(self.ids)

    def doc_positions(self, ids: Sequence[str]) -> list[int | None]:
        """Each product's position in the index (its Lucene doc id: the order hybrid ties follow), None when
        the id is not indexed."""
        return [self._row_of.get(doc_id) for doc_id in ids]

    def open_encoder(self, model: str | os.PathLike | None = None, *, batch_size: int = 32,
                     device: str | None = "cpu", allow_model_mismatch: bool | None = None) -> Encoder:
        """The encoder for queries: ``model`` when given, else the model the manifest names (the packaged
        default by name, other models by path). InputError when its dimension ≠ the index's (checked from
        the model's configs before loading it) or it is not the model the index was built with
        (mrs.indexer.embed.check_query_model; allow_model_mismatch, default ``self.allow_model_mismatch``,
        accepts that)."""
        if model is None:
            identity = self.manifest["model"]
            model = None if identity.get("name") == DEFAULT_MODEL else identity.get("path")
        dim = model_dimension(model)  # a wrong length is refused before any load or ONNX export
        if dim is not None and dim != self.dimension:
            raise InputError(f"query model {str(model or DEFAULT_MODEL)!r} makes {dim}-dimensional vectors, the index "
                             f"holds {self.dimension}-dimensional ones (index built with "
                             f"{self.manifest['model'].get('name')!r})", path=self.directory)
        encoder = load_encoder(model, space_type=self.space_type, batch_size=batch_size, device=device,
                               backend=self.manifest.get("encoder", {}).get("backend", "torch"))
        allow = self.allow_model_mismatch if allow_model_mismatch is None else allow_model_mismatch
        check_query_model(encoder, self.manifest["model"], self.dimension, str(self.directory),
                          allow_model_mismatch=allow)
        return encoder

    def check_encoder(self, encoder: Encoder) -> None:
        """InputError when the encoder's vector dimension differs from the index's."""
        if encoder.dimension != self.dimension:
            raise InputError(
                f"query model {encoder.identity.get('name')!r} makes {encoder.dimension}-dimensional vectors, "
                f"the index holds {self.dimension}-dimensional ones (index built with "
                f"{self.manifest['model'].get('name')!r})",
                path=self.directory,
            )

    # ---- filters ------------------------------------------------------------------------------------

    def parse_filter(self, filter: Any) -> Node | None:
        """A filter (query DSL JSON text, dict, list of clauses, or a parsed node) checked against this
        index's typed attributes. InputError naming the clause or field when it does not fit."""
        node = parse_filter(filter)
        if node is not None and not self.attributes.types and int(self.manifest["format_version"]) < 2:
            raise InputError("this index has no typed attributes (built by an older mrs); rebuild it with "
                             "`mrs index catalog` to filter", path=self.directory)
        return bind(node, self.attributes.fields)

    def filter_mask(self, filter: Any) -> np.ndarray | None:
        """The bitset (bool per document, index order) of a filter, None when there is none."""
        if isinstance(filter, np.ndarray):
            return filter
        return evaluate(self.parse_filter(filter), self.attributes)

    def passing(self, filter: Any, ids: Sequence[str]) -> dict[str, bool]:
        """{id: whether the filter accepts it} for the given ids (ids not in the index: False)."""
        mask = self.filter_mask(filter)
        rows = {i: self._row_of.get(i) for i in ids}
        return {i: r is not None and (mask is None or bool(mask[r])) for i, r in rows.items()}

    # ---- SearchBackend ------------------------------------------------------------------------------

    def _hit(self, row: int, score: float, lexical: float | None, dense: float | None, with_source: bool) -> Hit:
        return Hit(
            id=self.ids[row],
            score=float(score),
            scores={SUBQUERY_LEXICAL: lexical, SUBQUERY_DENSE: dense},
            source=self.stored[row] if with_source else None,
        )

    def lexical(self, text: str, k: int, *, filter: Any = None, with_source: bool = False) -> list[Hit]:
        """Top-k by BM25 (raw OpenSearch multi_match best_fields score); only documents a term matched and
        the filter (non-scoring) accepts."""
        _check_query_text(text)
        if k < 1:
            raise InputError(f"k must be ≥ 1 (got {k})")
        rows, scores = self.bm25.search(text, k, allowed=self.filter_mask(filter))
        return [self._hit(int(r), s, float(s), None, with_source) for r, s in zip(rows, scores, strict=True)]

    def knn(self, vector: np.ndarray, k: int | None = None, min_score: float | None = None, *,
            filter: Any = None, with_source: bool = False) -> list[Hit]:
        """Top-k, or radial (every document with k-NN score ≥ min_score), by the index's space score; with a
        filter, among the documents it accepts (efficient filtering: k hits whenever k documents pass)."""
        rows, scores = self.vectors.search(vector, k, min_score=min_score, allowed=self.filter_mask(filter))
        return [self._hit(int(r), s, None, float(s), with_source) for r, s in zip(rows, scores, strict=True)]

    def hybrid(
        self,
        text: str,
        vector: np.ndarray,
        k: int,
        pipeline: Any = None,
        *,
        semantics: str | None = None,
        pagination_depth: int | None = None,
        knn_min_score: float | None = None,
        min_score: float | None = None,
        filter: Any = None,
        with_source: bool = False,
    ) -> list[Hit]:
        """Hybrid query: lexical + dense sub-queries combined by ``pipeline``; ``filter`` applies to both
        sub-queries before normalization (the hybrid query's top-level filter).

        pipeline: an OpenSearch search pipeline (HybridPipeline or its JSON body) or an Elasticsearch
        linear/rrf retriever (RetrieverSpec or its JSON body; rank_window_size replaces pagination_depth and
        min_score), or None for the default (min_max + arithmetic_mean, weights 0.7 lexical / 0.3 dense).
        semantics: opensearch | elasticsearch, the target whose format a JSON body is in and whose
        combination runs (None: the body's own format, mrs.engine.semantics.parse_blend). Each sub-query
        returns ``pagination_depth or k`` candidates (the dense one: all with score ≥ ``knn_min_score`` when
        given); ``min_score`` filters the combined score. Hit.scores: raw sub-query scores (None when the
        document was not among that sub-query's candidates); Hit.normalized: the normalized sub-scores.
        """
        _check_query_text(text)
        if k < 1:
            raise InputError(f"k must be ≥ 1 (got {k})")
        blend = parse_blend(pipeline, semantics)
        allowed = self.filter_mask(filter)
        if isinstance(blend, RetrieverSpec):  # Elasticsearch's linear / rrf retriever
            subresults = self._subqueries(text, vector, blend.rank_window_size, knn_min_score, allowed, blend.kinds())
            combined = combine_retriever({s.name: (s.ids, s.scores, s.doc_ids) for s in subresults}, blend, k)
        else:  # OpenSearch's normalization-processor / score-ranker-processor
            subresults = self._subqueries(text, vector, pagination_depth or k, knn_min_score, allowed,
                                          [SUBQUERY_LEXICAL, SUBQUERY_DENSE])
            combined = combine(subresults, blend, size=k, pagination_depth=pagination_depth, min_score=min_score)
        names = [s.name for s in subresults]
        return [Hit(id=c.id, score=float(c.score), scores={name: _opt_float(c.raw.get(name)) for name in names},
                    normalized={name: _opt_float(c.normalized.get(name)) for name in names},
                    source=self.stored[self._row_of[c.id]] if with_source else None)
                for c in combined]

    def _subqueries(self, text: str, vector: np.ndarray, depth: int, knn_min_score: float | None, allowed,
                    names: Sequence[str]) -> list[SubqueryResult]:
        """The hybrid sub-queries ``names`` (lexical: BM25 top ``depth``; dense: k-NN top ``depth``, or every
        document with k-NN score ≥ ``knn_min_score``), each restricted to ``allowed``, with their doc ids."""
        out = []
        for name in names:
            if name == SUBQUERY_LEXICAL:
                rows, scores = self.bm25.search(text, depth, allowed=allowed)
            elif knn_min_score is not None:
                rows, scores = self.vectors.search(vector, min_score=knn_min_score, allowed=allowed)
            else:
                rows, scores = self.vectors.search(vector, depth, allowed=allowed)
            out.append(SubqueryResult(name, [self.ids[int(r)] for r in rows], [float(s) for s in scores],
                                      doc_ids=rows))
        return out

    def score_documents(self, text: str, vector: np.ndarray | None,
                        ids: Sequence[str]) -> dict[str, dict[str, float | None]]:
        """Raw scores of the given documents for one query, retrieved or not:
        {id: {"lexical": BM25 (None when no query term matched the document), "dense": k-NN score (None when
        ``vector`` is None: lexical-only work needs no encoder)}}. Ids not in the index get None for both."""
        _check_query_text(text)
        lex_all, matched = self.bm25.score(text)
        rows = [self._row_of.get(i) for i in ids]
        known = [r for r in rows if r is not None]
        dense = ({} if vector is None else
                 dict(zip(known, self.vectors.scores_for(vector, known).tolist(), strict=True)))
        out: dict[str, dict[str, float | None]] = {}
        for doc_id, row in zip(ids, rows, strict=True):
            if row is None:
                out[doc_id] = {SUBQUERY_LEXICAL: None, SUBQUERY_DENSE: None}
            else:
                lex = float(lex_all[row]) if bool(matched[row]) else None
                out[doc_id] = {SUBQUERY_LEXICAL: lex, SUBQUERY_DENSE: float(dense[row]) if dense else None}
        return out

    # ---- convenience --------------------------------------------------------------------------------

    def search(
        self,
        text: str,
        mode: str = "hybrid",
        k: int = 10,
        min_score: float | None = None,
        pipeline: Any = None,
        encoder: Encoder | None = None,
        *,
        pagination_depth: int | None = None,
        filter: Any = None,
        with_source: bool = True,
    ) -> list[Hit]:
        """One query end to end: encode it (dense/hybrid; with ``encoder`` or the index's model) and search.

        mode: lexical | dense | hybrid. min_score: radial k-NN on the dense side (dense and hybrid modes).
        filter: query DSL filter (see the module doc), applied to every sub-query.
        """
        def encode_query(query: str) -> np.ndarray:
            if encoder is None:
                return self.open_encoder().encode_query(query)
            self.check_encoder(encoder)
            return encoder.encode_query(query)

        return search_by_mode(self, text, mode, k, encode_query=encode_query, min_score=min_score, pipeline=pipeline,
                              filter=filter, hybrid_options={"pagination_depth": pagination_depth},
                              hit_options={"with_source": with_source})

    def matched_documents(self, text: str, mode: str, vector: np.ndarray | None = None, *, k: int = 10,
                          min_score: float | None = None, pagination_depth: int | None = None,
                          filter: Any = None) -> np.ndarray:
        """The documents a query matches (bool per document), the set a cluster aggregates over: lexical —
        every document a query term matched; dense — the k-NN query's k hits (radial: all ≥ min_score);
        hybrid — the union of both sub-queries' matches (dense: its ``pagination_depth or k`` candidates);
        always within the filter."""
        allowed = self.filter_mask(filter)
        matched = np.zeros(self.count(), dtype=bool)
        if mode in ("lexical", "hybrid"):
            rows, _ = self.bm25.score_matched(_check_query_text(text))
            matched[rows] = True
            if allowed is not None:
                matched &= allowed
        if mode in ("dense", "hybrid"):
            if vector is None:
                raise InputError(f"{mode} facets need the query vector")
            depth = k if mode == "dense" else (pagination_depth or k)
            rows, _ = self.vectors.search(vector, None if min_score is not None else depth, min_score=min_score,
                                          allowed=allowed)
            matched[rows] = True
        return matched

    def facets(self, matched: np.ndarray, fields: Sequence[str], size: int = DEFAULT_FACET_SIZE) -> dict[str, dict]:
        """Terms-aggregation counts of ``fields`` over ``matched`` (see mrs.engine.facets.facet_counts)."""
        return facet_counts(self.attributes, matched, fields, size)


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)
