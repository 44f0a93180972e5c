"""Dev-query evaluation through the embedded engine: lexical, dense and hybrid, as `mrs eval` scores them.

The training reports score dense retrieval only (mrs.toolkit.dev_eval, cosine over the catalog). This module
indexes the catalog with a model (mrs.engine.build_index: BM25 fields + vectors, default hybrid pipeline
min_max + arithmetic_mean, 0.7 lexical / 0.3 dense) and runs the dev queries of the seeded query split through
mrs.eval.harness, so the Stage-1/Stage-2 benchmarks report the same numbers a user gets from
`mrs index catalog --model DIR` + `mrs eval`. Used by stage1_bench.py and stage2_bench.py; also a script:

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/dev_engine_eval.py --data ../shared/data \
        --work /tmp/dev-engine --models base,/tmp/s1full/model

Metrics per mode: nDCG@10 (grades as gains), recall@100 of exact products (relevant grade = top level),
over the dev queries only (the query split of Stage 1: seed 0, dev fraction 0.2).
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

from mrs.data.judgments import JudgmentSet  # noqa: E402
from mrs.data.readers import read_catalog, read_judgments  # noqa: E402
from mrs.data.splits import train_dev_split  # noqa: E402
from mrs.engine.build import build_index  # noqa: E402
from mrs.engine.engine import EmbeddedEngine  # noqa: E402
from mrs.eval.harness import EvalConfig, evaluate_backend  # noqa: E402
from mrs.eval.metrics import parse_metrics  # noqa: E402
from mrs.eval.runs import RunSpec  # noqa: E402
from mrs.indexer.encoders import load_encoder  # noqa: E402

MODES = ("lexical", "dense", "hybrid")
METRICS = ("ndcg@10", "recall@100")


def dev_split(judgments: JudgmentSet, seed: int = 0, dev_fraction: float = 0.2) -> JudgmentSet:
    """The dev side of the Stage-1 query split (mrs.data.splits.train_dev_split over the judged queries,
    same fraction and seed). Queries without any judged product in the catalog
    are not removed here; the engine counts them against recall like `mrs eval` does."""
    return judgments.subset(train_dev_split(judgments, dev_fraction, seed)[1])


def engine_dev_metrics(model: str | None, catalog: list, dev: JudgmentSet, index_dir: str | Path,
                       log=None, calibrate_on: JudgmentSet | None = None, seed: int = 0,
                       dev_fraction: float = 0.2) -> dict:
    """Index ``catalog`` with ``model`` (None = the packaged base model) into ``index_dir`` and evaluate the
    dev judgments in lexical, dense and hybrid mode.

    calibrate_on: all judgments (train + dev); when given, `mrs calibrate`'s blend search (mrs.blending) picks
    the hybrid blend on the training queries of the same split and reports its dev nDCG@10, so a model is
    also compared with a blend fitted to it rather than the fixed default 0.7 / 0.3.
    Returns {mode: {"ndcg@10", "recall@100"}} plus "index_seconds" and "eval_seconds" (wall, this machine),
    and "calibrated" {"blend", "train_ndcg@10", "dev_ndcg@10", "default_dev_ndcg@10"} with calibrate_on.
    recall@100 counts top-level (exact) products, as the training reports do."""
    say = log or (lambda msg: None)
    encoder = load_encoder(model, batch_size=64)
    started = time.perf_counter()
    say(f"indexing {len(catalog)} products with {model or 'base'}")
    build_index(index_dir, catalog, encoder=encoder)
    index_seconds = time.perf_counter() - started
    engine = EmbeddedEngine.open(index_dir)
    config = EvalConfig(metrics=parse_metrics(",".join(METRICS)), relevant_grade=dev.scheme.top, k=100)
    started = time.perf_counter()
    report, _ = evaluate_backend(engine, encoder, dev, [RunSpec(m, m) for m in MODES], config)
    out = {mode: {m: float(report["runs"][mode][m]) for m in METRICS} for mode in MODES}
    out["index_seconds"] = round(index_seconds, 1)
    out["eval_seconds"] = round(time.perf_counter() - started, 1)
    if calibrate_on is not None:
        from mrs.blending.run import CalibrateOptions, run_calibration

        say("calibrating the hybrid blend on the training queries")
        run = run_calibration(engine, encoder, calibrate_on,
                              CalibrateOptions(dev_fraction=dev_fraction, seed=seed, bootstrap=100))
        blend = run.calibration.to_dict()["blend"]
        out["calibrated"] = {"blend": blend["name"], "train_ndcg@10": blend["train_score"],
                             "dev_ndcg@10": blend["dev_score"], "default_dev_ndcg@10": blend["default_score"],
                             "dev_queries": len(run.dev_ids)}
    return out


def format_table(results: dict[str, dict], base: str | None = None) -> str:
    """One row per model, nDCG@10 and recall@100 per mode; relative change vs row ``base`` in brackets."""
    cols = [(mode, m) for mode in MODES for m in METRICS]
    lines = [f"{'model':<24}" + "".join(f"{mode + ' ' + m:>26}" for mode, m in cols)]
    ref = results.get(base) if base else None
    for name, res in results.items():
        cells = []
        for mode, m in cols:
            v = res[mode][m]
            rel = f" ({100 * (v / ref[mode][m] - 1):+.1f}%)" if ref and name != base and ref[mode][m] else ""
            cells.append(f"{v:.4f}{rel}")
        lines.append(f"{name:<24}" + "".join(f"{c:>26}" for c in cells))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="the shared data folder (holds esci/)")
    ap.add_argument("--work", required=True, help="folder for the indexes and results (outside the repo)")
    ap.add_argument("--models", default="base", help="comma-separated: base or model directories")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dev-fraction", type=float, default=0.2)
    ap.add_argument("--calibrate", action="store_true",
                    help="also fit the hybrid blend on the training queries (mrs calibrate) and score it on dev")
    args = ap.parse_args(argv)

    esci = Path(args.data) / "esci"
    catalog = list(read_catalog(esci / "esci_us_products.jsonl"))
    judgments = read_judgments(esci / "esci_us_qrels.tsv")
    dev = dev_split(judgments, args.seed, args.dev_fraction)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    results = {}
    for i, ref in enumerate(args.models.split(",")):
        name = "base" if ref == "base" else ref
        results[name] = engine_dev_metrics(None if ref == "base" else ref, catalog, dev, work / f"index-{i}",
                                           log=lambda msg: print(f"[{time.strftime('%H:%M:%S')}] {msg}",
                                                                 file=sys.stderr, flush=True),
                                           calibrate_on=judgments if args.calibrate else None,
                                           seed=args.seed, dev_fraction=args.dev_fraction)
        (work / "dev_engine_eval.json").write_text(json.dumps(results, indent=2))
    (work / "dev_engine_eval.json").write_text(json.dumps(results, indent=2))
    print(f"dev queries {len(dev.queries())}, dev judgments {len(dev.judgments)}")
    print(format_table(results, base="base" if "base" in results else None))
    for name, res in results.items():
        if "calibrated" in res:
            c = res["calibrated"]
            print(f"{name}: calibrated blend {c['blend']}: dev nDCG@10 {c['dev_ndcg@10']:.4f} "
                  f"(default 0.7/0.3: {c['default_dev_ndcg@10']:.4f}; train {c['train_ndcg@10']:.4f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
