"""Data-room benchmark: reader throughput on the real data and on a large generated catalog, and a check that
the sample dataset needs both retrieval sides (synonym queries → dense, model-code queries → lexical).

Usage:  .venv/bin/python benchmarks/bench_data.py --data ../shared/data [--rows 200000] [--no-model]
Prints one table per part. Nothing here is asserted; the numbers go into reports.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import sys
import tempfile
import time
from pathlib import Path

from mrs.data.readers import read_catalog, read_judgments, read_ubi_events
from mrs.data.sample import write_sample


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed(label: str, fn) -> tuple[str, int, float]:
    t0 = time.perf_counter()
    n = fn()
    return label, n, time.perf_counter() - t0


def real_data(data: Path) -> list[tuple[str, int, float]]:
    esci, ubi = data / "esci", data / "ubi"
    return [
        _timed("esci_us_products.jsonl (catalog)", lambda: sum(1 for _ in read_catalog(esci / "esci_us_products.jsonl"))),
        _timed("esci_us_qrels.tsv (judgments)", lambda: len(read_judgments(esci / "esci_us_qrels.tsv"))),
        _timed("esci_us_judgments.json (judgments)", lambda: len(read_judgments(esci / "esci_us_judgments.json"))),
        _timed("ubi_events.jsonl (events)", lambda: read_ubi_events(ubi / "ubi_events.jsonl").events),
    ]


def large_catalog(rows: int) -> list[tuple[str, int, float]]:
    """Write `rows` products (the sample's, repeated with new ids) as JSONL, CSV and Parquet; time one read each."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = []
    with tempfile.TemporaryDirectory() as tmp:
        tmpd = Path(tmp)
        base = [json.loads(line) for line in write_sample(tmpd / "s").catalog.read_text().splitlines()]
        for p in base:
            p["category"] = " / ".join(p["category"])
            p.pop("bullet_points")
        cols = list(base[0])
        jsonl, csvf = tmpd / "big.jsonl", tmpd / "big.csv"
        with open(jsonl, "w") as fj, open(csvf, "w") as fc:
            fc.write("\t".join(cols) + "\n")
            for i in range(rows):
                p = dict(base[i % len(base)], id=f"X{i:09d}")
                fj.write(json.dumps(p) + "\n")
                fc.write("\t".join(str(p[c]) for c in cols) + "\n")
        table = pa.table({c: [str(base[i % len(base)][c]) if c != "id" else f"X{i:09d}" for i in range(rows)]
                          for c in cols})
        pq.write_table(table, tmpd / "big.parquet")
        del table
        for path in (jsonl, csvf, tmpd / "big.parquet"):
            label = f"{rows:,} rows {path.suffix[1:]} ({path.stat().st_size / 2**20:.0f} MiB)"
            out.append(_timed(label, lambda path=path: sum(1 for _ in read_catalog(path))))
    return out


ESCI_GAINS = {3: 1.0, 2: 0.1, 1: 0.01, 0: 0.0}


def _ndcg10(ranked: list[str], qrels: dict[str, int]) -> float:
    """nDCG@10 with ESCI's official gains (exact 1, substitute 0.1, complement 0.01, irrelevant 0), log2
    discount; unjudged products gain 0."""
    dcg = sum(ESCI_GAINS[qrels.get(pid, 0)] / math.log2(r + 2) for r, pid in enumerate(ranked[:10]))
    ideal = sorted((ESCI_GAINS[g] for g in qrels.values()), reverse=True)[:10]
    idcg = sum(g / math.log2(r + 2) for r, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def sample_sides(use_model: bool) -> dict[str, dict[str, float]]:
    """Mean nDCG@10 per query kind on the sample: BM25 (bm25s, lucene) over title+description vs MiniLM cosine
    over the default product text template."""
    import bm25s
    import numpy as np

    from mrs.data.text import ProductTextTemplate

    with tempfile.TemporaryDirectory() as tmp:
        s = write_sample(Path(tmp), seed=0)
        products = list(read_catalog(s.catalog))
        js = read_judgments(s.judgments)
        kinds = json.loads(s.manifest.read_text())["query_kinds"]
    ids = [p.id for p in products]
    lexical_text = [f"{p.get('title')} {p.get('description')}" for p in products]
    bm25 = bm25s.BM25(k1=1.2, b=0.75, method="lucene")
    bm25.index(bm25s.tokenize(lexical_text, show_progress=False), show_progress=False)
    queries = js.queries()
    qrels = js.qrels()
    docs, _ = bm25.retrieve(bm25s.tokenize(list(queries.values()), show_progress=False), k=10, show_progress=False)
    runs = {"lexical": {qid: [ids[d] for d in row] for qid, row in zip(queries, docs, strict=True)}}
    if use_model:
        from mrs.models import load_sentence_transformer

        model = load_sentence_transformer(None, device="cpu")
        template = ProductTextTemplate()
        pv = model.encode([template.render(p) for p in products], normalize_embeddings=True, batch_size=64)
        qv = model.encode(list(queries.values()), normalize_embeddings=True)
        top = np.argsort(-(qv @ pv.T), axis=1)[:, :10]
        runs["dense"] = {qid: [ids[d] for d in row] for qid, row in zip(queries, top, strict=True)}
    table: dict[str, dict[str, float]] = {}
    for side, run in runs.items():
        for kind in ("attribute", "synonym", "brand", "model"):
            scores = [_ndcg10(run[q], qrels[q]) for q in queries if kinds[q] == kind]
            table.setdefault(kind, {})[side] = sum(scores) / len(scores)
    return table


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True, help="the shared data folder (esci/, ubi/)")
    ap.add_argument("--rows", type=int, default=200_000, help="rows of the generated large catalog")
    ap.add_argument("--no-model", action="store_true", help="skip the MiniLM dense side of the sample check")
    args = ap.parse_args(argv)
    print(f"{'reader':48} {'rows':>10} {'seconds':>8} {'rows/s':>10}")
    for label, n, sec in real_data(args.data) + large_catalog(args.rows):
        print(f"{label:48} {n:>10,} {sec:>8.2f} {n / sec:>10,.0f}")
    print(f"peak RSS of this process: {_rss_mib():.0f} MiB")
    print("\nsample dataset, mean nDCG@10 (ESCI gains 1/0.1/0.01/0) per query kind")
    for kind, sides in sample_sides(not args.no_model).items():
        print(f"  {kind:10} " + "  ".join(f"{side} {v:.3f}" for side, v in sides.items()))


if __name__ == "__main__":
    main(sys.argv[1:])
