"""The Stage-2 chain of one cross-validation fold (used by benchmarks/cv.py): judge, mining, Stage-2 training.

Input: the catalog, the fold's training judgments only (held-out queries never reach any step), the fold's
Stage-1 model directory and the chain's settings (``Stage2Chain``). Steps, as ``mrs judge train``, ``mrs mine``
and ``mrs train stage2`` run them:

1. judge: an ordinal judge (mrs.toolkit.judge_ordinal.fit_ordinal_judge, kind ``ordinal-logistic`` by default)
   fitted on the training judgments, cross-fitted by query (each training query's pairs are labeled by the
   fold model that did not see that query), the cosine feature from the Stage-1 model;
2. mining: the catalog embedded with the Stage-1 model (texts cut at ``max_seq_length`` tokens, as in
   training), faiss top-k per training query, unjudged products near a level boundary kept and labeled by the
   judge (mrs.toolkit.mining.mine, dev fraction 0: every training query is mined);
3. Stage 2 from the Stage-1 model on the training judgments + the mined pairs (mrs.toolkit.stage2): graded
   SupCon + multi-class circle loss.

Output: (Stage-2 model directory, cost and statistics {judge_seconds, judge_cross_fit balanced accuracy,
mining_seconds, mined pairs per source and level, train_seconds, steps}).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from mrs.data.judgments import JudgmentSet
from mrs.data.text import ProductTextTemplate


@dataclass
class Stage2Chain:
    """mine: run the judge and mining (False = Stage 2 on the human judgments only). judge_kind: an ordinal
    kind (mrs.toolkit.judge_ordinal.ORDINAL_KINDS). judge_folds: cross-fitting folds of the judge.
    circle_weight: weight of the circle loss (0 = SupCon only). circle_targets: the circle loss's level targets
    ("spread" over [0, 1] or "estimated" from the Stage-1 cosines, mrs.toolkit.stage2). k / band / per_query: mining depth, cosine
    band around each boundary, most mined pairs per query (mrs.toolkit.mining.MiningConfig)."""

    mine: bool = True
    judge_kind: str = "ordinal-logistic"
    judge_folds: int = 5
    circle_weight: float = 1.0
    circle_targets: str = "spread"
    k: int = 50
    band: float = 0.05
    per_query: int = 20


def mine_with_judge(chain: Stage2Chain, catalog, train_set: JudgmentSet, stage1_dir: str, *, template: str,
                    max_seq_length: int, seed: int, log) -> tuple[JudgmentSet, dict]:
    """Steps 1–2 of the module doc: (mined and labeled pairs of the training queries, statistics)."""
    from mrs.models import load_sentence_transformer
    from mrs.toolkit.dev_eval import encode
    from mrs.toolkit.judge_ordinal import fit_ordinal_judge
    from mrs.toolkit.mining import MiningConfig, mine

    products = {p.id: p for p in catalog}
    started = time.perf_counter()
    judge, cross_fit = fit_ordinal_judge(chain.judge_kind, train_set, products, template=template,
                                         embedder=stage1_dir, folds=chain.judge_folds, seed=seed)
    judge_s = time.perf_counter() - started
    log(f"judge {chain.judge_kind}: cross-fitted balanced accuracy {cross_fit['balanced_accuracy']:.3f} "
        f"(majority {cross_fit['majority']['balanced_accuracy']:.3f}) in {judge_s:.0f} s")
    tpl = ProductTextTemplate(template)
    texts = {pid: tpl.render(p) for pid, p in products.items()}
    model = load_sentence_transformer(stage1_dir, device="cpu")
    model.max_seq_length = max_seq_length
    config = MiningConfig(k=chain.k, band=chain.band, per_query=chain.per_query, dev_fraction=0.0, seed=seed)
    started = time.perf_counter()
    result = mine(lambda t: encode(model, t, 64), texts, train_set, config, judge=judge)
    mining_s = time.perf_counter() - started
    held_out = {j.query_id for j in result.judgments} - set(train_set.queries())
    if held_out:  # mining only sees train_set; a query outside it would be a leak across folds
        raise RuntimeError(f"mined pairs for {len(held_out)} queries outside the fold's training set")
    stats = {"judge_seconds": round(judge_s, 1), "judge_kind": chain.judge_kind,
             "judge_cross_fit_balanced_accuracy": cross_fit["balanced_accuracy"],
             "judge_majority_balanced_accuracy": cross_fit["majority"]["balanced_accuracy"],
             "mining_seconds": round(mining_s, 1), "mined": len(result.judgments),
             "mined_sources": result.stats["sources"], "mined_levels": result.stats["levels"]}
    log(f"mined {len(result.judgments)} pairs {result.stats['levels']} in {mining_s:.0f} s")
    return result.judgments, stats


def run_stage2_chain(chain: Stage2Chain, catalog, train_set: JudgmentSet, stage1_dir: str, out_dir: Path, *,
                     template: str, max_seq_length: int, steps: int, seed: int, log, tick) -> tuple[str, dict]:
    """The whole chain (module doc); returns (Stage-2 model directory, cost and statistics)."""
    from mrs.toolkit.stage2 import Stage2Config, train_stage2

    mined, stats = None, {"mined": 0}
    if chain.mine:
        mined, stats = mine_with_judge(chain, catalog, train_set, stage1_dir, template=template,
                                       max_seq_length=max_seq_length, seed=seed, log=log)
    config = Stage2Config(model=stage1_dir, max_steps=steps, dev_fraction=0.0, seed=seed, evaluate_start=False,
                          device="cpu", max_seq_length=max_seq_length, template=template,
                          circle_weight=chain.circle_weight, circle_targets=chain.circle_targets)
    report = train_stage2(config, catalog, train_set, mined, out_dir, progress=tick)
    t = report["training"]
    return str(out_dir), stats | {"train_seconds": t["seconds"], "steps": t["steps"],
                                  "loss_first": t.get("first_loss"), "loss_last": t.get("last_loss")}
