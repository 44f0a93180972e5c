"""Mine & Refine Stage 2: refine the Stage-1 model on human + mined (judge-labeled) pairs with graded SupCon
plus the multi-class circle loss, which sharpens the cosine boundary between every pair of adjacent levels.

``train_stage2(config, catalog, judgments, mined, out_dir)`` writes a SentenceTransformer directory with
``training.json`` and ``loss_curve.png`` (the same outputs as Stage 1) and returns the report. The dev split
is Stage 1's (same dev fraction and seed), so dev queries stay unseen through both stages.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import SimpleNamespace

import torch
from torch import Tensor, nn

from mrs.data.catalog import Product
from mrs.data.judgments import Judgment, JudgmentSet
from mrs.data.text import ProductTextTemplate
from mrs.errors import InputError, json_error_text
from mrs.models import load_sentence_transformer, model_identity, resolve_model
from mrs.toolkit.augment import augment_spelling
from mrs.toolkit.batching import build_batches
from mrs.toolkit.dev_eval import DevEvaluator, dev_report, encode, regression_warnings
from mrs.toolkit.losses.base import embed_pairs
from mrs.toolkit.losses.circle import MultiClassCircleLoss, estimate_level_targets, spread_level_targets
from mrs.toolkit.losses.supcon import GradedSupConLoss, default_level_weights
from mrs.toolkit.mining import merge_mined
from mrs.toolkit.training import TrainingConfig, pick_device, seed_everything, training_summary
from mrs.toolkit.training_data import (
    EpochPlan,
    ProgressCallback,
    check_judgments,
    save_trained,
    split_train_dev,
    train_and_evaluate,
    training_examples,
)

__all__ = ["Stage2Config", "Stage2Loss", "circle_level_targets", "dev_report", "parse_floats", "read_stage1_report",
           "train_stage2"]


@dataclass
class Stage2Config(TrainingConfig):
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
    lr defaults to 1e-5 (a refinement); the other optimisation settings are TrainingConfig's.
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
    lr: float = 1e-5
    template: str | None = None
    evaluate_start: bool = True
    extra: dict = field(default_factory=dict)


class Stage2Loss(nn.Module):
    """supcon_weight × GradedSupConLoss + circle_weight × MultiClassCircleLoss on the same embeddings.

    Called as the trainer calls a loss, it returns the weighted parts as a dict ({"supcon": ..., "circle":
    ...}, parts of weight 0 left out): SentenceTransformerTrainer sums them into the loss and logs each part
    per step. ``compute_loss_from_embeddings`` returns their sum. Each distinct query of the batch is embedded
    once. The unweighted value of every part at every call is kept in ``parts``."""

    def __init__(self, model, supcon: GradedSupConLoss, circle: MultiClassCircleLoss, supcon_weight: float,
                 circle_weight: float):
        super().__init__()
        if not (supcon_weight or circle_weight):
            raise ValueError("Stage 2 needs a SupCon or a circle weight > 0")
        self.model = model
        self.supcon = supcon
        self.circle = circle
        self.supcon_weight = float(supcon_weight)
        self.circle_weight = float(circle_weight)
        self.parts: dict[str, list[float]] = {"supcon": [], "circle": []}

    def forward(self, sentence_features: Iterable[dict[str, Tensor]], labels: Tensor) -> dict[str, Tensor]:
        return self.weighted_parts(embed_pairs(self.model, sentence_features, labels), labels)

    def compute_loss_from_embeddings(self, embeddings: list[Tensor], labels: Tensor) -> Tensor:
        return torch.stack(list(self.weighted_parts(embeddings, labels).values())).sum()

    def weighted_parts(self, embeddings: list[Tensor], labels: Tensor) -> dict[str, Tensor]:
        """{"supcon": w_s × SupCon, "circle": w_c × circle} for the parts with a weight > 0."""
        out: dict[str, Tensor] = {}
        for name, part, weight in (("supcon", self.supcon, self.supcon_weight),
                                   ("circle", self.circle, self.circle_weight)):
            if weight:
                value = part.compute_loss_from_embeddings(embeddings, labels)
                self.parts[name].append(float(value.detach()))
                out[name] = weight * value
        return out


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
    mining never produces, are refused). Checkpoints (config.save_steps) go to ``out_dir/checkpoints``.
    Raises InputError for unusable input.
    """
    started = time.perf_counter()
    report_progress = progress or (lambda stage, done, total: None)
    seed_everything(config.seed)
    model_path = resolve_model(config.model or None)
    stage1 = read_stage1_report(model_path)
    data = prepare_stage2_data(config, stage1, catalog, judgments, mined)
    report_progress("prepare", 1, 3)
    device = pick_device(config.device)
    model = load_sentence_transformer(model_path, device=device)
    model.max_seq_length = config.max_seq_length
    plan = EpochPlan(data.examples, batch_size=config.batch_size, per_query=config.per_query,
                     top=judgments.scheme.top, seed_base=config.seed * 1000 + 500, build=build_batches)
    if not plan(0):
        raise InputError("no training batch could be formed (too few judged products per query?)")
    plan_counts = plan.plan_counts()
    report_progress("prepare", 2, 3)

    evaluator = DevEvaluator(data.texts, data.dev_set, adjacent_levels=True)
    dev_start = None
    if data.dev_set.judgments and config.evaluate_start:
        report_progress("evaluate", 0, 2)
        dev_start = evaluator.metrics(model)
    report_progress("prepare", 3, 3)

    loss, level_targets = stage2_loss(config, model, data.train_set, data.texts)
    result, dev_end = train_and_evaluate(model, loss, data.examples, plan, config, out_dir, evaluator,
                                       report_progress)

    report = _stage2_report(config, data, model_path, model, device, plan_counts, result, level_targets,
                            {"base": (stage1.get("dev") or {}).get("base"), "stage1": dev_start, "stage2": dev_end})
    if result.main_process:
        save_trained(model, out_dir, report, result.step_losses,
                     f"Stage 2 loss ({config.supcon_weight:g}·SupCon + {config.circle_weight:g}·circle)", started,
                     config.extra.get("command"))
    return report


def prepare_stage2_data(config: Stage2Config, stage1: dict, catalog: Iterable[Product], judgments: JudgmentSet,
                        mined: JudgmentSet | None) -> SimpleNamespace:
    """The Stage-2 training data: Stage 1's split (refused when config's dev fraction or seed differ), the
    training queries' human judgments merged with the mined pairs, optional misspelled copies and the rows.
    Returns a namespace with products, template, texts, missing, train_set, dev_set, merge_counts,
    mined_missing, mined_rows, augmented, examples."""
    s1_cfg = stage1.get("config", {})
    if stage1 and (s1_cfg.get("dev_fraction"), s1_cfg.get("seed")) != (config.dev_fraction, config.seed):
        raise InputError(f"Stage 1 split its queries with dev fraction {s1_cfg.get('dev_fraction')} and seed "
                         f"{s1_cfg.get('seed')}; Stage 2 must use the same (got {config.dev_fraction}, "
                         f"{config.seed}) or dev queries leak into training")
    template = ProductTextTemplate(config.template or s1_cfg.get("template") or ProductTextTemplate().template)
    products = {p.id: p for p in catalog}
    if not products:
        raise InputError("the catalog is empty")
    texts = {pid: template.render(p) for pid, p in products.items()}
    judged, missing, _ = check_judgments(judgments, set(products))
    train_set, dev_set = split_train_dev(judged, config.dev_fraction, config.seed)
    relabelled = [j for j in dev_set if j.source == "audited"]
    if relabelled:
        raise InputError(f"{len(relabelled)} judgments of dev queries were re-judged by an audit (source audited, "
                         f"e.g. {relabelled[0].query_id!r} / {relabelled[0].product_id!r}): the dev table would "
                         "compare models on changed labels; audit with the training split's --dev-fraction and "
                         "--seed so dev queries keep their labels")
    merge_counts = {"added": 0, "replaced": 0, "low_confidence": 0, "duplicates": 0}
    mined_missing = 0
    if mined is not None and mined.judgments:
        leaked = {j.query_id for j in mined} & set(dev_set.queries())
        if leaked:
            raise InputError(f"the mined pairs hold {len(leaked)} dev queries (e.g. {sorted(leaked)[0]!r}); mine "
                             "with the same --dev-fraction and --seed as training")
        in_catalog = [j for j in mined if j.product_id in products]
        mined_missing = len(mined) - len(in_catalog)
        train_set, merge_counts = merge_mined(train_set, JudgmentSet(mined.scheme, in_catalog),
                                              config.min_confidence)
    augmented: list[Judgment] = []
    if config.spelling_rate:
        augmented = augment_spelling(train_set, config.spelling_rate, seed=config.seed)
    return SimpleNamespace(products=products, template=template, texts=texts, missing=missing, train_set=train_set,
                           dev_set=dev_set, merge_counts=merge_counts, mined_missing=mined_missing,
                           mined_rows=len(mined) if mined is not None else 0, augmented=augmented,
                           judgments=len(judgments), examples=training_examples([*train_set, *augmented], texts))


def stage2_loss(config: Stage2Config, model, train_set: JudgmentSet, texts: Mapping[str, str]
                ) -> tuple[Stage2Loss, list[float]]:
    """The Stage-2 loss (graded SupCon with in-batch negatives gathered across devices + the multi-class
    circle loss, weighted) and the circle loss's level targets. InputError for bad circle parameters."""
    n_levels = len(train_set.scheme.levels)
    supcon = GradedSupConLoss(model, temperature=config.temperature,
                              level_weights=config.level_weights or default_level_weights(n_levels),
                              gather_across_devices=True)
    margins = _margins(config, n_levels)
    level_targets = circle_level_targets(config.circle_targets, model, train_set, texts, n_levels)
    try:
        circle = MultiClassCircleLoss(model, n_levels, margins=margins, gamma=config.gamma,
                                      boundary_weights=config.boundary_weights, level_targets=level_targets)
        return Stage2Loss(model, supcon, circle, config.supcon_weight, config.circle_weight), level_targets
    except ValueError as e:
        raise InputError(str(e)) from None


def _stage2_report(config: Stage2Config, data: SimpleNamespace, model_path: str, model, device: str,
                   plan_counts: dict, result, level_targets: list[float], dev: dict) -> dict:
    """training.json of a Stage-2 run (config, data counts, the training section with the loss parts, dev
    metrics of base / Stage 1 / Stage 2, warnings)."""
    sources: dict[str, int] = {}
    for j in data.train_set:
        sources[j.source] = sources.get(j.source, 0) + 1
    names = data.train_set.scheme.levels
    supcon, circle = result.parts.get("supcon", []), result.parts.get("circle", [])
    return {
        "stage": 2,
        "config": {**asdict(config), "template": data.template.template, "margins": _margins(config, len(names)),
                   "circle_level_targets": {names[g]: round(t, 6) for g, t in enumerate(level_targets)},
                   "level_weights": {names[g]: w for g, w in enumerate(config.level_weights
                                                                      or default_level_weights(len(names)))}},
        "start_model": model_identity(model_path),
        "device": device,
        "scheme": data.train_set.scheme.name,
        "embedding_dim": model.get_embedding_dimension(),
        "data": {
            "catalog_products": len(data.products),
            "judgments": data.judgments,
            "judgments_missing_product": data.missing,
            "train_queries": len(data.train_set.queries()),
            "dev_queries": len(data.dev_set.queries()),
            "mined_rows": data.mined_rows,
            "mined_missing_product": data.mined_missing,
            "merge": data.merge_counts,
            "training_rows_by_source": sources,
            "augmented_judgments": len(data.augmented),
            "training_rows": len(data.examples),
            **plan_counts,
        },
        "training": {
            **training_summary(result, result.planned, config.max_steps),
            # the trainer logs each part weighted; the report keeps them unweighted, as the loss defines them
            "supcon_per_step": [round(v / config.supcon_weight, 6) for v in supcon] if config.supcon_weight else [],
            "circle_per_step": [round(v / config.circle_weight, 6) for v in circle] if config.circle_weight else [],
        },
        "dev": dev,
        "warnings": regression_warnings(dev["stage2"], {"base model": dev["base"], "Stage-1 model": dev["stage1"]}),
    }


def _margins(config: Stage2Config, n_levels: int) -> list[float]:
    return config.margins if config.margins is not None else [0.25] * (n_levels - 1)


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

