"""Benchmark the engine's scoring core on a real catalog (path given as argument; never copied into the repo).

Measures: MultiFieldBM25 build time and per-query latency (p50/p95) with the default fields; one-field
agreement with bm25s method="lucene" (which uses exact lengths: scores equal wherever field lengths ≤ 39,
differ slightly above) and with a pure-float64 re-implementation of the documented formula; and the speed of
normalization + combination for a hybrid query (combine over 2 × 100 candidates).

Usage: .venv/bin/python benchmarks/bench_scoring.py ../shared/data/esci
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path

import numpy as np

from mrs.engine.analysis import Analyzer
from mrs.engine.bm25 import FieldBM25, MultiFieldBM25
from mrs.engine.hybrid import SubqueryResult, combine
from mrs.engine.norms import encoded_length
from mrs.engine.pipeline import default_pipeline

FIELDS = {"title": 3.0, "brand": 2.0, "color": 1.0, "category": 1.0, "bullet_points": 1.0, "description": 1.0}


def _text(v):
    if v is None:
        return None
    if isinstance(v, list):
        return " ".join(str(x) for x in v)
    return str(v)


def main(data_dir: str) -> None:
    data = Path(data_dir)
    products = [json.loads(line) for line in (data / "esci_us_products.jsonl").open(encoding="utf-8")]
    docs = [{f: _text(p.get(f)) for f in FIELDS} for p in products]
    queries = [q["queryText"] for q in json.loads((data / "esci_us_queryset.json").read_text())["querySetQueries"]]

    t0 = time.perf_counter()
    bm = MultiFieldBM25(FIELDS).build(docs)
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    MultiFieldBM25(FIELDS, analyzer="english").build(docs)
    build_en_s = time.perf_counter() - t0

    for q in queries[:5]:
        bm.search(q, 10)
    lat = []
    for q in queries:
        t0 = time.perf_counter()
        bm.search(q, 100)
        lat.append((time.perf_counter() - t0) * 1000)
    lat = np.array(lat)

    # agreement per field with bm25s (exact lengths) and a float64 reference (Lucene's quantized lengths)
    import bm25s

    analyzer = Analyzer("standard")
    agreement = []
    for fname in ("title", "bullet_points"):
        have = [t for t in (analyzer.tokens(d[fname]) for d in docs) if t]
        field = FieldBM25().build(have)
        ref = bm25s.BM25(method="lucene", k1=1.2, b=0.75)
        ref.index(have, show_progress=False)
        lengths = np.array([len(t) for t in have])
        short = lengths <= 39
        avgdl = lengths.mean()
        dl_q = np.array([encoded_length(n) for n in lengths])
        counts = [{} for _ in have]
        for c, toks in zip(counts, have, strict=True):
            for tok in toks:
                c[tok] = c.get(tok, 0) + 1
        worst = {"short": 0.0, "long": 0.0, "f64": 0.0}
        for q in queries:
            qt = analyzer.tokens(q)
            ours = field.scores(qt)[0].astype(np.float64)
            theirs = np.asarray(ref.get_scores(qt), dtype=np.float64)
            nz = theirs > 0
            rel = np.abs(ours - theirs) / np.where(nz, theirs, 1)
            if (nz & short).any():
                worst["short"] = max(worst["short"], float(rel[nz & short].max()))
            if (nz & ~short).any():
                worst["long"] = max(worst["long"], float(rel[nz & ~short].max()))
            f64 = np.zeros(len(have))
            for tok in qt:
                tf = np.array([c.get(tok, 0) for c in counts], dtype=np.float64)
                df = int((tf > 0).sum())
                if df:
                    idf = math.log(1 + (len(have) - df + 0.5) / (df + 0.5))
                    f64 += idf * tf / (tf + 1.2 * (0.25 + 0.75 * dl_q / avgdl))
            nz64 = f64 > 0
            if nz64.any():
                worst["f64"] = max(worst["f64"], float((np.abs(ours - f64)[nz64] / f64[nz64]).max()))
        agreement.append((fname, int((~short).sum()), len(have), worst))

    # hybrid combine over 2 × 100 candidates
    rng = np.random.default_rng(0)
    ids = [p.get("asin") or p.get("_id") or str(i) for i, p in enumerate(products)]
    comb = []
    for _ in range(200):
        a = rng.choice(len(ids), 100, replace=False)
        b = rng.choice(len(ids), 100, replace=False)
        subs = [SubqueryResult("lexical", [ids[i] for i in a], rng.random(100) * 20),
                SubqueryResult("dense", [ids[i] for i in b], rng.random(100))]
        t0 = time.perf_counter()
        combine(subs, default_pipeline(), size=100)
        comb.append((time.perf_counter() - t0) * 1000)
    comb = np.array(comb)

    print(f"| measure ({len(docs)} products, {len(queries)} queries) | value |")
    print("|---|---|")
    print(f"| MultiFieldBM25 build, 6 fields, standard analyzer | {build_s:.2f} s |")
    print(f"| MultiFieldBM25 build, 6 fields, english analyzer | {build_en_s:.2f} s |")
    print(f"| lexical search top-100 latency p50 / p95 | {np.percentile(lat, 50):.2f} / {np.percentile(lat, 95):.2f} ms |")
    for fname, n_long, n_have, worst in agreement:
        print(f"| {fname} ({n_long}/{n_have} docs > 39 tokens): max rel. diff vs bm25s lucene, ≤ 39 / > 39 tokens"
              f" | {worst['short']:.1e} / {worst['long']:.1e} |")
        print(f"| {fname}: max rel. diff vs float64 formula with quantized lengths | {worst['f64']:.1e} |")
    print(f"| combine (min_max + arithmetic_mean, 2 × 100 candidates) p50 / p95 | {np.percentile(comb, 50):.2f} / {np.percentile(comb, 95):.2f} ms |")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/esci")
