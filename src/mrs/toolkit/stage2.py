"""Mine & Refine Stage 2: refine the Stage-1 model on human + mined (judge-labeled) pairs with graded SupCon
plus the multi-class circle loss, which sharpens the cosine boundary between every pair of adjacent levels.

``train_stage2(config, catalog, judgments, mined, out_dir)`` writes a SentenceTransformer directory with
``training.json`` and ``loss_curve.png`` (the same outputs as Stage 1) and returns the report. The dev split
is Stage 1's (same dev fraction and seed), so dev queries stay unseen through both stages.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import Tensor, nn

from mrs.data.catalog import Product
from mrs.data.judgments import Judgment, JudgmentSet
from mrs.data.splits import train_dev_split
from mrs.data.text import ProductTextTemplate
from mrs.errors import InputError, json_error_text
from mrs.measures.auc import separation_auc
from mrs.models import load_sentence_transformer, model_identity, resolve_model, write_json
from mrs.toolkit.augment import augment_spelling
from mrs.toolkit.batching import TrainingExample, build_batches, rows_left_out
from mrs.toolkit.dev_eval import encode, evaluate_dense, regression_warnings
from mrs.toolkit.losses.circle import MultiClassCircleLoss, estimate_level_targets, spread_level_targets
from mrs.toolkit.losses.supcon import GradedSupConLoss, default_level_weights
from mrs.toolkit.mining import merge_mined
from mrs.toolkit.model_card import write_model_card
from mrs.toolkit.stage1 import _check_judgments, _examples
from mrs.toolkit.training import (
    fit_planned,
    pick_device,
    planned_steps,
    plot_loss_curve,
    save_model_atomic,
    seed_everything,
    training_summary,
)

# progress(stage, done, total): "prepare", "train", "evaluate".
ProgressCallback = Callable[[str, int, int], None]


@dataclass
class Stage2Config:
    """Everything a Stage-2 run depends on (written to training.json).

    model: the Stage-1 model directory (the starting point). circle_weight: weight of the circle loss added
    to SupCon (0 = SupCon only). supcon_weight: weight of graded SupCon (0 = circle loss only).
    margins: circle margin per adjacent boundary, lowest boundary first, as a fraction of the boundary's gap
    (None = 0.25 each). gamma: circle scale γ. boundary_weights: per boundary (None = 1 each).
    circle_targets: the circle loss's target cosine per level — "spread" (evenly over [0, 1]), "estimated"
    (median Stage-1 cosine of each level's training pairs, made increasing) or a list, lowest level first. temperature / level_weights: SupCon's (None =
    its defaults). min_confidence: mined rows below this judge confidence are left out. spelling_rate:
    misspelled copies per training query (0 = none; Stage 1 already added them). template: product text
    template (None = the one recorded in the Stage-1 training.json, else the default). dev_fraction / seed:
    must equal Stage 1's to keep its dev queries unseen. evaluate_start: score the Stage-1 model on dev too.
    """

    model: str = ""
    circle_weight: float = 1.0
    supcon_weight: float = 1.0
    margins: list[float] | None = None
    gamma: float = 32.0
    boundary_weights: list[float] | None = None
    circle_targets: str | list[float] = "spread"
    temperature: float = 0.05
    level_weights: list[float] | None = None
    min_confidence: float = 0.0
    spelling_rate: float = 0.0
    dev_fraction: float = 0.2
    seed: int = 0
    epochs: int = 1
    max_steps: int = 0
    batch_size: int = 64
    per_query: int = 8
    lr: float = 1e-5
    warmup_ratio: float = 0.1
    template: str | None = None
    max_seq_length: int = 128
    device: str | None = None
    evaluate_start: bool = True
    extra: dict = field(default_factory=dict)


class Stage2Loss(nn.Module):
    """supcon_weight × GradedSupConLoss + circle_weight × MultiClassCircleLoss on the same embeddings.

    Each distinct query of the batch is embedded once. The parts of every step are kept in ``parts``
    ({"supcon": [...], "circle": [...]}) for the report."""

    def __init__(self, model, supcon: GradedSupConLoss, circle: MultiClassCircleLoss, supcon_weight: float,
                 circle_weight: float):
        super().__init__()
        self.model = model
        self.supcon = supcon
        self.circle = circle
        self.supcon_weight = float(supcon_weight)
        self.circle_weight = float(circle_weight)
        self.parts: dict[str, list[float]] = {"supcon": [], "circle": []}

    def forward(self, sentence_features: Iterable[dict[str, Tensor]], labels: Tensor) -> Tensor:
        query_features, product_features = list(sentence_features)
        groups = labels[:, 0]
        first: dict[int, int] = {}
        for i, g in enumerate(groups.tolist()):
            first.setdefault(int(g), i)
        first_rows = torch.tensor(list(first.values()), dtype=torch.long, device=groups.device)
        query_once = {k: v[first_rows] if isinstance(v, Tensor) and v.shape[:1] == groups.shape else v
                      for k, v in query_features.items()}
        query_emb_once = self.model(query_once)["sentence_embedding"]
        position = {g: n for n, g in enumerate(first)}
        spread = torch.tensor([position[int(g)] for g in groups.tolist()], device=groups.device)
        embeddings = [query_emb_once[spread], self.model(product_features)["sentence_embedding"]]
        return self.compute_loss_from_embeddings(embeddings, labels)

    def compute_loss_from_embeddings(self, embeddings: list[Tensor], labels: Tensor) -> Tensor:
        total = embeddings[0].new_zeros(())
        if self.supcon_weight:
            s = self.supcon.compute_loss_from_embeddings(embeddings, labels)
            self.parts["supcon"].append(float(s.detach()))
            total = total + self.supcon_weight * s
        if self.circle_weight:
            c = self.circle.compute_loss_from_embeddings(embeddings, labels)
            self.parts["circle"].append(float(c.detach()))
            total = total + self.circle_weight * c
        return total


def adjacent_aucs(model, product_texts: Mapping[str, str], dev: JudgmentSet, batch_size: int = 64) -> dict:
    """ROC AUC of the cosine for telling grade b from grade b−1, for every adjacent pair of levels, pooled over
    the judged dev pairs ({"auc_exact_vs_substitute": 0.61, ...}; None when a level has no pair)."""
    rows = [j for j in dev if j.product_id in product_texts]
    if not rows:
        return {}
    queries = dev.queries()
    qids = list(queries)
    q_emb = encode(model, [queries[q] for q in qids], batch_size)
    pids = list(dict.fromkeys(j.product_id for j in rows))
    p_emb = encode(model, [product_texts[p] for p in pids], batch_size)
    qrow = {q: i for i, q in enumerate(qids)}
    prow = {p: i for i, p in enumerate(pids)}
    cos = [float(q_emb[qrow[j.query_id]] @ p_emb[prow[j.product_id]]) for j in rows]
    grades = [j.grade for j in rows]
    names = dev.scheme.levels
    return {f"auc_{names[b]}_vs_{names[b - 1]}": separation_auc(cos, grades, b, b - 1)
            for b in range(dev.scheme.top, 0, -1)}


def dev_report(model, texts: Mapping[str, str], dev: JudgmentSet, product_embeddings=None) -> dict | None:
    """evaluate_dense (nDCG@10, recall@100, AUCs) + every adjacent-level AUC; None without dev queries.

    product_embeddings: the catalog's unit embeddings in the order of texts (skips encoding it again)."""
    if not dev.judgments:
        return None
    product_emb = product_embeddings if product_embeddings is not None else encode(model, list(texts.values()))
    metrics = evaluate_dense(model, texts, dev, product_embeddings=product_emb)
    metrics.update(adjacent_aucs(model, texts, dev))
    return metrics


def circle_level_targets(spec, model, train_set: JudgmentSet, texts: Mapping[str, str], n_levels: int
                         ) -> list[float]:
    """The circle loss's per-level target cosines (lowest level first) for Stage2Config.circle_targets:
    "spread", "estimated" (the starting model's median cosine per level over the training pairs,
    mrs.toolkit.losses.circle.estimate_level_targets) or an explicit list. InputError for anything else."""
    if spec in (None, "", "spread"):
        return spread_level_targets(n_levels)
    if spec == "estimated":
        rows = [j for j in train_set if j.product_id in texts]
        queries = train_set.queries()
        qids = list(queries)
        q_emb = encode(model, [queries[q] for q in qids])
        pids = list(dict.fromkeys(j.product_id for j in rows))
        p_emb = encode(model, [texts[p] for p in pids])
        qrow, prow = {q: i for i, q in enumerate(qids)}, {p: i for i, p in enumerate(pids)}
        cos = [float(q_emb[qrow[j.query_id]] @ p_emb[prow[j.product_id]]) for j in rows]
        return estimate_level_targets(cos, [j.grade for j in rows], n_levels)
    values = list(spec) if not isinstance(spec, str) else parse_floats(spec, "--circle-targets", n_levels)
    if len(values) != n_levels or any(b <= a for a, b in zip(values, values[1:], strict=False)):
        raise InputError(f"--circle-targets: expected {n_levels} strictly increasing cosines (lowest level first), "
                         f"got {spec!r}")
    return [float(v) for v in values]


def read_stage1_report(model_dir: str) -> dict:
    """The Stage-1 training.json beside the model ({} when absent, e.g. a plain model directory)."""
    p = Path(model_dir) / "training.json"
    if not p.is_file():
        return {}
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise InputError(f"malformed training.json ({json_error_text(e)})", str(p), e.lineno) from None


def train_stage2(
    config: Stage2Config,
    catalog: Iterable[Product],
    judgments: JudgmentSet,
    mined: JudgmentSet | None,
    out_dir: str | Path,
    *,
    progress: ProgressCallback | None = None,
) -> dict:
    """Run Stage 2 end to end and return the report (also written to ``out_dir/training.json``).

    catalog: all products (the dev retrieval corpus). judgments: the human (or audited) judgments, train and
    dev (split here as Stage 1 did). mined: ``mrs mine`` output (None = none): merged into the training
    queries with ``merge_mined`` (re-judged pairs replace their human label; rows of dev queries, which
    mining never produces, are refused). Raises InputError for unusable input.
    """
    started = time.perf_counter()
    report_progress = progress or (lambda stage, done, total: None)
    seed_everything(config.seed)
    scheme = judgments.scheme
    model_path = resolve_model(config.model or None)
    stage1 = read_stage1_report(model_path)
    s1_cfg = stage1.get("config", {})
    if stage1 and (s1_cfg.get("dev_fraction"), s1_cfg.get("seed")) != (config.dev_fraction, config.seed):
        raise InputError(f"Stage 1 split its queries with dev fraction {s1_cfg.get('dev_fraction')} and seed "
                         f"{s1_cfg.get('seed')}; Stage 2 must use the same (got {config.dev_fraction}, "
                         f"{config.seed}) or dev queries leak into training")
    template_text = config.template or s1_cfg.get("template") or ProductTextTemplate().template
    template = ProductTextTemplate(template_text)
    products = {p.id: p for p in catalog}
    if not products:
        raise InputError("the catalog is empty")
    texts = {pid: template.render(p) for pid, p in products.items()}
    judged, missing, _ = _check_judgments(judgments, set(products))

    train_ids, dev_ids = train_dev_split(judged, config.dev_fraction, config.seed)
    train_set, dev_set = judged.subset(train_ids), judged.subset(dev_ids)
    if not train_set.judgments:
        raise InputError("no training queries left after the dev split; lower --dev-fraction")
    relabelled = [j for j in dev_set if j.source == "audited"]
    if relabelled:
        raise InputError(f"{len(relabelled)} judgments of dev queries were re-judged by an audit (source audited, "
                         f"e.g. {relabelled[0].query_id!r} / {relabelled[0].product_id!r}): the dev table would "
                         "compare models on changed labels; audit with the training split's --dev-fraction and "
                         "--seed so dev queries keep their labels")
    merge_counts = {"added": 0, "replaced": 0, "low_confidence": 0, "duplicates": 0}
    mined_missing = 0
    if mined is not None and mined.judgments:
        leaked = {j.query_id for j in mined} & set(dev_ids)
        if leaked:
            raise InputError(f"the mined pairs hold {len(leaked)} dev queries (e.g. {sorted(leaked)[0]!r}); mine "
                             "with the same --dev-fraction and --seed as training")
        in_catalog = [j for j in mined if j.product_id in products]
        mined_missing = len(mined) - len(in_catalog)
        train_set, merge_counts = merge_mined(train_set, JudgmentSet(mined.scheme, in_catalog),
                                              config.min_confidence)
    report_progress("prepare", 1, 3)

    augmented: list[Judgment] = []
    if config.spelling_rate:
        augmented = augment_spelling(train_set, config.spelling_rate, seed=config.seed)
    examples = _examples([*train_set, *augmented], texts)
    device = pick_device(config.device)
    model = load_sentence_transformer(model_path, device=device)
    model.max_seq_length = config.max_seq_length
    judged_by_origin: dict[str, set[str]] = {}
    for ex in examples:
        judged_by_origin.setdefault(ex.origin_id, set()).add(ex.product_id)

    def plan(epoch: int) -> list[list[TrainingExample]]:
        batches = build_batches(examples, batch_size=config.batch_size, per_query=config.per_query,
                                top=scheme.top, seed=config.seed * 1000 + 500 + epoch, judged=judged_by_origin)
        return [[examples[i] for i in b] for b in batches]

    first_plan = plan(0)
    if not first_plan:
        raise InputError("no training batch could be formed (too few judged products per query?)")
    total_steps = planned_steps(len(first_plan), config.epochs, config.max_steps)
    report_progress("prepare", 2, 3)

    dev_start = None
    if dev_set.judgments and config.evaluate_start:
        report_progress("evaluate", 0, 2)
        dev_start = dev_report(model, texts, dev_set)
    report_progress("prepare", 3, 3)

    n_levels = len(scheme.levels)
    supcon_weights = config.level_weights or default_level_weights(n_levels)
    margins = config.margins if config.margins is not None else [0.25] * (n_levels - 1)
    supcon = GradedSupConLoss(model, temperature=config.temperature, level_weights=supcon_weights)
    level_targets = circle_level_targets(config.circle_targets, model, train_set, texts, n_levels)
    try:
        circle = MultiClassCircleLoss(model, n_levels, margins=margins, gamma=config.gamma,
                                      boundary_weights=config.boundary_weights, level_targets=level_targets)
    except ValueError as e:
        raise InputError(str(e)) from None
    loss = Stage2Loss(model, supcon, circle, config.supcon_weight, config.circle_weight)
    result = fit_planned(model, loss, plan, first_plan, config,
                         on_step=lambda step, total, value: report_progress("train", step, total))

    dev_end = None
    if dev_set.judgments:
        report_progress("evaluate", 1, 2)
        dev_end = dev_report(model, texts, dev_set)
        report_progress("evaluate", 2, 2)

    sources: dict[str, int] = {}
    for j in train_set:
        sources[j.source] = sources.get(j.source, 0) + 1
    names = scheme.levels
    report = {
        "stage": 2,
        "config": {**asdict(config), "template": template.template, "margins": margins,
                   "circle_level_targets": {names[g]: round(t, 6) for g, t in enumerate(level_targets)},
                   "level_weights": {names[g]: w for g, w in enumerate(supcon_weights)}},
        "start_model": model_identity(model_path),
        "device": device,
        "scheme": scheme.name,
        "embedding_dim": model.get_embedding_dimension(),
        "data": {
            "catalog_products": len(products),
            "judgments": len(judgments),
            "judgments_missing_product": missing,
            "train_queries": len(train_ids),
            "dev_queries": len(dev_ids),
            "mined_rows": len(mined) if mined is not None else 0,
            "mined_missing_product": mined_missing,
            "merge": merge_counts,
            "training_rows_by_source": sources,
            "augmented_judgments": len(augmented),
            "training_rows": len(examples),
            "batches_per_epoch": len(first_plan),
            "rows_not_in_first_epoch": rows_left_out(len(examples), first_plan),
        },
        "training": {
            **training_summary(result, total_steps, config.max_steps),
            "supcon_per_step": [round(v, 6) for v in loss.parts["supcon"]],
            "circle_per_step": [round(v, 6) for v in loss.parts["circle"]],
        },
        "dev": {"base": (stage1.get("dev") or {}).get("base"), "stage1": dev_start, "stage2": dev_end},
        "warnings": regression_warnings(dev_end, {"base model": (stage1.get("dev") or {}).get("base"),
                                                  "Stage-1 model": dev_start}),
    }

    def write_extra(tmp: Path) -> None:
        plot_loss_curve(result.step_losses, tmp / "loss_curve.png",
                        title=f"Stage 2 loss ({config.supcon_weight:g}·SupCon + {config.circle_weight:g}·circle)")
        report["seconds_total"] = round(time.perf_counter() - started, 2)
        write_json(tmp / "training.json", report)
        write_model_card(tmp, report, config.extra.get("command"))

    out = save_model_atomic(model, out_dir, write_extra)
    report["model_dir"] = str(out)
    return report


def parse_floats(text: str | None, what: str, count: int | None = None) -> list[float] | None:
    """"0.2,0.25,0.3" → [0.2, 0.25, 0.3]; None/"" → None. InputError for a bad number or wrong count."""
    if not text:
        return None
    try:
        values = [float(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise InputError(f"{what}: expected comma-separated numbers, got {text!r}") from None
    if count is not None and len(values) == 1 and count > 1:
        values = values * count
    if count is not None and len(values) != count:
        raise InputError(f"{what}: expected {count} values (one per adjacent level boundary), got {len(values)}")
    return values

