"""Scale figures for the embedded engine on synthetic catalogs of 100k and 1M documents.

Each document is a generated product title (Zipf-distributed words from a fixed vocabulary of pseudo-words,
brands, colours and product nouns) with a random unit vector of the model's dimension (384): encoding a
million texts is not what this measures. For each size, side by side in one process:

- vectors: HNSW (faiss, OpenSearch's defaults m 16, ef_construction 100, ef_search 100) build time and
  recall@10 against exact search, for two query sets: "near" (a document's vector plus noise, cos ≈ 0.9 to
  it: a query that has a true neighbour, as real queries do) and "random" (random unit vectors: the worst
  case for any graph index, every neighbour nearly equidistant); k-NN latency exact vs HNSW;
- lexical: mrs MultiFieldBM25 build time and query latency over the title field, next to bm25s
  (method="lucene") and rank-bm25 (BM25Okapi; skipped above --rank-bm25-max documents: it scores every
  document in Python per query term, minutes per build at 1M);
- hybrid: EmbeddedEngine.hybrid (BM25 top 10 + HNSW top 10, min_max + arithmetic_mean 0.7/0.3, exactly the
  query `mrs search` runs) p50/p95 excluding query encoding;
- memory growth: process RSS after each structure is built, minus before (psutil).

Usage:
  .venv/bin/python benchmarks/scale_bench.py --sizes 100000 1000000 --out /tmp/scale.json
  .venv/bin/python benchmarks/scale_bench.py --sizes 20000 --queries 50            # smoke run
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from engine_bench import percentiles, timed  # noqa: E402

from mrs.engine.analysis import Analyzer  # noqa: E402
from mrs.engine.bm25 import MultiFieldBM25  # noqa: E402
from mrs.engine.engine import EmbeddedEngine  # noqa: E402
from mrs.engine.vectors import VectorIndex  # noqa: E402

DIMENSION = 384  # all-MiniLM-L6-v2
_SYLLABLES = ("ka", "lo", "mi", "ra", "ten", "vo", "su", "pel", "dor", "an", "qui", "zo", "bex", "ri", "tam", "ul")
_BRANDS = ("acme", "northwind", "contoso", "fabrikam", "globex", "initech", "umbrella", "hooli", "vandelay",
           "wonka", "stark", "wayne", "tyrell", "cyberdyne", "oscorp", "soylent")
_COLORS = ("black", "white", "red", "blue", "green", "grey", "silver", "gold", "pink", "navy", "beige", "brown")
_NOUNS = ("shirt", "jeans", "mattress", "lamp", "kettle", "mouse", "keyboard", "chair", "desk", "sofa", "rug",
          "headphones", "charger", "cable", "backpack", "bottle", "mug", "knife", "pan", "towel", "pillow",
          "blanket", "sneakers", "boots", "jacket", "watch", "wallet", "case", "speaker", "monitor")


def vocabulary(size: int = 20_000, seed: int = 7) -> list[str]:
    """``size`` distinct pseudo-words (2–4 syllables) plus the brand, colour and noun words."""
    rng = np.random.default_rng(seed)
    words: dict[str, None] = {w: None for w in (*_BRANDS, *_COLORS, *_NOUNS)}
    while len(words) < size:
        n = int(rng.integers(2, 5))
        words.setdefault("".join(_SYLLABLES[i] for i in rng.integers(0, len(_SYLLABLES), n)), None)
    return list(words)


def synthetic_titles(n: int, seed: int = 0, vocab: list[str] | None = None) -> list[str]:
    """``n`` product titles: brand + 3–10 Zipf(1.1)-drawn words + colour + noun (≈ 8–14 tokens)."""
    vocab = vocab or vocabulary()
    rng = np.random.default_rng(seed)
    ranks = np.arange(1, len(vocab) + 1, dtype=np.float64)
    p = ranks ** -1.1
    p /= p.sum()
    lengths = rng.integers(3, 11, n)
    words = rng.choice(len(vocab), size=int(lengths.sum()), p=p)
    brands = rng.integers(0, len(_BRANDS), n)
    colors = rng.integers(0, len(_COLORS), n)
    nouns = rng.integers(0, len(_NOUNS), n)
    out, pos = [], 0
    for i in range(n):
        body = " ".join(vocab[w] for w in words[pos: pos + lengths[i]])
        pos += lengths[i]
        out.append(f"{_BRANDS[brands[i]]} {body} {_COLORS[colors[i]]} {_NOUNS[nouns[i]]}")
    return out


def random_unit_vectors(n: int, dimension: int = DIMENSION, seed: int = 0, chunk: int = 100_000) -> np.ndarray:
    """(n, dimension) float32 rows uniform on the unit sphere (normalized Gaussians), made in chunks."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, dimension), dtype=np.float32)
    for start in range(0, n, chunk):
        block = rng.standard_normal((min(chunk, n - start), dimension), dtype=np.float32)
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        out[start: start + len(block)] = block
    return out


def near_queries(vectors: np.ndarray, n: int, seed: int = 1, noise: float = 0.5) -> np.ndarray:
    """``n`` queries: a random document's vector + Gaussian noise of norm ≈ ``noise``, renormalized
    (noise 0.5 → cos ≈ 1/sqrt(1 + 0.25) ≈ 0.89 to that document)."""
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(vectors), size=n, replace=False)
    q = vectors[rows] + rng.standard_normal((n, vectors.shape[1]), dtype=np.float32) * (noise / np.sqrt(vectors.shape[1]))
    return (q / np.linalg.norm(q, axis=1, keepdims=True)).astype(np.float32)


def text_queries(n: int, seed: int = 2, vocab: list[str] | None = None) -> list[str]:
    """``n`` 2–3 word queries: a frequent-ish vocabulary word (Zipf rank ≤ 2000), a colour and/or a noun."""
    vocab = vocab or vocabulary()
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        parts = [vocab[int(rng.zipf(1.3)) % 2000], _NOUNS[int(rng.integers(len(_NOUNS)))]]
        if rng.random() < 0.5:
            parts.insert(1, _COLORS[int(rng.integers(len(_COLORS)))])
        out.append(" ".join(parts))
    return out


def rss_mb() -> float:
    import psutil

    gc.collect()
    return psutil.Process().memory_info().rss / 2**20


def _recall(exact: VectorIndex, hnsw: VectorIndex, queries: np.ndarray, k: int = 10) -> tuple[float, float, list, list]:
    """(recall@k of HNSW against exact, share of queries whose exact top-1 HNSW ranks first, exact ms, HNSW ms)."""
    # exact searches first, then HNSW: faiss' OpenMP threads keep spinning after a search and would slow the
    # BLAS matrix-vector product of an exact search that ran right after it
    exact_runs = [timed(exact.search, q, k) for q in queries]
    hnsw_runs = [timed(hnsw.search, q, k) for q in queries]
    exact_ms = [ms for ms, _ in exact_runs]
    hnsw_ms = [ms for ms, _ in hnsw_runs]
    recalls, top1 = [], []
    for (_, (e_rows, _)), (_, (h_rows, _)) in zip(exact_runs, hnsw_runs, strict=True):
        recalls.append(len(set(e_rows.tolist()) & set(h_rows.tolist())) / k)
        top1.append(bool(len(h_rows)) and int(h_rows[0]) == int(e_rows[0]))
    return round(float(np.mean(recalls)), 4), round(float(np.mean(top1)), 4), exact_ms, hnsw_ms


def bench_size(n: int, n_queries: int = 100, rank_bm25_max: int = 200_000, log=print,
               ef_construction: int = 100) -> dict:
    """All figures for one synthetic catalog of ``n`` documents (see module doc). ef_construction: the HNSW
    graph's build beam (OpenSearch's default 100; lower builds faster with a weaker graph)."""
    out: dict = {"documents": n, "dimension": DIMENSION}
    base = rss_mb()
    vocab = vocabulary()
    log(f"[{n}] generating texts and vectors")
    gen_ms, texts = timed(synthetic_titles, n, 0, vocab)
    vectors = random_unit_vectors(n)
    out["generate_s"] = round(gen_ms / 1000, 1)
    out["rss_mb"] = {"texts_and_vectors": round(rss_mb() - base, 1)}
    out["vectors_raw_mb"] = round(vectors.nbytes / 2**20, 1)

    log(f"[{n}] HNSW build")
    near = near_queries(vectors, n_queries)
    before = rss_mb()
    build_ms, hnsw = timed(VectorIndex, vectors, "cosinesimil", hnsw_threshold=0,
                             ef_construction=ef_construction)
    out["rss_mb"]["hnsw_graph"] = round(rss_mb() - before, 1)  # VectorIndex's normalized copy + faiss' copy + links
    del vectors
    exact = VectorIndex(hnsw.vectors, "cosinesimil", hnsw_threshold=n + 1)
    out["hnsw_build_s"] = round(build_ms / 1000, 1)
    out["hnsw_params"] = {k: v for k, v in hnsw.params().items() if k in ("m", "ef_construction", "ef_search")}
    rand = random_unit_vectors(n_queries, seed=99)
    log(f"[{n}] recall and k-NN latency")
    out["recall_at_10_near"], out["top1_found_near"], exact_ms, hnsw_ms = _recall(exact, hnsw, near)
    out["recall_at_10_random"], _, _, _ = _recall(exact, hnsw, rand)
    out["knn_exact"] = percentiles(exact_ms)
    out["knn_hnsw"] = percentiles(hnsw_ms)
    del exact

    log(f"[{n}] BM25 (mrs) build")
    before = rss_mb()
    bm_ms, bm25 = timed(lambda: MultiFieldBM25({"title": 1.0}, Analyzer("standard")).build([{"title": t} for t in texts]))
    out["rss_mb"]["bm25_mrs"] = round(rss_mb() - before, 1)
    out["bm25_build_s"] = round(bm_ms / 1000, 1)
    queries = text_queries(n_queries, vocab=vocab)
    out["lexical_mrs"] = percentiles([timed(bm25.search, q, 10)[0] for q in queries])

    log(f"[{n}] hybrid")
    ids = [f"d{i}" for i in range(n)]
    engine = EmbeddedEngine(Path("."), {"encoder": {"backend": "none"}}, ids, [{}] * n, bm25, hnsw)
    for q, v in zip(queries[:5], near[:5], strict=False):  # warm-up
        engine.hybrid(q, v, 10)
    out["hybrid"] = percentiles([timed(engine.hybrid, q, v, 10)[0] for q, v in zip(queries, near, strict=True)])
    out["rss_mb"]["process_total"] = round(rss_mb(), 1)
    del engine, bm25, hnsw
    gc.collect()

    out["bm25_libraries"] = bm25_libraries(texts, queries, rank_bm25_max, log=lambda m: log(f"[{n}] {m}"))
    return out


def bm25_libraries(texts: list[str], queries: list[str], rank_bm25_max: int, log=print) -> dict:
    """bm25s (lucene) vs rank-bm25 (Okapi) on the same tokens (mrs standard analyzer): build s, query ms."""
    import bm25s

    analyzer = Analyzer("standard")
    corpus = [analyzer.tokens(t) for t in texts]
    q_tokens = [analyzer.tokens(q) for q in queries]
    res: dict = {}
    log("bm25s")
    retriever = bm25s.BM25(method="lucene", k1=1.2, b=0.75)
    build_ms, _ = timed(retriever.index, corpus, show_progress=False)
    res["bm25s"] = {"build_s": round(build_ms / 1000, 1),
                    "query": percentiles([timed(retriever.retrieve, [t], k=10, show_progress=False, n_threads=1)[0]
                                          for t in q_tokens])}
    if len(texts) <= rank_bm25_max:
        from rank_bm25 import BM25Okapi

        log("rank-bm25")
        build_ms, okapi = timed(BM25Okapi, corpus, k1=1.2, b=0.75)

        def top10(toks):
            s = okapi.get_scores(toks)
            return np.argpartition(-s, 10)[:10]

        res["rank_bm25"] = {"build_s": round(build_ms / 1000, 1),
                            "query": percentiles([timed(top10, t)[0] for t in q_tokens])}
    else:
        res["rank_bm25"] = {"skipped": f"more than {rank_bm25_max} documents (pure-Python scoring)"}
    return res


def print_table(results: list[dict], machine: str) -> None:
    print(f"\n## Scale: synthetic catalogs ({machine})")
    print("recall@10: HNSW vs exact top-10; near = queries with one true neighbour (cos ≈ 0.89), whose other 9 "
          "neighbours are as random as for random queries; top-1 = share of near queries whose neighbour HNSW ranks first")
    print("| docs | HNSW build s | recall@10 near / random (top-1) | kNN exact p50 ms | kNN HNSW p50 ms | BM25 build s | "
          "lexical p50 ms | hybrid p50 / p95 ms | RSS vectors+graph+BM25 MB | bm25s p50 ms | rank-bm25 p50 ms |")
    print("|---" * 11 + "|")
    for r in results:
        rb = r["bm25_libraries"]["rank_bm25"]
        rss = r["rss_mb"]
        print(f"| {r['documents']:,} | {r['hnsw_build_s']} | {r['recall_at_10_near']} / {r['recall_at_10_random']} ({r['top1_found_near']}) | "
              f"{r['knn_exact']['p50_ms']} | {r['knn_hnsw']['p50_ms']} | {r['bm25_build_s']} | {r['lexical_mrs']['p50_ms']} | "
              f"{r['hybrid']['p50_ms']} / {r['hybrid']['p95_ms']} | "
              f"{rss['texts_and_vectors']:.0f}+{rss['hnsw_graph']:.0f}+{rss['bm25_mrs']:.0f} | "
              f"{r['bm25_libraries']['bm25s']['query']['p50_ms']} | {rb.get('query', {}).get('p50_ms', 'skipped')} |")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--rank-bm25-max", type=int, default=200_000)
    ap.add_argument("--out", type=Path, default=Path("scale_bench.json"))
    ap.add_argument("--ef-construction", type=int, default=100,
                    help="HNSW build beam (OpenSearch default 100); the 1M build takes minutes per 10")
    args = ap.parse_args(argv)
    machine = f"{os.cpu_count()} CPU cores"
    results = []
    for n in args.sizes:
        results.append(bench_size(n, args.queries, args.rank_bm25_max, log=lambda m: print(m, file=sys.stderr),
                                  ef_construction=args.ef_construction))
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"machine": machine, "sizes": results}, indent=2) + "\n", encoding="utf-8")
    print_table(results, machine)
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
