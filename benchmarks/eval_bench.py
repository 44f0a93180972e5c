"""Benchmark `mrs eval` on the ESCI subset and check issue 4's done-when figures (data path is an argument).

1. eval: every judged query of <data>/esci/esci_us_qrels.tsv through an embedded index of
   <data>/esci/esci_us_products.jsonl (built with the engine's defaults when --index does not exist yet;
   ~2–13 min on 2 shared cores, reused afterwards), modes lexical, dense, hybrid, rrf; k 100; default
   metrics, grade gains, relevant = grade ≥ 1. Prints the table and the done-when check:
   nDCG@10 lexical ≥ 0.69, dense ≥ 0.69, hybrid ≥ 0.72; recall@100 lexical ≥ 0.81, dense ≥ 0.86, hybrid ≥ 0.87.
2. --lexical-variants: the lexical run rebuilt with other BM25 settings (fields, boosts, analyzer,
   tie_breaker) on the same products, to find which default costs lexical quality. Uses the engine's
   own MultiFieldBM25 (OpenSearch scoring), no embedding.

Usage:
  .venv/bin/python benchmarks/eval_bench.py --data /work/shared/data --index /tmp/esci-index \
      [--lexical-variants] [--out /tmp/esci-eval] [--json /tmp/eval_bench.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from mrs.data.readers import read_catalog, read_judgments  # noqa: E402
from mrs.engine.analysis import ENGLISH_STOP_WORDS, Analyzer, porter_stem, standard_tokens  # noqa: E402
from mrs.engine.bm25 import MultiFieldBM25  # noqa: E402
from mrs.engine.engine import EmbeddedEngine  # noqa: E402
from mrs.eval.harness import EvalConfig, evaluable_qrels, evaluate_backend  # noqa: E402
from mrs.eval.metrics import evaluate_run, gain_table, parse_metrics  # noqa: E402
from mrs.eval.report import summary_rows, write_report  # noqa: E402
from mrs.eval.runs import parse_modes  # noqa: E402
from mrs.indexer.documents import DEFAULT_FIELDS, bm25_texts  # noqa: E402
from mrs.indexer.embed import Encoder  # noqa: E402

DONE_WHEN = {
    ("lexical", "ndcg@10"): 0.69, ("dense", "ndcg@10"): 0.69, ("hybrid", "ndcg@10"): 0.72,
    ("lexical", "recall@100"): 0.81, ("dense", "recall@100"): 0.86, ("hybrid", "recall@100"): 0.87,
}
ALL_TEXT = ("title", "brand", "color", "category", "bullet_points", "description")


def print_table(headers: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))


def ensure_index(products: Path, index: Path) -> None:
    if (index / "manifest.json").exists():
        return
    print(f"building {index} from {products} (engine defaults) ...", flush=True)
    t0 = time.perf_counter()
    stats = EmbeddedEngine.build(index, read_catalog(products), encoder=Encoder.load(None, batch_size=64))
    print(f"  {stats.to_dict()} in {time.perf_counter() - t0:.0f} s", flush=True)


class StopOnly(Analyzer):
    """standard + Lucene's English stop words, no stemming (to split the english analyzer's two effects)."""

    def tokens(self, text):
        return [t for t in standard_tokens(text, self.max_token_length) if t not in ENGLISH_STOP_WORDS] if text else []


class PorterOnly(Analyzer):
    """standard + Porter stemming, no stop words."""

    def tokens(self, text):
        return [porter_stem(t) for t in standard_tokens(text, self.max_token_length)] if text else []


def lexical_variants(products: Path, judgments, k: int) -> list[dict]:
    """nDCG@10 / recall@100 of the lexical run under several BM25 settings (engine scoring, no vectors)."""
    prods = list(read_catalog(products))
    ids = [p.id for p in prods]
    qrels, _ = evaluable_qrels(judgments, 1)
    queries = judgments.queries()
    metrics = parse_metrics(["ndcg@10", f"recall@{k}"])
    table = gain_table(judgments.scheme, "grades")
    fields_all = {f: 1.0 for f in ALL_TEXT}
    variants = [
        ("engine default: best_fields title^3 brand^2 color category bullet_points description, standard",
         DEFAULT_FIELDS, "standard", 0.0, False),
        ("same fields, standard + English stop words only", DEFAULT_FIELDS, StopOnly(), 0.0, False),
        ("same fields, standard + Porter stemming only", DEFAULT_FIELDS, PorterOnly(), 0.0, False),
        ("same fields, english analyzer (stop words + Porter)", DEFAULT_FIELDS, "english", 0.0, False),
        ("same fields, standard, tie_breaker 0.3", DEFAULT_FIELDS, "standard", 0.3, False),
        ("same fields, english, tie_breaker 0.3", DEFAULT_FIELDS, "english", 0.3, False),
        ("same fields, standard, tie_breaker 1.0 (most_fields)", DEFAULT_FIELDS, "standard", 1.0, False),
        ("same fields, english, tie_breaker 1.0 (most_fields)", DEFAULT_FIELDS, "english", 1.0, False),
        ("one concatenated field of all six, standard", {"all": 1.0}, "standard", 0.0, True),
        ("one concatenated field of all six, english", {"all": 1.0}, "english", 0.0, True),
        ("unboosted six fields, english, tie_breaker 1.0", fields_all, "english", 1.0, False),
    ]
    out = []
    for label, fields, analyzer, tie, concat in variants:
        t0 = time.perf_counter()
        if concat:
            docs = [{"all": " ".join(bm25_texts(p, fields_all).values())} for p in prods]
        else:
            docs = [bm25_texts(p, fields) for p in prods]
        bm = MultiFieldBM25(fields, analyzer=analyzer, tie_breaker=tie).build(docs)
        run = {}
        for qid, text in queries.items():
            rows, scores = bm.search(text, k)
            run[qid] = {ids[int(r)]: float(s) for r, s in zip(rows, scores, strict=True)}
        means, _ = evaluate_run(qrels, run, metrics, table, 1)
        out.append({"variant": label, **means, "seconds": round(time.perf_counter() - t0, 1)})
        print(f"  {means['ndcg@10']:.4f}  {means[f'recall@{k}']:.4f}  {label}", flush=True)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, type=Path, help="folder holding esci/ (e.g. /work/shared/data)")
    ap.add_argument("--index", type=Path, default=Path("/tmp/esci-index"), help="index dir (built when missing)")
    ap.add_argument("--k", type=int, default=100)
    ap.add_argument("--lexical-variants", action="store_true")
    ap.add_argument("--out", type=Path, default=None, help="write the eval report here")
    ap.add_argument("--json", type=Path, default=None, help="write the figures as JSON here")
    args = ap.parse_args()
    products = args.data / "esci" / "esci_us_products.jsonl"
    judgments = read_judgments(args.data / "esci" / "esci_us_qrels.tsv")
    result: dict = {}

    ensure_index(products, args.index)
    engine = EmbeddedEngine.open(args.index)
    encoder = engine.open_encoder()
    config = EvalConfig(k=args.k)
    t0 = time.perf_counter()
    report, retrieved = evaluate_backend(engine, encoder, judgments, parse_modes("lexical,dense,hybrid,rrf"), config)
    print(f"\neval: {report['settings']['n_queries']} queries, k {args.k}, {time.perf_counter() - t0:.0f} s "
          f"(query encoding {report['settings']['query_encoding_ms_per_query']:.1f} ms/query)\n")
    print_table(*summary_rows(report))
    print("\ndone-when check (issue 4):")
    checks = []
    for (run, metric), floor in DONE_WHEN.items():
        got = report["runs"][run][metric]
        checks.append({"run": run, "metric": metric, "got": got, "floor": floor, "ok": got >= floor})
        print(f"  {run:8s} {metric:11s} {got:.4f} ≥ {floor:.2f}  {'ok' if got >= floor else 'BELOW'}")
    result["eval"] = {k: report[k] for k in ("runs", "judged@10", "per_level", "latency_ms", "settings")}
    result["separation_auc"] = {r: s["auc"] for r, s in report["separation"].items()}
    result["done_when"] = checks
    if args.out:
        write_report(args.out, report, {n: rr.run() for n, rr in retrieved.items()}, judgments.qrels())
        print(f"\nreport written to {args.out}")
    if args.lexical_variants:
        print(f"\nlexical variants (nDCG@10, recall@{args.k}):")
        result["lexical_variants"] = lexical_variants(products, judgments, args.k)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=float) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
