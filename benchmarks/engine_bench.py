"""Benchmark the embedded engine on the ESCI subset (the data path is an argument; nothing is copied).

Measures, on <data>/esci/esci_us_products.jsonl with the queries of <data>/esci/esci_us_qrels.tsv:
1. index: `EmbeddedEngine.build` wall time, embedding docs/s (embed stage only), and a cached re-index;
2. query latency p50/p95 (ms) per mode (lexical, dense, hybrid), with the query embedding included
   (what `mrs search` pays) and without it (vector given, what eval/calibrate pay per query);
3. HNSW (faiss, m 16, ef_construction 100, ef_search 100, forced with hnsw_threshold 0) recall@10 against
   exact search, and its k-NN latency;
4. bm25s (method="lucene") vs rank-bm25 (BM25Okapi) vs mrs's MultiFieldBM25 on one concatenated text field
   with the same tokens (OpenSearch standard analyzer): build time, per-query latency, top-10 overlap.

Usage:
  .venv/bin/python benchmarks/engine_bench.py --data /work/shared/data --out /tmp/engine_bench.json
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from mrs.data.readers import read_catalog  # noqa: E402
from mrs.data.text import field_text  # noqa: E402
from mrs.engine.analysis import Analyzer  # noqa: E402
from mrs.engine.bm25 import MultiFieldBM25  # noqa: E402
from mrs.engine.engine import EmbeddedEngine  # noqa: E402
from mrs.engine.vectors import VectorIndex  # noqa: E402
from mrs.indexer.embed import Encoder  # noqa: E402

TEXT_FIELDS = ("title", "brand", "color", "category", "bullet_points", "description")


def percentiles(ms: list[float]) -> dict[str, float]:
    arr = np.asarray(ms, dtype=np.float64)
    return {"p50_ms": round(float(np.percentile(arr, 50)), 3), "p95_ms": round(float(np.percentile(arr, 95)), 3),
            "mean_ms": round(float(arr.mean()), 3)}


def timed(fn, *args, **kwargs) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return (time.perf_counter() - start) * 1000.0, out


def load_queries(qrels: Path) -> list[str]:
    with qrels.open(encoding="utf-8") as fh:
        seen: dict[str, None] = {}
        for row in csv.DictReader(fh, delimiter="\t"):
            seen.setdefault(row["query"], None)
    return list(seen)


def bench_index(products, encoder: Encoder, work: Path) -> dict:
    stages: dict[str, list[float]] = {}

    def on_progress(stage, done, total):
        now = time.perf_counter()
        stages.setdefault(stage, [now, now])[1] = now

    index_dir = work / "esci-index"
    stats = EmbeddedEngine.build(index_dir, products, encoder=encoder, on_progress=on_progress)
    embed_s = stages["embed"][1] - stages["embed"][0]
    cached = EmbeddedEngine.build(index_dir, products, encoder=encoder)
    return {
        "documents": stats.documents,
        "index_wall_s": stats.seconds,
        "embedded": stats.embedded,
        "embed_s": round(embed_s, 3),
        "embed_docs_per_s": round(stats.embedded / embed_s, 1) if embed_s else None,
        "bm25_build_s": round(stages["bm25"][1] - stages["bm25"][0], 3),
        "write_s": round(stages["write"][1] - stages["write"][0], 3),
        "reindex_cached_wall_s": cached.seconds,
        "reindex_embedded": cached.embedded,
        "index_dir": str(index_dir),
    }


def bench_latency(engine: EmbeddedEngine, encoder: Encoder, queries: list[str], k: int = 10) -> dict:
    vectors = {q: encoder.encode_query(q) for q in queries}  # also warms the model
    for q in queries[:5]:
        engine.search(q, "hybrid", k, encoder=encoder)
    out: dict[str, dict] = {}
    for mode in ("lexical", "dense", "hybrid"):
        with_embed, without = [], []
        for q in queries:
            ms, _ = timed(engine.search, q, mode, k, encoder=encoder, with_source=False)
            with_embed.append(ms)
            if mode == "lexical":
                ms, _ = timed(engine.lexical, q, k)
            elif mode == "dense":
                ms, _ = timed(engine.knn, vectors[q], k)
            else:
                ms, _ = timed(engine.hybrid, q, vectors[q], k)
            without.append(ms)
        out[mode] = {"with_query_embedding": percentiles(with_embed), "without_query_embedding": percentiles(without)}
    embed_ms = [timed(encoder.encode_query, q)[0] for q in queries]
    out["query_embedding_only"] = percentiles(embed_ms)
    return out


def bench_hnsw(engine: EmbeddedEngine, query_vectors: list[np.ndarray], k: int = 10) -> dict:
    exact = engine.vectors
    build_ms, hnsw = timed(VectorIndex, exact.vectors, exact.space_type, hnsw_threshold=0)
    recalls, exact_ms, hnsw_ms = [], [], []
    for v in query_vectors:
        ms_e, (e_rows, _) = timed(exact.search, v, k)
        ms_h, (h_rows, _) = timed(hnsw.search, v, k)
        exact_ms.append(ms_e)
        hnsw_ms.append(ms_h)
        recalls.append(len(set(e_rows.tolist()) & set(h_rows.tolist())) / k)
    return {
        "recall_at_10": round(float(np.mean(recalls)), 4),
        "min_recall_at_10": round(float(np.min(recalls)), 4),
        "hnsw_build_s": round(build_ms / 1000, 3),
        "exact_knn": percentiles(exact_ms),
        "hnsw_knn": percentiles(hnsw_ms),
        "params": {k_: v for k_, v in hnsw.params().items() if k_ in ("m", "ef_construction", "ef_search")},
    }


def _top10(scores: np.ndarray, matched: np.ndarray, k: int = 10) -> list[int]:
    cand = np.flatnonzero(matched)
    order = np.lexsort((cand, -scores[cand].astype(np.float64)))[:k]
    return cand[order].tolist()


def bench_bm25_libraries(products, queries: list[str]) -> dict:
    import bm25s
    from rank_bm25 import BM25Okapi

    analyzer = Analyzer("standard")
    texts = [" ".join(field_text(p.get(f)) for f in TEXT_FIELDS) for p in products]
    corpus = [analyzer.tokens(t) for t in texts]
    term_sets = [set(toks) for toks in corpus]
    q_tokens = [analyzer.tokens(q) for q in queries]

    res: dict[str, dict] = {}
    build_ms, mrs_bm = timed(lambda: MultiFieldBM25({"text": 1.0}, analyzer).build([{"text": t} for t in texts]))
    res["mrs MultiFieldBM25"] = {"build_s": round(build_ms / 1000, 3)}
    build_ms, bm_s = timed(lambda: _bm25s_index(bm25s, corpus))
    res["bm25s lucene"] = {"build_s": round(build_ms / 1000, 3)}
    build_ms, okapi = timed(BM25Okapi, corpus, k1=1.2, b=0.75)
    res["rank-bm25 Okapi"] = {"build_s": round(build_ms / 1000, 3)}

    lat = {name: [] for name in res}
    tops: dict[str, list[list[int]]] = {name: [] for name in res}
    for q, toks in zip(queries, q_tokens, strict=True):
        matched = np.array([bool(s.intersection(toks)) for s in term_sets])
        ms, _ = timed(mrs_bm.search, q, 10)
        lat["mrs MultiFieldBM25"].append(ms)
        tops["mrs MultiFieldBM25"].append(_top10(*mrs_bm.score(q)))
        ms, _ = timed(bm_s.retrieve, [toks], k=10, show_progress=False, n_threads=1)
        lat["bm25s lucene"].append(ms)
        tops["bm25s lucene"].append(_top10(np.asarray(bm_s.get_scores(toks)), matched))

        def okapi_top(toks=toks):
            s = okapi.get_scores(toks)
            return np.argpartition(-s, 10)[:10]

        ms, _ = timed(okapi_top)
        lat["rank-bm25 Okapi"].append(ms)
        tops["rank-bm25 Okapi"].append(_top10(np.asarray(okapi.get_scores(toks)), matched))
    for name in res:
        res[name]["query"] = percentiles(lat[name])

    def overlap(a: str, b: str) -> float:
        vals = [len(set(x) & set(y)) / max(len(x), len(y), 1) for x, y in zip(tops[a], tops[b], strict=True)]
        return round(float(np.mean(vals)), 4)

    res["top10_overlap"] = {
        "bm25s vs rank-bm25": overlap("bm25s lucene", "rank-bm25 Okapi"),
        "bm25s vs mrs": overlap("bm25s lucene", "mrs MultiFieldBM25"),
        "rank-bm25 vs mrs": overlap("rank-bm25 Okapi", "mrs MultiFieldBM25"),
    }
    res["corpus"] = {"documents": len(corpus), "mean_tokens": round(statistics.mean(len(c) for c in corpus), 1)}
    return res


def _bm25s_index(bm25s, corpus):
    retriever = bm25s.BM25(method="lucene", k1=1.2, b=0.75)
    retriever.index(corpus, show_progress=False)
    return retriever


def print_table(result: dict) -> None:
    ix = result["index"]
    print(f"\n## Index ({ix['documents']} ESCI products, {result['machine']})")
    print("| metric | value |\n|---|---|")
    for key in ("index_wall_s", "embedded", "embed_s", "embed_docs_per_s", "bm25_build_s", "write_s",
                "reindex_cached_wall_s", "reindex_embedded"):
        print(f"| {key} | {ix[key]} |")
    print(f"\n## Query latency, k=10, {result['n_queries']} queries (ms)")
    print("| mode | p50 with embedding | p95 with embedding | p50 without | p95 without |\n|---|---|---|---|---|")
    for mode in ("lexical", "dense", "hybrid"):
        w, wo = result["latency"][mode]["with_query_embedding"], result["latency"][mode]["without_query_embedding"]
        print(f"| {mode} | {w['p50_ms']} | {w['p95_ms']} | {wo['p50_ms']} | {wo['p95_ms']} |")
    qe = result["latency"]["query_embedding_only"]
    print(f"| (query embedding alone) | {qe['p50_ms']} | {qe['p95_ms']} | | |")
    h = result["hnsw"]
    print(f"\n## HNSW vs exact: recall@10 {h['recall_at_10']} (min {h['min_recall_at_10']}), build {h['hnsw_build_s']} s, "
          f"knn p50 exact {h['exact_knn']['p50_ms']} ms / hnsw {h['hnsw_knn']['p50_ms']} ms")
    b = result["bm25_libraries"]
    print(f"\n## BM25 libraries, one concatenated field ({b['corpus']['documents']} docs, "
          f"{b['corpus']['mean_tokens']} tokens/doc)")
    print("| library | build s | query p50 ms | query p95 ms |\n|---|---|---|---|")
    for name in ("mrs MultiFieldBM25", "bm25s lucene", "rank-bm25 Okapi"):
        print(f"| {name} | {b[name]['build_s']} | {b[name]['query']['p50_ms']} | {b[name]['query']['p95_ms']} |")
    print("top-10 overlap: " + ", ".join(f"{k} {v}" for k, v in b["top10_overlap"].items()))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, type=Path, help="shared data directory (holds esci/)")
    ap.add_argument("--out", type=Path, default=Path("engine_bench.json"), help="JSON results file")
    ap.add_argument("--work", type=Path, default=None, help="where to build the index (default: a temp dir)")
    ap.add_argument("--queries", type=int, default=100, help="number of queries to time (≤ 100)")
    ap.add_argument("--products", type=int, default=None, help="index only the first N products (smoke runs)")
    ap.add_argument("--threads", type=int, default=None,
                    help="torch and BLAS threads (default: the libraries' own; 1 is faster on a busy shared box)")
    args = ap.parse_args(argv)

    if args.threads:
        import torch
        from threadpoolctl import threadpool_limits

        torch.set_num_threads(args.threads)
        threadpool_limits(args.threads)
    catalog = args.data / "esci" / "esci_us_products.jsonl"
    qrels = args.data / "esci" / "esci_us_qrels.tsv"
    products = list(read_catalog(catalog))[: args.products]
    queries = load_queries(qrels)[: args.queries]
    encoder = Encoder.load(None)
    with tempfile.TemporaryDirectory(prefix="mrs-engine-bench-") as tmp:
        work = args.work or Path(tmp)
        result: dict = {"machine": f"{os.cpu_count()} CPU cores, threads {args.threads or 'default'}",
                        "n_queries": len(queries), "load_average_at_start": os.getloadavg()[0]}
        print("indexing ...", file=sys.stderr)
        result["index"] = bench_index(products, encoder, work)
        engine = EmbeddedEngine.open(result["index"]["index_dir"])
        print("query latency ...", file=sys.stderr)
        result["latency"] = bench_latency(engine, encoder, queries)
        print("hnsw ...", file=sys.stderr)
        result["hnsw"] = bench_hnsw(engine, [encoder.encode_query(q) for q in queries])
        print("bm25 libraries ...", file=sys.stderr)
        result["bm25_libraries"] = bench_bm25_libraries(products, queries)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print_table(result)
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
