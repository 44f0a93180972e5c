"""Mine & Refine Stage 1: train a Siamese two-tower model (one shared encoder) with graded SupCon on the
training queries' judgments, additive misspelled copies and synthetic queries; evaluate on held-out queries.

``train_stage1(config, catalog, judgments, out_dir)`` writes a SentenceTransformer directory with
``training.json`` and ``loss_curve.png`` inside, and returns the report dict that training.json holds.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from mrs.data.catalog import Product
from mrs.data.judgments import Judgment, JudgmentSet
from mrs.data.splits import split_judgments
from mrs.data.text import DEFAULT_TEMPLATE, ProductTextTemplate
from mrs.errors import InputError
from mrs.models import load_sentence_transformer, model_identity, write_json
from mrs.toolkit.augment import augment_spelling
from mrs.toolkit.batching import TrainingExample, build_batches, rows_left_out
from mrs.toolkit.dev_eval import encode, evaluate_dense, regression_warnings
from mrs.toolkit.losses.supcon import GradedSupConLoss, default_level_weights
from mrs.toolkit.model_card import write_model_card
from mrs.toolkit.synthetic import QueryGenerator, TemplateQueryGenerator, generate_synthetic
from mrs.toolkit.training import (
    fit_planned,
    pick_device,
    planned_steps,
    plot_loss_curve,
    save_model_atomic,
    seed_everything,
    training_summary,
)

log = logging.getLogger(__name__)

# progress(stage, done, total): "prepare", "train", "evaluate" — the CLI maps it to a progress bar.
ProgressCallback = Callable[[str, int, int], None]


@dataclass
class Stage1Config:
    """Everything a Stage-1 run depends on (written to training.json).

    base: base model (local dir, "" = packaged all-MiniLM-L6-v2, or hub id). dim: projection head size
    (None = keep the base's dimension). level_weights: per-grade weights, index = grade (None = the loss's
    default: top 1.0, next 0.2, others 0). temperature: SupCon τ. spelling_rate: expected misspelled copies per
    training query (0 = off). synthetic_per_product: synthetic queries per catalog product (0 = off).
    dev_fraction: share of queries held out (0 = no dev evaluation). epochs / max_steps: stop at whichever
    comes first (max_steps 0 = no cap). batch_size: rows per batch; per_query: most rows of one query in a
    batch. lr: AdamW peak. template: product text template (must equal the indexer's). max_seq_length:
    tokens per text. device: None = GPU when present, else CPU. evaluate_base: also score the base model on
    dev (for the report's comparison). dev_corpus_size: 0 = the dev retrieval runs over the whole catalog;
    N > 0 = over the dev queries' judged products plus N other products drawn at random (seeded) — faster
    on large catalogs, and easier than the whole catalog (fewer distractors).
    """

    base: str = ""
    dim: int | None = None
    level_weights: list[float] | None = None
    temperature: float = 0.05
    spelling_rate: float = 0.5
    synthetic_per_product: int = 2
    dev_fraction: float = 0.2
    seed: int = 0
    epochs: int = 1
    max_steps: int = 0
    batch_size: int = 64
    per_query: int = 8
    lr: float = 2e-5
    warmup_ratio: float = 0.1
    template: str = DEFAULT_TEMPLATE
    max_seq_length: int = 128
    device: str | None = None
    evaluate_base: bool = True
    dev_corpus_size: int = 0
    extra: dict = field(default_factory=dict)


def parse_level_weights(text: str, scheme) -> list[float]:
    """"exact=1,substitute=0.2" (names or aliases of the scheme, or grades) → per-grade weights; levels not
    named keep their default. InputError for an unknown level or a bad number."""
    weights = default_level_weights(len(scheme.levels))
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = part.partition("=")
        if not sep:
            raise InputError(f"--level-weights: expected LEVEL=WEIGHT, got {part!r}")
        try:
            grade = scheme.grade_of(name.strip())
        except KeyError:
            raise InputError(f"--level-weights: unknown level {name.strip()!r} for scheme {scheme.name} "
                             f"({', '.join(scheme.levels)})") from None
        try:
            w = float(value)
        except ValueError:
            raise InputError(f"--level-weights: {value!r} is not a number") from None
        if w < 0:
            raise InputError(f"--level-weights: weights must be >= 0, got {part!r}")
        weights[grade] = w
    if not any(w > 0 for w in weights):
        raise InputError("--level-weights: at least one level needs a weight > 0")
    return weights


def _check_judgments(judgments: JudgmentSet, product_ids: set[str]) -> tuple[JudgmentSet, int, list[str]]:
    """Drop judgments of products missing from the catalog (counted); InputError when nothing is left or
    no query has a top-level product. Returns (kept judgments, missing count, queries without a positive)."""
    kept = [j for j in judgments if j.product_id in product_ids]
    missing = len(judgments) - len(kept)
    if missing:
        log.warning("%d judgments name products missing from the catalog; they are skipped", missing)
    if not kept:
        raise InputError("no judgment names a product of the catalog (wrong catalog or --id-field?)")
    out = JudgmentSet(judgments.scheme, kept)
    top = judgments.scheme.top
    without = [q for q, rows in out.by_query().items() if not any(j.grade == top for j in rows)]
    if len(without) == len(out.queries()):
        raise InputError(f"no query has a product at the top level ({judgments.scheme.name_of(top)!r}); "
                         "Stage 1 needs positives")
    return out, missing, without


def _examples(rows: Iterable[Judgment], texts: Mapping[str, str]) -> list[TrainingExample]:
    out = []
    for j in rows:
        origin = j.query_id.rsplit("~sp", 1)[0] if j.source == "augmented" else j.query_id
        out.append(TrainingExample(j.query_id, origin, j.query, j.product_id, texts[j.product_id], j.grade,
                                   j.source))
    return out


def build_model(config: Stage1Config, product_texts: list[str], device: str):
    """Load the base model; with config.dim, insert a Dense projection (initialised with the top principal
    directions of the catalog's base embeddings, so training starts from a sensible space) before the
    final Normalize. Returns the SentenceTransformer on ``device``."""
    model = load_sentence_transformer(config.base or None, device=device)
    model.max_seq_length = config.max_seq_length
    if not config.dim:
        return model
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Dense, Normalize

    width = _embedding_dim(model)
    if not 1 <= config.dim <= width:
        raise InputError(f"--dim must be between 1 and the base model's dimension {width}, not {config.dim}")
    modules = [m for m in model if not isinstance(m, Normalize)]
    had_normalize = len(modules) < len(list(model))
    probe = encode(model, product_texts[:2000]) if product_texts else np.eye(width, dtype=np.float32)
    centred = probe - probe.mean(axis=0, keepdims=True)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    basis = np.zeros((config.dim, width), dtype=np.float32)
    rows = min(config.dim, vt.shape[0])
    basis[:rows] = vt[:rows]
    dense = Dense(width, config.dim, bias=False, activation_function=None,
                  init_weight=torch.from_numpy(basis))
    modules.append(dense)
    modules.append(Normalize())
    if not had_normalize:
        log.info("base model had no Normalize module; the projected model normalises its output")
    projected = SentenceTransformer(modules=modules, device=device)
    projected.max_seq_length = config.max_seq_length
    return projected


def train_stage1(
    config: Stage1Config,
    catalog: Iterable[Product],
    judgments: JudgmentSet,
    out_dir: str | Path,
    *,
    progress: ProgressCallback | None = None,
    generator: QueryGenerator | None = None,
) -> dict:
    """Run Stage 1 end to end and return the report (also written to ``out_dir/training.json``).

    catalog: the products (all of them: the dev retrieval corpus and the synthetic-query source).
    judgments: graded judgments (any scheme); split by query into train/dev with config.dev_fraction + seed.
    generator: synthetic query generator (default TemplateQueryGenerator fitted on the catalog).
    Raises InputError for unusable input (no top-level products, no judged product in the catalog, bad
    base model directory, bad --dim).
    """
    started = time.perf_counter()
    report_progress = progress or (lambda stage, done, total: None)
    seed_everything(config.seed)
    scheme = judgments.scheme
    template = ProductTextTemplate(config.template)
    products = {p.id: p for p in catalog}
    if not products:
        raise InputError("the catalog is empty")
    texts = {pid: template.render(p) for pid, p in products.items()}
    judged, missing, without_positive = _check_judgments(judgments, set(products))
    weights = config.level_weights or default_level_weights(len(scheme.levels))
    if len(weights) != len(scheme.levels):
        raise InputError(f"level weights need {len(scheme.levels)} values for scheme {scheme.name}, "
                         f"got {len(weights)}")

    # Query-level split: dev queries are never trained on, augmented or used as synthetic queries.
    train_set, dev_set = split_judgments(judged, config.dev_fraction, config.seed)
    if not train_set.judgments:
        raise InputError("no training queries left after the dev split; lower --dev-fraction")
    report_progress("prepare", 1, 3)

    augmented = augment_spelling(train_set, config.spelling_rate, seed=config.seed) if config.spelling_rate else []
    synthetic: list[Judgment] = []
    if config.synthetic_per_product > 0:
        gen = generator
        if gen is None:
            gen = TemplateQueryGenerator().fit(products.values())
        synthetic = generate_synthetic(products.values(), gen, config.synthetic_per_product, top_grade=scheme.top,
                                       real_queries=list(judged.queries().values()), seed=config.seed)
    report_progress("prepare", 2, 3)

    examples = _examples([*train_set, *augmented, *synthetic], texts)
    device = pick_device(config.device)
    model = build_model(config, list(texts.values()), device)
    judged_by_origin: dict[str, set[str]] = {}
    for ex in examples:
        judged_by_origin.setdefault(ex.origin_id, set()).add(ex.product_id)

    def plan(epoch: int) -> list[list[TrainingExample]]:
        batches = build_batches(examples, batch_size=config.batch_size, per_query=config.per_query,
                                top=scheme.top, seed=config.seed * 1000 + epoch, judged=judged_by_origin)
        return [[examples[i] for i in b] for b in batches]

    first_plan = plan(0)
    total_steps = planned_steps(len(first_plan), config.epochs, config.max_steps)
    report_progress("prepare", 3, 3)

    dev_texts = _dev_corpus(texts, dev_set, config.dev_corpus_size, config.seed)
    dev_metrics_base = None
    if dev_set.judgments and config.evaluate_base:
        report_progress("evaluate", 0, 2)
        base_model = load_sentence_transformer(config.base or None, device=device)
        base_model.max_seq_length = config.max_seq_length
        dev_metrics_base = evaluate_dense(base_model, dev_texts, dev_set)
        del base_model
        report_progress("evaluate", 1, 2)

    loss = GradedSupConLoss(model, temperature=config.temperature, level_weights=weights)
    result = fit_planned(model, loss, plan, first_plan, config,
                         on_step=lambda step, total, value: report_progress("train", step, total))

    dev_metrics = None
    if dev_set.judgments:
        report_progress("evaluate", 1, 2)
        dev_metrics = evaluate_dense(model, dev_texts, dev_set)
        report_progress("evaluate", 2, 2)

    level_names = scheme.levels
    report = {
        "stage": 1,
        "config": {**asdict(config), "level_weights": {level_names[g]: w for g, w in enumerate(weights)}},
        "base_model": model_identity(config.base or None),
        "device": device,
        "scheme": scheme.name,
        "embedding_dim": _embedding_dim(model),
        "data": {
            "catalog_products": len(products),
            "judgments": len(judgments),
            "judgments_missing_product": missing,
            "queries_without_top_level": len(without_positive),
            "train_queries": len(train_set.queries()),
            "dev_queries": len(dev_set.queries()),
            "train_judgments": len(train_set),
            "dev_judgments": len(dev_set),
            "augmented_queries": len({j.query_id for j in augmented}),
            "augmented_judgments": len(augmented),
            "synthetic_queries": len(synthetic),
            "training_rows": len(examples),
            "batches_per_epoch": len(first_plan),
            "rows_not_in_first_epoch": rows_left_out(len(examples), first_plan),
            "dev_corpus_products": len(dev_texts),
        },
        "training": training_summary(result, total_steps, config.max_steps),
        "dev": {"base": dev_metrics_base, "stage1": dev_metrics},
        "warnings": regression_warnings(dev_metrics, {"base model": dev_metrics_base})
        + _synthetic_warnings(config.synthetic_per_product, len(synthetic), len(products)),
    }
    for warning in report["warnings"]:
        log.warning(warning)

    def write_extra(tmp: Path) -> None:
        plot_loss_curve(result.step_losses, tmp / "loss_curve.png", title="Stage 1 graded SupCon loss")
        report["seconds_total"] = round(time.perf_counter() - started, 2)
        write_json(tmp / "training.json", report)
        write_model_card(tmp, report, config.extra.get("command"))

    out = save_model_atomic(model, out_dir, write_extra)
    report["model_dir"] = str(out)
    return report


def _embedding_dim(model) -> int:
    """Output dimension (sentence-transformers 6 renamed get_sentence_embedding_dimension)."""
    getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    return int(getter())


def _dev_corpus(texts: dict[str, str], dev: JudgmentSet, size: int, seed: int) -> dict[str, str]:
    """The products dev retrieval runs over: the whole catalog (size 0), or the dev-judged products plus
    ``size`` others drawn with ``seed``."""
    if size <= 0:
        return texts
    import random

    judged = dev.product_ids()
    others = sorted(pid for pid in texts if pid not in judged)
    picked = set(random.Random(seed).sample(others, min(size, len(others))))
    return {pid: t for pid, t in texts.items() if pid in judged or pid in picked}


def _synthetic_warnings(per_product: int, generated: int, n_products: int) -> list[str]:
    """A warning when synthetic queries were asked for and the generator made none (the template generator
    reads the catalog's title, brand, color, material and category fields: a catalog with other column names
    gives it nothing), so a run without them never passes for the recipe."""
    if per_product <= 0 or generated > 0:
        return []
    return [f"no synthetic queries were generated from the {n_products} products (asked for {per_product} per "
            "product): the template generator reads title, brand, color, material and category; rename the "
            "catalog's columns to those or pass --synthetic-per-product 0 to train without them knowingly"]
