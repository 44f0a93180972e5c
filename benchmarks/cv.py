"""k-fold cross-validation by query of the Mine & Refine recipe on a judged set (default: the ESCI subset).

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/cv.py --data ../shared/data/esci --out /tmp/cv \
        --folds 5 --max-steps 40 --synthetic-per-product 1 --max-seq-length 32

Every judged query is held out exactly once. Per fold: Stage 1 is trained from the base model on the other
folds' judgments only (their misspelled copies, plus synthetic catalog queries — never one equal to a
held-out query), the catalog is indexed with it (BM25 fields + vectors, mrs.engine.build), thresholds and the
hybrid blend are calibrated on the training folds (mrs calibrate's run, blend chosen by the one-SE rule) and
the held-out fold is scored: lexical, dense, hybrid with the default blend and hybrid with the calibrated
blend (nDCG@10, grades as gains), recall@100 of exact products (dense), AUC exact>substitute and
exact>irrelevant of the dense score, and each level's threshold applied to held-out pairs (precision,
recall). The base model gets the same treatment (one index, calibrated per fold).

Printed: mean ± std over folds per figure, and a paired t-test (ranx.compare, student) over all queries of
the trained model's run against the base model's and against BM25 (and Stage 2 against Stage 1). --variant
picks an ablation (VARIANTS). Each fold's result is saved (<out>/<variant>/fold-<i>.json, the summary also as
table.md) and a rerun skips the folds already done. --stage2 also runs the Stage-2 chain (benchmarks/cv_stage2.py:
cross-fitted ordinal judge, mining, SupCon + circle loss) on the training folds from each fold's Stage-1 model
and scores it the same way; --stage1-from reuses kept Stage-1 models for the Stage-2 ablations.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# One torch thread: on a machine shared by many processes (load ≫ cores) extra threads only wait on each
# other; measured here, encoding the catalog took 610 s with the default 2 threads at load 10.
os.environ.setdefault("OMP_NUM_THREADS", str(int(os.environ.get("MRS_CV_THREADS", "1"))))

import numpy as np  # noqa: E402
from cv_metrics import MODES, fold_metrics  # noqa: E402
from cv_stage2 import Stage2Chain, run_stage2_chain  # noqa: E402

from mrs.blending.run import collect_for_calibration  # noqa: E402
from mrs.data.readers import read_catalog, read_judgments  # noqa: E402
from mrs.data.splits import query_point  # noqa: E402
from mrs.data.text import DEFAULT_TEMPLATE  # noqa: E402
from mrs.engine.build import build_index  # noqa: E402
from mrs.engine.engine import EmbeddedEngine  # noqa: E402
from mrs.indexer.encoders import load_encoder  # noqa: E402
from mrs.toolkit.stage1 import Stage1Config, train_stage1  # noqa: E402
from mrs.toolkit.synthetic import TemplateQueryGenerator, normalize_query  # noqa: E402

# An ablation is a config change of one stage: "stage1" keys set Stage1Config fields, "stage2" keys set
# cv_stage2.Stage2Chain fields. A variant that changes only Stage 2 can reuse the full run's kept Stage-1 models
# (--stage1-from), which skips Stage-1 training and indexing.
VARIANTS = {
    "full": {},
    "no_synthetic": {"stage1": {"synthetic_per_product": 0}},
    "no_spelling": {"stage1": {"spelling_rate": 0.0}},
    "no_circle": {"stage2": {"circle_weight": 0.0}},
    "circle_estimated": {"stage2": {"circle_targets": "estimated"}},
    "no_mining": {"stage2": {"mine": False}},
    "judge_gbm": {"stage2": {"judge_kind": "ordinal-gbm"}},
}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def assign_folds(query_ids, folds: int, seed: int) -> list[list[str]]:
    """Queries ordered by their seeded hash point (mrs.data.splits.query_point), dealt round-robin: fold
    sizes differ by at most one and a query's fold depends only on the seed and the query set."""
    ordered = sorted(query_ids, key=lambda q: query_point(q, seed))
    return [ordered[i::folds] for i in range(folds)]


class ExcludingGenerator:
    """A synthetic query generator that never emits a held-out query (normalized text)."""

    def __init__(self, inner, excluded_texts):
        self.inner = inner
        self.excluded = {normalize_query(t) for t in excluded_texts}

    def generate(self, product, n, rng):
        return [q for q in self.inner.generate(product, n, rng) if normalize_query(q) not in self.excluded]


def index_and_collect(model: str | None, catalog, judgments, index_dir: Path, template: str, k: int,
                      max_seq_length: int):
    """Index the catalog with ``model`` (texts cut at ``max_seq_length`` tokens, the same cut for the base and
    the trained models) and gather every judged query's candidates and judged-pair scores."""
    encoder = load_encoder(model, batch_size=64)
    encoder.model.max_seq_length = max_seq_length
    started = time.perf_counter()
    build_index(index_dir, catalog, encoder=encoder, template=template)
    index_s = time.perf_counter() - started
    engine = EmbeddedEngine.open(index_dir)
    started = time.perf_counter()
    collected = collect_for_calibration(engine, encoder, judgments, k)
    return engine, collected, {"index_seconds": round(index_s, 1),
                               "collect_seconds": round(time.perf_counter() - started, 1)}


def train_fold(args, catalog, train_set, held_texts, out_dir: Path, name: str) -> tuple[str, dict]:
    config = Stage1Config(
        max_steps=args.max_steps, batch_size=args.batch_size, lr=args.lr, spelling_rate=args.spelling_rate,
        synthetic_per_product=args.synthetic_per_product, seed=args.seed, dev_fraction=0.0,
        evaluate_base=False, device="cpu", max_seq_length=args.max_seq_length, template=args.template)
    for key, value in VARIANTS[args.variant].get("stage1", {}).items():
        setattr(config, key, value)
    generator = ExcludingGenerator(TemplateQueryGenerator().fit(catalog), held_texts)
    report = train_stage1(config, catalog, train_set, out_dir, generator=generator,
                          progress=lambda stage, done, total: _tick(name, stage, done, total))
    t = report["training"]
    return str(out_dir), {"train_seconds": t["seconds"], "steps": t["steps"], "rows": report["data"]["training_rows"],
                          "loss_first": t["first_loss"], "loss_last": t["last_loss"]}


def train_fold_stage2(args, catalog, train_set, stage1_dir: str, out_dir: Path, name: str) -> tuple[str, dict]:
    chain = Stage2Chain(**VARIANTS[args.variant].get("stage2", {}))
    return run_stage2_chain(chain, catalog, train_set, stage1_dir, out_dir, template=args.template,
                            max_seq_length=args.max_seq_length, steps=args.stage2_steps, seed=args.seed, log=log,
                            tick=lambda stage, done, total: _tick(name, stage, done, total))


def stage1_of_fold(args, i, catalog, train_set, held_texts, judgments, train_ids, test_ids, work: Path):
    """(Stage-1 model directory, its fold metrics, whether this run trained it): reused from --stage1-from
    (the model kept there and its scored fold-<i>.json) when given, else trained and scored here."""
    if args.stage1_from:
        source = Path(args.stage1_from)
        model_dir, scored = source / f"model-fold{i}", source / f"fold-{i}.json"
        if not (model_dir / "training.json").exists() or not scored.exists():
            raise SystemExit(f"--stage1-from {source}: fold {i} has no kept Stage-1 model or no fold-{i}.json "
                             "(run the full variant with --keep-models first)")
        return str(model_dir), json.loads(scored.read_text())["stage1"], False
    model_dir, cost = train_fold(args, catalog, train_set, held_texts, work / f"model-fold{i}", f"fold {i}")
    engine, collected, c = index_and_collect(model_dir, catalog, judgments, work / "index-model", args.template,
                                             args.k, args.max_seq_length)
    metrics = fold_metrics(engine, collected, judgments, train_ids, test_ids, bootstrap=args.bootstrap,
                           seed=args.seed)
    metrics["cost"] = cost | c
    return model_dir, metrics, True


def run_fold(args, i, folds, catalog, judgments, base, work: Path) -> dict:
    test_ids = folds[i]
    train_ids = [q for j, f in enumerate(folds) if j != i for q in f]
    train_set = judgments.subset(train_ids)
    held_texts = list(judgments.subset(test_ids).queries().values())
    started = time.perf_counter()
    result = {"fold": i, "train_queries": len(train_ids), "test_queries": test_ids}
    base_engine, base_collected = base
    log(f"fold {i}: base calibration on {len(train_ids)} queries")
    result["base"] = fold_metrics(base_engine, base_collected, judgments, train_ids, test_ids,
                                  bootstrap=args.bootstrap, seed=args.seed)
    model_dir, result["stage1"], trained = stage1_of_fold(args, i, catalog, train_set, held_texts, judgments,
                                                          train_ids, test_ids, work)
    if args.stage2:
        s2_dir, cost2 = train_fold_stage2(args, catalog, train_set, model_dir, work / f"model2-fold{i}",
                                          f"fold {i} stage2")
        engine, collected, c = index_and_collect(s2_dir, catalog, judgments, work / "index-model", args.template,
                                                 args.k, args.max_seq_length)
        result["stage2"] = fold_metrics(engine, collected, judgments, train_ids, test_ids,
                                        bootstrap=args.bootstrap, seed=args.seed)
        result["stage2"]["cost"] = cost2 | c
        if not args.keep_models:
            shutil.rmtree(s2_dir, ignore_errors=True)
    if trained and not args.keep_models:
        shutil.rmtree(model_dir, ignore_errors=True)
    result["fold_seconds"] = round(time.perf_counter() - started, 1)
    return result


def summarize(results: list[dict], judgments) -> dict:
    """mean ± std over folds, and paired tests over all held-out queries (ranx.compare, student t)."""
    models = [m for m in ("base", "stage1", "stage2") if all(m in r for r in results)]
    out: dict = {"folds": len(results), "queries": sum(len(r["test_queries"]) for r in results), "models": {}}
    for m in models:
        rows: dict[str, list[float]] = {}
        for r in results:
            fm = r[m]
            for mode in MODES:
                rows.setdefault(f"ndcg@10 {mode}", []).append(float(np.mean(list(fm["per_query"][mode].values()))))
            rows.setdefault("recall@100 dense", []).append(float(np.mean(list(fm["recall@100_dense"].values()))))
            for name, v in fm["auc"].items():
                rows.setdefault(f"auc {name}", []).append(np.nan if v is None else v)
            for level, t in fm["thresholds"].items():
                for key in ("heldout_precision", "heldout_recall"):
                    v = t.get(key)
                    rows.setdefault(f"{level} threshold {key}", []).append(np.nan if v is None else v)
        out["models"][m] = {k: {"mean": float(np.nanmean(v)), "std": float(np.nanstd(v, ddof=1)) if len(v) > 1 else 0.0,
                                "folds": [None if np.isnan(x) else round(float(x), 4) for x in v]}
                            for k, v in rows.items()}
        out["models"][m]["blends"] = [r[m]["blend"]["name"] for r in results]
    out["paired"] = paired_tests(results, judgments, models)
    return out


def paired_tests(results: list[dict], judgments, models: list[str]) -> list[dict]:
    from cv_metrics import graded_qrels
    from ranx import Qrels, Run, compare

    qids = [q for r in results for q in r["test_queries"]]
    qrels = Qrels(graded_qrels(judgments, qids))
    runs = {}
    for m in models:
        for mode in ("lexical", "dense", "hybrid_calibrated"):
            merged = {}
            for r in results:
                merged.update({q: (d or {"__none__": 0.0}) for q, d in r[m]["runs"][mode].items()})
            runs[f"{m} {mode}"] = Run(merged, name=f"{m} {mode}")
    pairs = [(f"{m} dense", "base dense") for m in models[1:]]
    pairs += [(f"{m} hybrid_calibrated", "base hybrid_calibrated") for m in models[1:]]
    pairs += [(f"{m} hybrid_calibrated", "base lexical") for m in models[1:]]
    if "stage2" in models and "stage1" in models:
        pairs += [("stage2 dense", "stage1 dense"), ("stage2 hybrid_calibrated", "stage1 hybrid_calibrated")]
    tests = []
    for a, b in pairs:
        report = compare(qrels, runs=[runs[a], runs[b]], metrics=["ndcg@10"], stat_test="student", max_p=0.05)
        d = report.to_dict()
        p = d[a]["comparisons"][b]["ndcg@10"]
        tests.append({"a": a, "b": b, "a_ndcg@10": d[a]["scores"]["ndcg@10"],
                      "b_ndcg@10": d[b]["scores"]["ndcg@10"], "p_value": float(p)})
    return tests


def print_summary(summary: dict) -> None:
    models = list(summary["models"])
    keys = [k for k in summary["models"][models[0]] if k != "blends"]
    print(f"{summary['folds']}-fold CV by query, {summary['queries']} held-out queries (mean ± std over folds)")
    print(f"{'figure':<44}" + "".join(f"{m:>22}" for m in models))
    for k in keys:
        cells = [f"{summary['models'][m][k]['mean']:.4f} ± {summary['models'][m][k]['std']:.4f}" for m in models]
        print(f"{k:<44}" + "".join(f"{c:>22}" for c in cells))
    for m in models:
        print(f"{m} blends chosen per fold: {summary['models'][m]['blends']}")
    for t in summary["paired"]:
        print(f"paired t-test over queries: {t['a']} {t['a_ndcg@10']:.4f} vs {t['b']} {t['b_ndcg@10']:.4f}: "
              f"{100 * (t['a_ndcg@10'] / t['b_ndcg@10'] - 1):+.1f} %, p = {t['p_value']:.4g}")


def markdown_table(summary: dict) -> str:
    """The summary as a markdown table (mean ± std over folds per model, change of the last model against the
    first and, when both are present, Stage 2 against Stage 1) followed by the paired tests."""
    models = list(summary["models"])
    keys = [k for k in summary["models"][models[0]] if k != "blends"]
    changes = [(models[-1], models[0])] + ([("stage2", "stage1")] if {"stage1", "stage2"} <= set(models) else [])
    head = [f"{summary['folds']} folds, {summary['queries']} held-out queries, mean ± std over folds", *models]
    head += [f"{a} vs {b}" for a, b in changes]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for k in keys:
        cell = {m: summary["models"][m][k] for m in models}
        row = [k] + [f"{c['mean']:.4f} ± {c['std']:.4f}" for c in cell.values()]
        row += [f"{100 * (cell[a]['mean'] / cell[b]['mean'] - 1):+.1f} %" if cell[b]["mean"] else "" for a, b in changes]
        lines.append("| " + " | ".join(row) + " |")
    lines.append("")
    for t in summary["paired"]:
        lines.append(f"- paired t-test over the queries: {t['a']} {t['a_ndcg@10']:.4f} vs {t['b']} "
                     f"{t['b_ndcg@10']:.4f} ({100 * (t['a_ndcg@10'] / t['b_ndcg@10'] - 1):+.1f} %), "
                     f"p = {t['p_value']:.3g}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="folder with esci_us_products.jsonl and esci_us_qrels.tsv")
    ap.add_argument("--out", required=True, help="work folder (models, indexes, results), outside the repo")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--only-folds", default=None, help="comma-separated fold numbers to run (default all)")
    ap.add_argument("--variant", default="full", choices=sorted(VARIANTS))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-steps", type=int, default=40)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--spelling-rate", type=float, default=0.5)
    ap.add_argument("--synthetic-per-product", type=int, default=1)
    ap.add_argument("--max-seq-length", type=int, default=32)
    ap.add_argument("--template", default=DEFAULT_TEMPLATE)
    ap.add_argument("--k", type=int, default=100, help="candidates per sub-query (pagination_depth)")
    ap.add_argument("--bootstrap", type=int, default=50, help="threshold CI resamples per calibration")
    ap.add_argument("--stage2", action="store_true", help="also train and score Stage 2 per fold")
    ap.add_argument("--stage2-steps", type=int, default=40)
    ap.add_argument("--keep-models", action="store_true", help="keep each fold's models under <out>/<variant>/")
    ap.add_argument("--stage1-from", default=None,
                    help="a variant folder whose kept Stage-1 models and scored folds to reuse (Stage-2 ablations)")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    data = Path(args.data)
    catalog = list(read_catalog(data / "esci_us_products.jsonl"))
    judgments = read_judgments(data / "esci_us_qrels.tsv")
    folds = assign_folds(list(judgments.queries()), args.folds, args.seed)
    work = Path(args.out) / args.variant
    work.mkdir(parents=True, exist_ok=True)
    (work / "args.json").write_text(json.dumps(vars(args), indent=2))
    wanted = [int(x) for x in args.only_folds.split(",")] if args.only_folds else list(range(args.folds))
    log(f"base model: indexing {len(catalog)} products")
    base_engine, base_collected, base_cost = index_and_collect(
        None, catalog, judgments, work / f"index-base-L{args.max_seq_length}", args.template, args.k,
        args.max_seq_length)
    log(f"base indexed and collected: {base_cost}")
    results = []
    for i in range(args.folds):
        path = work / f"fold-{i}.json"
        if path.exists():
            results.append(json.loads(path.read_text()))
            continue
        if i not in wanted:
            continue
        result = run_fold(args, i, folds, catalog, judgments, (base_engine, base_collected), work)
        path.write_text(json.dumps(result, indent=1))
        log(f"fold {i} done in {result['fold_seconds']} s")
        results.append(result)
    summary = summarize(results, judgments)
    summary["base_cost"] = base_cost
    (work / "summary.json").write_text(json.dumps(summary, indent=2))
    (work / "table.md").write_text(markdown_table(summary))
    print_summary(summary)
    return 0


def _tick(name: str, stage: str, done: int, total: int) -> None:
    if stage != "train" or done % 20 == 0 or done == total:
        log(f"{name}: {stage} {done}/{total}")


if __name__ == "__main__":
    raise SystemExit(main())
