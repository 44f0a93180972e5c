"""Calibration benchmark on the ESCI subset: thresholds, ECE and the tuned blend on held-out queries.

    python benchmarks/calibrate_bench.py --data ../shared/data [--index /tmp/esci-index] [--seeds 0 1 2]

For each split seed (query-level split, --dev-fraction held out) it runs `mrs calibrate`'s steps
(mrs.blending.run) on an ESCI index (reused when --index holds one, else built once there with the packaged
MiniLM) and prints:
- per level: target precision, the train threshold, its train precision/recall and the ACHIEVED precision
  and recall on held-out queries, the bootstrap CI, the held-out ECE of the isotonic map;
- nDCG@10 (grades 3/2/1/0 as gains, ranx's ndcg) on held-out queries of the tuned blend vs the default
  min_max + arithmetic_mean 0.7/0.3 vs RRF (k 60, equal weights) vs the best configuration of a
  Workbench-like search space (two clauses, min_max/l2 × arithmetic/geometric/harmonic × weights, no bounds),
  each chosen on train queries.
Retrieval runs once; the splits reuse its candidates. Writes --out JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def open_or_build(index_dir: Path, catalog: Path):
    from mrs.data.readers import read_catalog
    from mrs.engine.engine import EmbeddedEngine
    from mrs.indexer.embed import Encoder

    if (index_dir / "manifest.json").exists():
        print(f"reusing index {index_dir}", file=sys.stderr)
    else:
        print(f"building index {index_dir} from {catalog} (minutes on 2 cores)", file=sys.stderr)
        t0 = time.perf_counter()
        EmbeddedEngine.build(index_dir, read_catalog(catalog), encoder=Encoder.load(None))
        print(f"built in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return EmbeddedEngine.open(index_dir)


def workbench_best(grid):
    """Best train configuration among two-clause min_max/l2 blends without bounds (no RRF, no z_score); with
    extra field clauses: those whose extra clauses weigh 0 (the lexical + dense blend alone)."""
    extra = [i for i, n in enumerate(grid.subqueries) if n not in ("lexical", "dense")]
    space = [cs for cs in grid.scores if not cs.config.is_rrf and cs.config.normalization.lower_bounds is None
             and cs.config.normalization.technique in ("min_max", "l2")
             and all(cs.config.weights[i] == 0 for i in extra)]
    return max(space, key=lambda cs: cs.train)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, type=Path, help="shared data dir holding esci/")
    ap.add_argument("--index", type=Path, default=Path("/tmp/esci-index"))
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--dev-fraction", type=float, default=0.3)
    ap.add_argument("--k", type=int, default=100)
    ap.add_argument("--bootstrap", type=int, default=1000)
    ap.add_argument("--target", action="append", default=[], help="LEVEL=P (repeatable)")
    ap.add_argument("--field-clause", action="append", default=[],
                    help="add a single-field BM25 clause (e.g. title) to the blend (repeatable)")
    ap.add_argument("--out", type=Path, default=Path("calibrate_bench.json"))
    args = ap.parse_args()

    from mrs.blending.candidates import sources_with_fields
    from mrs.blending.run import CalibrateOptions, collect_for_calibration, run_calibration
    from mrs.blending.thresholds import parse_targets
    from mrs.data.readers import read_judgments

    esci = args.data / "esci"
    judgments = read_judgments(esci / "esci_us_qrels.tsv")
    engine = open_or_build(args.index, esci / "esci_us_products.jsonl")
    encoder = engine.open_encoder()
    targets = parse_targets(args.target, judgments.scheme)
    t0 = time.perf_counter()
    sources = sources_with_fields(engine, args.field_clause) if args.field_clause else None
    collected = collect_for_calibration(engine, encoder, judgments, args.k, sources)
    t_collect = time.perf_counter() - t0
    print(f"{len(judgments.queries())} queries, {len(judgments)} judged pairs; retrieval + pair scoring "
          f"{t_collect:.1f} s", file=sys.stderr)

    runs = []
    for seed in args.seeds:
        t1 = time.perf_counter()
        opts = CalibrateOptions(targets=targets, dev_fraction=args.dev_fraction, seed=seed, k=args.k,
                                bootstrap=args.bootstrap)
        r = run_calibration(engine, encoder, judgments, opts, manifest=engine.manifest, collected=collected)
        cal, grid = r.calibration, r.grid
        wb = workbench_best(grid)
        runs.append({
            "seed": seed,
            "queries": cal.data["queries"],
            "seconds": round(time.perf_counter() - t1, 1),
            "levels": {lv: {"target": t.target_precision, "threshold": t.threshold, "train_precision": t.precision,
                            "train_recall": t.recall, "dev_precision": t.dev_precision, "dev_recall": t.dev_recall,
                            "dev_support": t.dev_support, "ci": t.ci, "reachable": t.reachable,
                            "ece_dev": cal.ece.get(lv)}
                       for lv, t in cal.thresholds.items()},
            "blend": {"chosen": grid.best.config.name, "tuned": [grid.best.train, grid.best.dev],
                      "default": [grid.default.train, grid.default.dev], "rrf60": [grid.rrf.train, grid.rrf.dev],
                      "workbench": [wb.train, wb.dev], "workbench_config": wb.config.name,
                      "configurations": len(grid.scores), "verified_with_engine": grid.verified},
        })

    def f(x):
        return "   —  " if x is None else f"{x:.4f}"

    print("\n## thresholds on the dense score (train fit → held-out queries)")
    print(f"{'seed':>4} {'level':<11} {'target':>6} {'thresh':>7} {'train P':>7} {'train R':>7} "
          f"{'dev P':>7} {'dev R':>7} {'CI':>17} {'ECE dev':>7}")
    for run in runs:
        for lv, d in run["levels"].items():
            ci = f"{d['ci'][0]:.4f}–{d['ci'][1]:.4f}" if d["ci"] else "—"
            print(f"{run['seed']:>4} {lv:<11} {d['target']:>6.2f} {f(d['threshold']):>7} {f(d['train_precision']):>7} "
                  f"{f(d['train_recall']):>7} {f(d['dev_precision']):>7} {f(d['dev_recall']):>7} {ci:>17} "
                  f"{f(d['ece_dev']):>7}")
    print("\n## nDCG@10 (train / held-out dev), chosen on train")
    print(f"{'seed':>4} {'tuned':>15} {'default 0.7/0.3':>17} {'rrf k=60':>15} {'workbench-like':>15}  chosen")
    for run in runs:
        b = run["blend"]
        print(f"{run['seed']:>4} {f(b['tuned'][0])}/{f(b['tuned'][1])} {f(b['default'][0]):>8}/{f(b['default'][1])} "
              f"{f(b['rrf60'][0])}/{f(b['rrf60'][1])} {f(b['workbench'][0])}/{f(b['workbench'][1])}  {b['chosen']}")
    mean = {k: statistics.mean(r["blend"][k][1] for r in runs) for k in ("tuned", "default", "rrf60", "workbench")}
    print("mean dev nDCG@10: " + ", ".join(f"{k} {v:.4f}" for k, v in mean.items()))
    for lv in runs[0]["levels"]:
        devp = [r["levels"][lv]["dev_precision"] for r in runs if r["levels"][lv]["dev_precision"] is not None]
        if devp:
            print(f"mean dev precision {lv}: {statistics.mean(devp):.4f} (target {runs[0]['levels'][lv]['target']:.2f})")
    args.out.write_text(json.dumps({"index": str(args.index), "collect_seconds": t_collect, "runs": runs,
                                    "mean_dev_ndcg@10": mean}, indent=2, default=str))
    print(f"\nwrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
