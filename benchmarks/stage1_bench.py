"""Stage-1 benchmark on the ESCI subset: base model vs Stage 1 (and ablations) on held-out dev queries.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/stage1_bench.py --data ../shared/data --out /tmp/stage1-bench \
        --max-steps 80 --variants full,no_augmentation,no_synthetic

Each variant trains from the base model with the same seed and query split (80 % train / 20 % dev by
query), so the rows differ only in the knob named. Results (one JSON per variant + the printed table) go to
--out; the data stays where it is. Metrics: dev nDCG@10 (dense retrieval over the whole catalog, grades as
gains), recall@100 of exact products, pooled AUC exact-vs-irrelevant and exact-vs-substitute, CPU time.
With --engine-eval, also lexical / dense / hybrid nDCG@10 and recall@100 through the embedded engine.
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
from mrs.toolkit.stage1 import Stage1Config, train_stage1  # noqa: E402

VARIANTS = {
    "full": {},
    "no_augmentation": {"spelling_rate": 0.0},
    "no_synthetic": {"synthetic_per_product": 0},
    "human_only": {"spelling_rate": 0.0, "synthetic_per_product": 0},
}
METRICS = ("ndcg@10", "recall@100", "auc_exact_vs_irrelevant", "auc_exact_vs_substitute", "ndcg@10_misspelled")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="the shared data folder (holds esci/)")
    ap.add_argument("--out", required=True, help="folder for models and result JSON (outside the repo)")
    ap.add_argument("--variants", default="full,no_augmentation,no_synthetic")
    ap.add_argument("--max-steps", type=int, default=80)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--temperature", type=float, default=0.05)
    ap.add_argument("--spelling-rate", type=float, default=0.5)
    ap.add_argument("--synthetic-per-product", type=int, default=2)
    ap.add_argument("--level-weights", default=None, help="e.g. 0,0,0.2,1 (per grade, irrelevant first)")
    ap.add_argument("--dim", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dev-corpus-size", type=int, default=0,
                    help="0 = retrieve over the whole catalog; N = dev-judged products + N random others")
    ap.add_argument("--keep-models", action="store_true", help="keep each variant's model directory")
    ap.add_argument("--engine-eval", action="store_true",
                    help="also index the catalog with base and every variant and score lexical/dense/hybrid on "
                         "the dev queries through the embedded engine (dev_engine_eval.py; ~2 min per model)")
    ap.add_argument("--evaluate", default=None,
                    help="evaluate existing models instead of training: comma-separated model dirs or 'base'")
    args = ap.parse_args(argv)

    esci = Path(args.data) / "esci"
    catalog = list(read_catalog(esci / "esci_us_products.jsonl"))
    judgments = read_judgments(esci / "esci_us_qrels.tsv")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.evaluate:
        return evaluate_existing(args.evaluate.split(","), catalog, judgments, args.seed, out)
    weights = [float(w) for w in args.level_weights.split(",")] if args.level_weights else None
    rows = []
    base_metrics = None
    engine: dict[str, dict] = {}
    for name in args.variants.split(","):
        config = Stage1Config(
            max_steps=args.max_steps, batch_size=args.batch_size, lr=args.lr, temperature=args.temperature,
            spelling_rate=args.spelling_rate, synthetic_per_product=args.synthetic_per_product,
            level_weights=weights, dim=args.dim, seed=args.seed, dev_fraction=0.2,
            evaluate_base=base_metrics is None, device="cpu", dev_corpus_size=args.dev_corpus_size,
        )
        for key, value in VARIANTS[name].items():
            setattr(config, key, value)
        started = time.perf_counter()
        report = train_stage1(config, catalog, judgments, out / f"model-{name}",
                              progress=lambda stage, done, total, name=name: _tick(name, stage, done, total))
        report["wall_seconds"] = round(time.perf_counter() - started, 1)
        base_metrics = base_metrics or report["dev"]["base"]
        (out / f"result-{name}.json").write_text(json.dumps(
            {k: v for k, v in report.items() if k != "training"} | {"training": {
                k: v for k, v in report["training"].items() if k != "loss_per_step"}}, indent=2))
        rows.append((name, report))
        if args.engine_eval:
            from dev_engine_eval import dev_split, engine_dev_metrics

            dev = dev_split(judgments, args.seed, 0.2)
            if "base" not in engine:
                engine["base"] = engine_dev_metrics(None, catalog, dev, out / "engine-index")
            engine[name] = engine_dev_metrics(str(out / f"model-{name}"), catalog, dev, out / "engine-index")
            report["engine"] = engine[name]
            (out / "engine.json").write_text(json.dumps(engine, indent=2))
        if not args.keep_models:
            import shutil

            shutil.rmtree(out / f"model-{name}", ignore_errors=True)
    print_table(base_metrics, rows)
    if engine:
        from dev_engine_eval import format_table

        print("\nDev queries through the embedded engine (nDCG@10, recall@100 of exact products):")
        print(format_table(engine, base="base"))
    return 0


def evaluate_existing(refs: list[str], catalog: list, judgments, seed: int, out: Path) -> int:
    """Dev metrics (mrs.toolkit.dev_eval.evaluate_dense: the training report's, incl. misspelled dev
    queries) of existing models on the same split; prints one row per model, writes evaluate.json."""
    from dev_engine_eval import dev_split

    from mrs.data.text import ProductTextTemplate
    from mrs.models import load_sentence_transformer
    from mrs.toolkit.dev_eval import evaluate_dense

    template = ProductTextTemplate()
    texts = {p.id: template.render(p) for p in catalog}
    dev = dev_split(judgments, seed, 0.2)
    results = {}
    for ref in refs:
        model = load_sentence_transformer(None if ref == "base" else ref, device="cpu")
        results[ref] = evaluate_dense(model, texts, dev)
        (out / "evaluate.json").write_text(json.dumps(results, indent=2))
    print(f"{'model':<40}" + "".join(f"{m:>24}" for m in METRICS))
    for ref, m in results.items():
        print(f"{ref:<40}" + "".join(f"{_fmt(m.get(k)):>24}" for k in METRICS))
    return 0


def _tick(name: str, stage: str, done: int, total: int) -> None:
    if stage != "train" or done % 10 == 0 or done == total:
        print(f"[{time.strftime('%H:%M:%S')}] {name}: {stage} {done}/{total}", file=sys.stderr, flush=True)


def print_table(base: dict | None, rows: list[tuple[str, dict]]) -> None:
    header = f"{'model':<22}" + "".join(f"{m:>26}" for m in METRICS) + f"{'train s':>9}{'pairs/s':>9}"
    print(header)
    if base:
        print(f"{'base (MiniLM-L6)':<22}" + "".join(f"{_fmt(base.get(m)):>26}" for m in METRICS))
    for name, report in rows:
        m = report["dev"]["stage1"]
        cells = []
        for key in METRICS:
            value = m.get(key)
            rel = ""
            if base and base.get(key) and value is not None:
                rel = f" ({100 * (value / base[key] - 1):+.1f}%)"
            cells.append(f"{_fmt(value)}{rel}")
        t = report["training"]
        print(f"{'stage1 ' + name:<22}" + "".join(f"{c:>26}" for c in cells)
              + f"{t['seconds']:>9.0f}{t['pairs_per_second']:>9.1f}")
    if rows:
        d = rows[0][1]["data"]
        print(f"train queries {d['train_queries']}, dev queries {d['dev_queries']}, "
              f"dev judgments {d['dev_judgments']}, synthetic queries {d['synthetic_queries']}, "
              f"augmented queries {d['augmented_queries']}")


def _fmt(value) -> str:
    return "-" if value is None else f"{value:.4f}"


if __name__ == "__main__":
    raise SystemExit(main())
