"""Filtered vs unfiltered hybrid search latency on the embedded engine (issue 19).

Catalogs:
- ``esci``: the 6,764 ESCI products of <data>/esci (text, brand, color, category, price, rating as indexed by
  `mrs index catalog`), the 100 judged query texts;
- ``synthetic-N``: N products with 3-word titles drawn from a 2,000-word vocabulary (Zipf), same attributes.
Vectors are synthetic 384-d unit vectors clustered around 200 topics (the size of all-MiniLM-L6-v2's): latency
depends on the number and dimension of the vectors, not on the model, and this keeps the benchmark to minutes on
2 cores. Each product also
gets a uniform ``bucket`` number in [0, 1000), so ``range bucket < 500 / 50 / 1`` passes 50 %, 5 % and 0.1 % of
the catalog exactly; ``brand + price`` is a realistic filter on real attributes (its pass rate printed).

Per catalog and filter: hybrid p50 / p95 (ms, BM25 + k-NN top 10 each, min_max + arithmetic_mean, the filter
parsed, bound and evaluated to its bitset inside every query, as `mrs search --filter` does); which k-NN path
the filter takes (exact over the filtered documents, or filtered HNSW, mrs.engine.vectors); and the filtered
k-NN recall@10 of that path against exact (filtered) search over the same vectors.

Usage:
  PYTHONPATH=src .venv/bin/python benchmarks/filter_bench.py --data /work/shared/data --sizes 100000 \\
      --queries 50 --out /tmp/filter_bench.json
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from mrs.data.readers import read_catalog
from mrs.engine.analysis import Analyzer
from mrs.engine.attributes import AttributeColumns, detect_field_types
from mrs.engine.bm25 import MultiFieldBM25
from mrs.engine.engine import EmbeddedEngine
from mrs.engine.vectors import VectorIndex
from mrs.indexer.documents import DEFAULT_FIELDS, bm25_texts

DIM = 384
FILTERS = {
    "none": None,
    "50%": {"range": {"bucket": {"lt": 500}}},
    "5%": {"range": {"bucket": {"lt": 50}}},
    "0.1%": {"range": {"bucket": {"lt": 1}}},
}


def unit_vectors(n: int, rng: np.random.Generator, centroids: np.ndarray) -> np.ndarray:
    """Unit vectors around random centroids (embeddings cluster by topic; uniform random 384-d points are a
    worst case no real catalog has, for HNSW with or without a filter)."""
    v = centroids[rng.integers(0, len(centroids), n)] + 0.6 * rng.standard_normal((n, DIM)) / np.sqrt(DIM)
    v = v.astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def make_centroids(rng: np.random.Generator, n: int = 200) -> np.ndarray:
    c = rng.standard_normal((n, DIM))
    return c / np.linalg.norm(c, axis=1, keepdims=True)


def esci_catalog(data: Path) -> tuple[list, list[str]]:
    products = list(read_catalog(data / "esci" / "esci_us_products.jsonl"))
    with (data / "esci" / "esci_us_qrels.tsv").open(encoding="utf-8") as fh:
        queries = list(dict.fromkeys(row["query"] for row in csv.DictReader(fh, delimiter="\t")))
    return products, queries


def synthetic_catalog(n: int, rng: np.random.Generator) -> tuple[list, list[str]]:
    from mrs.data.catalog import Product

    vocab = [f"w{i}" for i in range(2000)]
    p = 1.0 / np.arange(1, len(vocab) + 1)
    p /= p.sum()
    words = rng.choice(len(vocab), size=(n, 3), p=p)
    brands, colors = [f"brand{i}" for i in range(300)], ["red", "blue", "black", "white", "green", "grey"]
    cats = [["Home", "Kitchen"], ["Home", "Garden"], ["Electronics", "Audio"], ["Electronics", "TV"], ["Toys"]]
    products = [Product(f"s{i}", {"title": " ".join(vocab[w] for w in words[i]),
                                  "brand": brands[i % len(brands)], "color": colors[i % len(colors)],
                                  "category": cats[i % len(cats)], "price": float(rng.integers(1, 500)),
                                  "rating": float(rng.integers(10, 50)) / 10})
                for i in range(n)]
    queries = [" ".join(vocab[w] for w in rng.choice(200, size=2)) for _ in range(200)]
    return products, queries


def build_engine(products: list, rng: np.random.Generator,
                 centroids: np.ndarray) -> tuple[EmbeddedEngine, dict[str, float]]:
    """An in-memory engine (no encoder): BM25 over the default fields, random vectors, typed attributes."""
    seconds: dict[str, float] = {}
    rows = [dict(p.fields, bucket=float(b)) for p, b in zip(products, rng.integers(0, 1000, len(products)),
                                                             strict=True)]
    t0 = time.perf_counter()
    bm25 = MultiFieldBM25(dict(DEFAULT_FIELDS), Analyzer("english"))
    bm25.build([bm25_texts(p, DEFAULT_FIELDS) for p in products])
    seconds["bm25_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    vectors = VectorIndex(unit_vectors(len(products), rng, centroids))
    seconds["vectors_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    types = detect_field_types(rows, exclude=("id",))
    attributes = AttributeColumns.build(rows, types)
    seconds["attributes_s"] = time.perf_counter() - t0
    manifest = {"format_version": 2, "attributes": types}
    ids = [p.id for p in products]
    return EmbeddedEngine(Path("."), manifest, ids, rows, bm25, vectors, attributes), seconds


def realistic_filter(engine: EmbeddedEngine) -> dict:
    """brand = the most frequent brand, price ≤ its median price."""
    counts = engine.facets(np.ones(engine.count(), dtype=bool), ["brand"], size=1)["brand"]["buckets"]
    brand = counts[0]["key"]
    mask = engine.filter_mask({"term": {"brand": brand}})
    prices = engine.attributes.columns["price"].values[mask]
    prices = prices[~np.isnan(prices)]
    limit = float(np.median(prices)) if prices.size else 100.0
    return {"bool": {"filter": [{"term": {"brand": brand}}, {"range": {"price": {"lte": limit}}}]}}


def latencies(engine: EmbeddedEngine, queries: list[str], qvecs: np.ndarray, filters: dict,
              k: int = 10) -> dict[str, list[float]]:
    """Hybrid latency (ms) per filter; every query runs under every filter in turn (interleaved), so a change
    of load on the shared machine hits all filters alike."""
    out: dict[str, list[float]] = {label: [] for label in filters}
    for text, vec in zip(queries, qvecs, strict=True):
        for label, flt in filters.items():
            t0 = time.perf_counter()
            engine.hybrid(text, vec, k, filter=flt)
            out[label].append((time.perf_counter() - t0) * 1000.0)
    return out


def knn_quality(engine: EmbeddedEngine, qvecs: np.ndarray, flt, k: int = 10) -> dict:
    """Pass rate, the k-NN path the filter takes, and filtered k-NN recall@10 against exact filtered search."""
    mask = engine.filter_mask(flt)
    passing = int(engine.count() if mask is None else mask.sum())
    if mask is None:
        path = engine.vectors.method
    else:
        path = "exact" if engine.vectors.exact_filter_preferred(passing, k) else "filtered HNSW"
    exact = VectorIndex(engine.vectors.vectors, hnsw_threshold=engine.count() + 1)  # the same vectors, exact
    recalls = []
    for vec in qvecs:
        got, _ = engine.vectors.search(vec, k, allowed=mask)
        truth, _ = exact.search(vec, k, allowed=mask)
        recalls.append(len(set(got.tolist()) & set(truth.tolist())) / max(1, len(truth)))
    return {"pass_rate": round(passing / engine.count(), 5), "passing": passing, "knn_path": path,
            "knn_recall@10": round(float(np.mean(recalls)), 4)}


def run_catalog(name: str, products: list, queries: list[str], n_queries: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    centroids = make_centroids(rng)
    engine, build = build_engine(products, rng, centroids)
    queries = queries[:n_queries]
    qvecs = unit_vectors(len(queries), rng, centroids)
    for text, vec in zip(queries[:3], qvecs, strict=False):  # warm-up (first-call allocations)
        engine.hybrid(text, vec, 10)
    filters = dict(FILTERS, **{"brand+price": realistic_filter(engine)})
    result = {"documents": engine.count(), "vector_method": engine.vectors.method,
              "build": {k: round(v, 2) for k, v in build.items()}, "filters": {}}
    lat = latencies(engine, queries, qvecs, filters)
    for label, flt in filters.items():
        result["filters"][label] = {**knn_quality(engine, qvecs, flt),
                                    "hybrid_p50_ms": round(statistics.median(lat[label]), 3),
                                    "hybrid_p95_ms": round(float(np.percentile(lat[label], 95)), 3)}
        print(f"{name:>16} {label:>12}: {result['filters'][label]}", file=sys.stderr, flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True, help="shared data folder (holds esci/)")
    ap.add_argument("--sizes", default="100000", help="comma-separated synthetic catalog sizes (e.g. 100000,1000000)")
    ap.add_argument("--queries", type=int, default=50, help="queries per catalog and filter")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    args = ap.parse_args(argv)
    results = {}
    products, queries = esci_catalog(args.data)
    results["esci"] = run_catalog("esci", products, queries, args.queries, args.seed)
    for size in (int(s) for s in args.sizes.split(",") if s.strip()):
        products, queries = synthetic_catalog(size, np.random.default_rng(args.seed))
        results[f"synthetic-{size}"] = run_catalog(f"synthetic-{size}", products, queries, args.queries, args.seed)
    print(f"{'catalog':>18} {'filter':>12} {'pass':>8} {'k-NN path':>14} {'hybrid p50':>11} {'p95':>8} {'recall@10':>9}")
    for cat, res in results.items():
        for label, r in res["filters"].items():
            print(f"{cat:>18} {label:>12} {r['pass_rate']:>8.3%} {r['knn_path']:>14} {r['hybrid_p50_ms']:>9.2f}ms "
                  f"{r['hybrid_p95_ms']:>6.2f}ms {r.get('knn_recall@10', float('nan')):>9.3f}")
    if args.out is not None:
        args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
