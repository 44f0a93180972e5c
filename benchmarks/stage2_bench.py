"""Stage-2 benchmark on the ESCI subset + UBI sample: judge accuracy, audit counts, mining, and Stage 2 vs
Stage 1 vs base on the dev queries (the same seeded 80/20 query split as Stage 1).

Usage:
  .venv/bin/python benchmarks/stage2_bench.py --data ../shared/data --out /tmp/s2bench \
      [--stage1 MODEL_DIR] [--stage1-steps 60] [--judge-steps 150] [--stage2-steps 60] \
      [--variants continue,circle,mined,mined_negative,full]

Stage-2 variants (each starts from the same Stage-1 model and trains the same number of steps):
  continue        SupCon on the human training pairs only (control: the effect of more steps)
  circle          SupCon + multi-class circle loss, human pairs only      (circle loss)
  mined           SupCon on human + mined pairs labeled by the judge      (mining + re-annotation)
  mined_negative  SupCon on human + mined pairs taken as hard negatives   (mining without the judge)
  full            SupCon + circle loss on human + judge-labeled mined pairs
Prints tables and writes <out>/stage2_bench.json. Nothing is asserted; the numbers go into reports.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from mrs.data.readers import read_catalog, read_judgments, read_ubi_events
from mrs.data.splits import split_judgments
from mrs.data.text import ProductTextTemplate
from mrs.models import load_sentence_transformer
from mrs.toolkit.audit import AuditConfig, audit_judgments, stats_from_engagement
from mrs.toolkit.dev_eval import encode
from mrs.toolkit.judge import (
    CrossEncoderJudge,
    evaluate_judge,
    judge_examples,
    majority_baseline,
    train_judge,
)
from mrs.toolkit.mining import MiningConfig, mine
from mrs.toolkit.stage1 import Stage1Config, train_stage1
from mrs.toolkit.stage2 import Stage2Config, dev_report, train_stage2

VARIANTS = {
    "continue": {"circle_weight": 0.0, "mined": None},
    "circle": {"circle_weight": 1.0, "mined": None},
    "mined": {"circle_weight": 0.0, "mined": "judge"},
    "mined_negative": {"circle_weight": 0.0, "mined": "negative"},
    "full": {"circle_weight": 1.0, "mined": "judge"},
}
METRICS = ("ndcg@10", "recall@100", "auc_exact_vs_substitute", "auc_substitute_vs_complement",
           "auc_complement_vs_irrelevant", "auc_exact_vs_irrelevant")


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="the shared data folder (holds esci/ and ubi/)")
    ap.add_argument("--out", required=True, help="folder for models and results (outside the repo)")
    ap.add_argument("--stage1", default=None, help="a trained Stage-1 model dir (default: train a quick one)")
    ap.add_argument("--stage1-steps", type=int, default=60)
    ap.add_argument("--judge-steps", type=int, default=0, help="cap on judge steps (0 = --judge-epochs)")
    ap.add_argument("--judge-epochs", type=int, default=2)
    ap.add_argument("--judge-lr", type=float, default=3e-5)
    ap.add_argument("--judge-head-lr", type=float, default=1e-3)
    ap.add_argument("--judge", default=None, help="a trained judge dir (skips judge training)")
    ap.add_argument("--stage2-steps", type=int, default=60)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=2e-5)
    ap.add_argument("--gamma", type=float, default=32.0)
    ap.add_argument("--margins", default="0.25,0.25,0.25")
    ap.add_argument("--k", type=int, default=50)
    ap.add_argument("--band", type=float, default=0.05)
    ap.add_argument("--per-query", type=int, default=20)
    ap.add_argument("--variants", default="continue,circle,mined,full")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--engine-eval", action="store_true",
                    help="also index the catalog with base, Stage 1 and the best Stage-2 variant and score "
                         "lexical/dense/hybrid on the dev queries through the embedded engine "
                         "(dev_engine_eval.py; ~2 min of encoding per model)")
    args = ap.parse_args(argv)

    data, out = Path(args.data), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results: dict = {"args": vars(args)}

    def save() -> None:  # after every part, so a long run leaves its numbers so far
        (out / "stage2_bench.json").write_text(json.dumps(results, indent=2, default=str))
    catalog = list(read_catalog(data / "esci" / "esci_us_products.jsonl"))
    judgments = read_judgments(data / "esci" / "esci_us_qrels.tsv")
    template = ProductTextTemplate()
    texts = {p.id: template.render(p) for p in catalog}

    # --- Stage 1 ---------------------------------------------------------------------------------------
    stage1_dir = Path(args.stage1) if args.stage1 else out / "stage1"
    if not args.stage1:
        log(f"training a quick Stage 1 ({args.stage1_steps} steps)")
        s1 = train_stage1(Stage1Config(max_steps=args.stage1_steps, batch_size=64, lr=5e-5, seed=args.seed,
                                       device="cpu"), catalog, judgments, stage1_dir)
        results["stage1_training"] = {k: v for k, v in s1["training"].items() if k != "loss_per_step"}
        results["base"] = s1["dev"]["base"]

    # --- Judge -----------------------------------------------------------------------------------------
    train_set, dev_set = split_judgments(judgments, 0.2, args.seed)
    train_ex, _ = judge_examples(train_set, texts)
    dev_ex, _ = judge_examples(dev_set, texts)
    if args.judge:
        judge = CrossEncoderJudge.load(args.judge)
    else:
        log(f"training the judge ({args.judge_epochs} epochs on {len(train_ex)} pairs)")
        judge = CrossEncoderJudge.create(judgments.scheme)
        fit = train_judge(judge, train_ex, epochs=args.judge_epochs, max_steps=args.judge_steps or None,
                          batch_size=16, lr=args.judge_lr, head_lr=args.judge_head_lr, seed=args.seed,
                          on_step=lambda step, total, loss: step % 50 == 0 and log(f"judge step {step}/{total}"))
        results["judge_training"] = {"steps": len(fit.step_losses), "rows": fit.rows,
                                     "seconds": round(fit.seconds, 1), "class_weights": fit.class_weights,
                                     "loss_first_50": sum(fit.step_losses[:50]) / max(1, len(fit.step_losses[:50])),
                                     "loss_last_50": sum(fit.step_losses[-50:]) / max(1, len(fit.step_losses[-50:]))}
        judge.save(out / "judge")
    log("evaluating the judge on dev queries")
    results["judge_dev"] = evaluate_judge(judge, dev_ex)
    results["judge_majority_baseline"] = majority_baseline(train_ex, dev_ex)
    save()

    # --- Audit on the UBI sample -----------------------------------------------------------------------
    ubi = data / "ubi"
    counts = read_ubi_events(ubi / "ubi_events.jsonl", queries=ubi / "ubi_queries.jsonl",
                             application="esci_ubi_sample")
    stats = stats_from_engagement(counts)
    keep_all = AuditConfig(actions={"irrelevant_converted": "keep", "irrelevant_clicked": "keep",
                                    "top_ignored": "keep"})
    _, report = audit_judgments(judgments, stats, keep_all)
    rejudge_cfg = AuditConfig(actions={"irrelevant_converted": "rejudge", "irrelevant_clicked": "rejudge",
                                       "top_ignored": "rejudge"})

    def rejudge(rows):
        return [(lab.grade, lab.confidence) for lab in judge.label([(j.query, texts[j.product_id]) for j in rows])]

    audited, rejudged = audit_judgments(judgments, stats, rejudge_cfg, rejudge=rejudge)
    results["audit"] = {
        "events_read": counts.events, "events_attributed": counts.attributed(), "skipped": dict(counts.skipped),
        "actions": dict(counts.action_totals), "pairs_with_engagement": len(stats),
        "judged_pairs_with_engagement": report.matched_pairs, "global_ctr": report.global_ctr,
        "counts": report.counts(),
        "rejudged_changed": sum(f.new_grade is not None and f.new_grade != f.grade for f in rejudged.flags),
        "examples": report.to_dict(3)["examples"],
    }
    save()

    # --- Mining ----------------------------------------------------------------------------------------
    model = load_sentence_transformer(stage1_dir, device="cpu")
    log("encoding the catalog with Stage 1 (once, for mining and the dev metrics)")
    catalog_texts = list(texts.values())
    catalog_emb = encode(model, catalog_texts)

    def encode_cached(batch):
        return catalog_emb if list(batch) == catalog_texts else encode(model, batch)

    mcfg = MiningConfig(k=args.k, band=args.band or None, per_query=args.per_query, seed=args.seed)
    need = {VARIANTS[v]["mined"] for v in args.variants.split(",")}
    mined_sets = {}
    if "judge" in need:
        log("mining with the judge")
        r = mine(encode_cached, texts, judgments, mcfg, judge=judge)
        mined_sets["judge"] = r.judgments
        results["mining_judge"] = r.stats
    if "negative" in need:
        log("mining without the judge (hard negatives)")
        r = mine(encode_cached, texts, judgments, mcfg, judge=None)
        mined_sets["negative"] = r.judgments
        results["mining_negative"] = r.stats
    log("cosine-threshold baseline for the judge")
    results["judge_cosine_baseline"] = cosine_threshold_baseline(model, catalog_emb, list(texts), train_set, dev_set)
    save()
    log("dev metrics of Stage 1")
    results["stage1"] = dev_report(model, texts, dev_set, product_embeddings=catalog_emb)
    save()

    # --- Stage 2 variants ------------------------------------------------------------------------------
    margins = [float(m) for m in args.margins.split(",")]
    results["stage2"] = {}
    for name in args.variants.split(","):
        spec = VARIANTS[name]
        log(f"Stage 2 variant {name}")
        cfg = Stage2Config(model=str(stage1_dir), circle_weight=spec["circle_weight"], margins=margins,
                           gamma=args.gamma, max_steps=args.stage2_steps, batch_size=args.batch_size, lr=args.lr,
                           seed=args.seed, evaluate_start=False, device="cpu")
        mined = mined_sets.get(spec["mined"]) if spec["mined"] else None
        started = time.perf_counter()
        rep = train_stage2(cfg, catalog, judgments, mined, out / f"stage2-{name}")
        results["stage2"][name] = {"dev": rep["dev"]["stage2"], "data": rep["data"],
                                   "seconds": round(time.perf_counter() - started, 1),
                                   "first_loss": rep["training"]["first_loss"],
                                   "last_loss": rep["training"]["last_loss"]}
        save()
    if args.engine_eval:
        from dev_engine_eval import engine_dev_metrics

        # base, Stage 1 and the Stage-2 variant with the best dense dev nDCG@10 (indexing costs minutes each)
        best = max(results["stage2"], key=lambda n: results["stage2"][n]["dev"].get("ndcg@10") or 0.0)
        models = {"base": None, "stage1": str(stage1_dir), f"stage2 {best}": str(out / f"stage2-{best}")}
        results["engine"] = {}
        for name, ref in models.items():
            log(f"engine dev eval: {name}")
            results["engine"][name] = engine_dev_metrics(ref, catalog, dev_set, out / "engine-index", log=log)
            save()
    print_tables(results)
    return 0


def cosine_threshold_baseline(model, catalog_emb, ids: list[str], train_set, dev_set) -> dict:
    """A judge made of the Stage-1 cosine and three ordinal cut points (grade = number of cut points the cosine
    passes), the cut points chosen on the training pairs by accuracy among the 2 %..98 % quantiles (40 steps).
    Returns dev {"accuracy", "within_one", "thresholds", "train_accuracy"}: the bar the judge must clear to
    add anything beyond the embedding that mining already uses."""
    import itertools

    import numpy as np

    row = {pid: i for i, pid in enumerate(ids)}

    def cos_and_grades(js):
        js = [j for j in js if j.product_id in row]
        queries = sorted({j.query for j in js})
        q_emb = dict(zip(queries, encode(model, queries), strict=True))
        cos = np.array([float(q_emb[j.query] @ catalog_emb[row[j.product_id]]) for j in js])
        return cos, np.array([j.grade for j in js])

    c_train, g_train = cos_and_grades(list(train_set))
    c_dev, g_dev = cos_and_grades(list(dev_set))
    levels = int(max(g_train.max(), g_dev.max())) + 1
    grid = np.quantile(c_train, np.linspace(0.02, 0.98, 40))
    best_acc, best_cuts = -1.0, None
    for cuts in itertools.combinations(grid, levels - 1):
        acc = float((np.digitize(c_train, cuts) == g_train).mean())
        if acc > best_acc:
            best_acc, best_cuts = acc, cuts
    pred = np.digitize(c_dev, best_cuts)
    return {"pairs": int(len(g_dev)), "accuracy": float((pred == g_dev).mean()),
            "within_one": float((np.abs(pred - g_dev) <= 1).mean()),
            "thresholds": [round(float(c), 4) for c in best_cuts], "train_accuracy": best_acc}


def _fmt(v) -> str:
    return "-" if v is None else f"{v:.4f}"


def print_tables(results: dict) -> None:
    j, b = results["judge_dev"], results["judge_majority_baseline"]
    print("\n## Judge (cross-encoder, dev queries)")
    print("| judge | pairs | accuracy | within one |\n|---|---|---|---|")
    print(f"| cross-encoder MiniLM | {j['pairs']} | {_fmt(j['accuracy'])} | {_fmt(j['within_one'])} |")
    print(f"| always '{b['grade']}' (majority) | {j['pairs']} | {_fmt(b['accuracy'])} | {_fmt(b['within_one'])} |")
    c = results.get("judge_cosine_baseline")
    if c:
        print(f"| Stage-1 cosine, 3 fitted thresholds | {c['pairs']} | {_fmt(c['accuracy'])} | "
              f"{_fmt(c['within_one'])} |")
    a = results["audit"]
    print("\n## Audit on the UBI sample (esci_ubi_sample)")
    print(f"events attributed {a['events_attributed']} of {a['events_read']}; judged pairs with engagement "
          f"{a['judged_pairs_with_engagement']}; re-judged grade changes {a['rejudged_changed']}")
    for rule, c in a["counts"].items():
        print(f"- {rule}: {sum(c.values())}")
    print("\n## Dev queries: base vs Stage 1 vs Stage 2")
    print("| model | " + " | ".join(METRICS) + " |\n|---|" + "---|" * len(METRICS))
    rows = [("base", results.get("base")), ("stage1", results.get("stage1"))]
    rows += [(f"stage2 {n}", r["dev"]) for n, r in results.get("stage2", {}).items()]
    for name, m in rows:
        if m:
            print(f"| {name} | " + " | ".join(_fmt(m.get(k)) for k in METRICS) + " |")
    if results.get("engine"):
        from dev_engine_eval import format_table

        print("\n## Dev queries through the embedded engine (nDCG@10, recall@100 of exact products)")
        print(format_table(results["engine"], base="stage1"))


if __name__ == "__main__":
    sys.exit(main())
