"""How close is Elasticsearch's linear retriever to OpenSearch's normalization pipeline with the same blend?

For each judged query of an embedded index, ranks with (a) the OpenSearch pipeline min_max + arithmetic_mean
(weights w / 1 − w) and (b) the Elasticsearch linear retriever minmax with the same weights, both through the
embedded engine (mrs.engine.hybrid / mrs.engine.retriever_combine), and prints: queries whose top-10 / top-k
order differs, mean top-k overlap, the largest score difference among shared documents, and the median time of
each combination per query. Also l2 vs l2_norm, and OpenSearch RRF vs Elasticsearch rrf.

Usage:
  python benchmarks/es_linear_bench.py --index demo/index --judgments demo/judgments.tsv [--k 100] [--weight 0.7]
"""

from __future__ import annotations

import argparse
import statistics
import time

from rich.console import Console
from rich.table import Table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", required=True)
    ap.add_argument("--judgments", required=True)
    ap.add_argument("--k", type=int, default=100)
    ap.add_argument("--weight", type=float, default=0.7, help="lexical weight (dense gets 1 − w)")
    args = ap.parse_args()

    from mrs.data.readers import read_judgments
    from mrs.engine.engine import EmbeddedEngine

    engine = EmbeddedEngine.open(args.index)
    encoder = engine.open_encoder()
    judgments = read_judgments(args.judgments)
    texts = judgments.queries()  # {query id: query text}
    queries = list(texts)
    w = args.weight
    pairs = {
        "min_max ↔ minmax": (_os(["min_max", "arithmetic_mean", w]), _es("linear", "minmax", w, args.k)),
        "l2 ↔ l2_norm": (_os(["l2", "arithmetic_mean", w]), _es("linear", "l2_norm", w, args.k)),
        "rrf ↔ rrf": ({"phase_results_processors": [{"score-ranker-processor": {
            "combination": {"technique": "rrf", "rank_constant": 60}}}]}, _es("rrf", None, w, args.k)),
    }
    vectors = {q: encoder.encode_query(texts[q]) for q in queries}
    table = Table(title=f"{len(queries)} queries · k {args.k} · weights {w:g}/{1 - w:g}", title_justify="left")
    for col in ("OpenSearch ↔ Elasticsearch", "top-10 differs", f"top-{args.k} order differs",
                f"mean top-{args.k} overlap", "max |Δscore| shared", "ms OpenSearch", "ms Elasticsearch"):
        table.add_column(col, justify="left" if col.startswith("Open") else "right")
    for name, (os_body, es_body) in pairs.items():
        diff10 = diffk = 0
        overlaps, deltas, t_os, t_es = [], [0.0], [], []
        for q in queries:
            t0 = time.perf_counter()
            a = engine.hybrid(texts[q], vectors[q], args.k, os_body, pagination_depth=args.k)
            t1 = time.perf_counter()
            b = engine.hybrid(texts[q], vectors[q], args.k, es_body)
            t2 = time.perf_counter()
            t_os.append((t1 - t0) * 1000)
            t_es.append((t2 - t1) * 1000)
            ida, idb = [h.id for h in a], [h.id for h in b]
            diff10 += ida[:10] != idb[:10]
            diffk += ida != idb
            overlaps.append(len(set(ida) & set(idb)) / max(1, len(ida)))
            sa, sb = {h.id: h.score for h in a}, {h.id: h.score for h in b}
            deltas.extend(abs(sa[d] - sb[d]) for d in set(sa) & set(sb))
        table.add_row(name, str(diff10), str(diffk), f"{statistics.mean(overlaps):.4f}", f"{max(deltas):.4f}",
                      f"{statistics.median(t_os):.2f}", f"{statistics.median(t_es):.2f}")
    Console().print(table)


def _os(spec) -> dict:
    technique, combination, w = spec
    return {"phase_results_processors": [{"normalization-processor": {
        "normalization": {"technique": technique},
        "combination": {"technique": combination, "parameters": {"weights": [w, round(1 - w, 6)]}}}}]}


def _es(method: str, normalizer: str | None, w: float, window: int) -> dict:
    if method == "rrf":
        return {"rrf": {"retrievers": ["lexical", "dense"], "rank_constant": 60, "rank_window_size": window}}
    return {"linear": {"retrievers": [{"retriever": "lexical", "weight": w, "normalizer": normalizer},
                                      {"retriever": "dense", "weight": round(1 - w, 6), "normalizer": normalizer}],
                       "rank_window_size": window}}


if __name__ == "__main__":
    main()
