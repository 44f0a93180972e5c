"""Elasticsearch's ``linear`` and ``rrf`` retrievers over sub-query candidate lists: the combination an
Elasticsearch cluster runs for a deployed hybrid search, reproduced so the embedded engine ranks offline as
the cluster does.

- ``linear``: score(d) = Σᵢ weightᵢ · normᵢ(d) over the sub-retrievers that returned d (a weighted SUM, no
  denominator), normᵢ the sub-retriever's normalizer (minmax, l2_norm or none) over its top
  ``rank_window_size``; ``min_score`` drops combined scores below it.
- ``rrf``: score(d) = Σᵢ weightᵢ · 1/(rank_constant + rankᵢ(d)), float arithmetic, rank from 1 within each
  sub-retriever's top ``rank_window_size``.
- Ties: score desc, then the lower Lucene doc id (RankDoc's order), i.e. index order; lists without doc ids
  (read back from a cluster) break ties by product id. At most min(size, rank_window_size) hits.

The formulas are the registry's Elasticsearch functions (mrs.engine.techniques: min_max, l2, none,
arithmetic_mean as the linear retriever, rrf); the normalize-then-combine steps are mrs.engine.hybrid.fuse, the
same code OpenSearch's semantics run through. References: Elasticsearch "Linear retriever" / "RRF retriever"
and x-pack rank-rrf LinearRetrieverBuilder.combineInnerRetrieverResults, RRFRetrieverBuilder.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from mrs.engine import techniques
from mrs.engine.hybrid import CombinedHit, SubqueryResult, check_positive_int, fuse
from mrs.engine.retriever import LINEAR, RetrieverSpec
from mrs.engine.techniques import DEFAULT_COMBINATION, ELASTICSEARCH, NORMALIZATION, RRF
from mrs.errors import InputError


def _normalizers(spec: RetrieverSpec) -> list:
    """One Elasticsearch normalizer per sub-retriever: its named normalizer (linear) or the rank scores (rrf)."""
    if spec.method == LINEAR:
        return [techniques.named_on(ELASTICSEARCH, s.normalizer, NORMALIZATION).targets[ELASTICSEARCH].normalize
                for s in spec.subretrievers]
    rank_scores = techniques.normalizer(RRF, ELASTICSEARCH)
    return [lambda scores: rank_scores(scores.size, spec.rank_constant)] * len(spec.subretrievers)


def combine_retriever(results: Mapping[str, Sequence], spec: RetrieverSpec, size: int) -> list[CombinedHit]:
    """Combine sub-query results as the ``linear`` / ``rrf`` retriever does (module doc).

    results: {"lexical": (ids, raw scores[, doc ids]), "dense": (...)} — each sub-query's candidates, any order;
    doc ids (index positions) make ties follow index order, as on a cluster (else product id order).
    size: hits returned (≤ rank_window_size, as Elasticsearch requires). Returns CombinedHit list, best first.
    """
    spec.validate()
    check_positive_int(size, "size")
    if int(size) > spec.rank_window_size:
        raise InputError(f"[rank_window_size] ({spec.rank_window_size}) must be greater than or equal to [size] "
                         f"({size})")
    subresults = []
    for sub in spec.subretrievers:
        if sub.kind not in results:
            raise InputError(f"no results for sub-retriever {sub.kind!r}")
        ids, scores, *doc_ids = results[sub.kind]
        subresults.append(SubqueryResult(sub.kind, [str(i) for i in ids], scores, doc_ids[0] if doc_ids else None))
    kernel = techniques.combiner(DEFAULT_COMBINATION if spec.method == LINEAR else RRF, ELASTICSEARCH)
    min_score = spec.min_score if spec.method == LINEAR else None
    return fuse(subresults, _normalizers(spec), kernel, [s.weight for s in spec.subretrievers], int(size),
                int(spec.rank_window_size), min_score)
