"""Mine & Refine Stage 1: train a Siamese two-tower model (one shared encoder) with graded SupCon on the
training queries' judgments, additive misspelled copies and synthetic queries; evaluate on held-out queries.

``train_stage1(config, catalog, judgments, out_dir)`` writes a SentenceTransformer directory with
``training.json`` and ``loss_curve.png`` inside, and returns the report dict that training.json holds.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from mrs.data.catalog import Product
from mrs.data.judgments import Judgment, JudgmentSet
from mrs.data.text import DEFAULT_TEMPLATE, ProductTextTemplate
from mrs.errors import InputError
from mrs.models import load_sentence_transformer, model_identity
from mrs.toolkit.augment import augment_spelling
from mrs.toolkit.batching import build_batches
from mrs.toolkit.dev_eval import DevEvaluator, encode, regression_warnings
from mrs.toolkit.losses.supcon import GradedSupConLoss, default_level_weights
from mrs.toolkit.synthetic import QueryGenerator, TemplateQueryGenerator, generate_synthetic
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

log = logging.getLogger(__name__)


@dataclass
class Stage1Config(TrainingConfig):
    """Everything a Stage-1 run depends on (written to training.json).

    base: base model (local dir, "" = packaged all-MiniLM-L6-v2, or hub id). dim: projection head size
    (None = keep the base's dimension). level_weights: per-grade weights, index = grade (None = the loss's
    default: top 1.0, next 0.2, others 0). temperature: SupCon τ. spelling_rate: expected misspelled copies per
    training query (0 = off). synthetic_per_product: synthetic queries per catalog product (0 = off).
    dev_fraction: share of queries held out (0 = no dev evaluation). template: product text template (must
    equal the indexer's). evaluate_base: also score the base model on dev (for the report's comparison). dev_corpus_size: 0 = the dev retrieval runs over the whole catalog;
    N > 0 = over the dev queries' judged products plus N other products drawn at random (seeded) — faster
    on large catalogs, and easier than the whole catalog (fewer distractors). The optimisation settings
    (seed, epochs, max_steps, batch_size, per_query, lr, precision, ...) are TrainingConfig's.
    """

    base: str = ""
    dim: int | None = None
    level_weights: list[float] | None = None
    temperature: float = 0.05
    spelling_rate: float = 0.5
    synthetic_per_product: int = 2
    dev_fraction: float = 0.2
    template: str = DEFAULT_TEMPLATE
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
    Checkpoints (config.save_steps) go to ``out_dir/checkpoints``; the finished model replaces out_dir.
    Raises InputError for unusable input (no top-level products, no judged product in the catalog, bad
    base model directory, bad --dim, a precision the device cannot run).
    """
    started = time.perf_counter()
    report_progress = progress or (lambda stage, done, total: None)
    seed_everything(config.seed)
    data = prepare_stage1_data(config, catalog, judgments, generator, report_progress)
    device = pick_device(config.device)
    model = build_model(config, list(data.texts.values()), device)
    plan = EpochPlan(data.examples, batch_size=config.batch_size, per_query=config.per_query,
                     top=judgments.scheme.top, seed_base=config.seed * 1000, build=build_batches)
    plan_counts = plan.plan_counts()
    report_progress("prepare", 3, 3)

    evaluator = DevEvaluator(_dev_corpus(data.texts, data.dev_set, config.dev_corpus_size, config.seed),
                             data.dev_set)
    dev_metrics_base = None
    if data.dev_set.judgments and config.evaluate_base:
        report_progress("evaluate", 0, 2)
        base_model = load_sentence_transformer(config.base or None, device=device)
        base_model.max_seq_length = config.max_seq_length
        dev_metrics_base = evaluator.metrics(base_model)
        del base_model
        report_progress("evaluate", 1, 2)

    loss = GradedSupConLoss(model, temperature=config.temperature, level_weights=data.weights,
                            gather_across_devices=True)
    result, dev_metrics = train_and_evaluate(model, loss, data.examples, plan, config, out_dir, evaluator,
                                       report_progress)

    report = _stage1_report(config, data, model, device, plan_counts, len(evaluator.product_texts), result,
                            {"base": dev_metrics_base, "stage1": dev_metrics})
    for warning in report["warnings"]:
        log.warning(warning)
    if result.main_process:
        save_trained(model, out_dir, report, result.step_losses, "Stage 1 graded SupCon loss", started,
                     config.extra.get("command"))
    return report


def prepare_stage1_data(config: Stage1Config, catalog: Iterable[Product], judgments: JudgmentSet,
                        generator: QueryGenerator | None, report_progress: ProgressCallback) -> SimpleNamespace:
    """The Stage-1 training data: product texts, checked judgments, the query split, misspelled copies,
    synthetic queries (never equal to a judged query) and the training rows. Returns a namespace with
    products, texts, judged, missing, without_positive, train_set, dev_set, augmented, synthetic, examples,
    weights (per grade)."""
    scheme = judgments.scheme
    template = ProductTextTemplate(config.template)
    products = {p.id: p for p in catalog}
    if not products:
        raise InputError("the catalog is empty")
    texts = {pid: template.render(p) for pid, p in products.items()}
    judged, missing, without_positive = check_judgments(judgments, set(products))
    weights = config.level_weights or default_level_weights(len(scheme.levels))
    if len(weights) != len(scheme.levels):
        raise InputError(f"level weights need {len(scheme.levels)} values for scheme {scheme.name}, "
                         f"got {len(weights)}")
    # Query-level split: dev queries are never trained on, augmented or used as synthetic queries.
    train_set, dev_set = split_train_dev(judged, config.dev_fraction, config.seed)
    report_progress("prepare", 1, 3)
    augmented = augment_spelling(train_set, config.spelling_rate, seed=config.seed) if config.spelling_rate else []
    synthetic: list[Judgment] = []
    if config.synthetic_per_product > 0:
        gen = generator if generator is not None else TemplateQueryGenerator().fit(products.values())
        synthetic = generate_synthetic(products.values(), gen, config.synthetic_per_product, top_grade=scheme.top,
                                       real_queries=list(judged.queries().values()), seed=config.seed)
    report_progress("prepare", 2, 3)
    return SimpleNamespace(products=products, texts=texts, judged=judged, missing=missing,
                           without_positive=without_positive, train_set=train_set, dev_set=dev_set,
                           augmented=augmented, synthetic=synthetic, weights=weights,
                           examples=training_examples([*train_set, *augmented, *synthetic], texts))


def _stage1_report(config: Stage1Config, data: SimpleNamespace, model, device: str, plan_counts: dict,
                   dev_corpus_products: int, result, dev: dict) -> dict:
    """training.json of a Stage-1 run (config, data counts, the training section, dev metrics, warnings)."""
    level_names = data.train_set.scheme.levels
    return {
        "stage": 1,
        "config": {**asdict(config), "level_weights": {level_names[g]: w for g, w in enumerate(data.weights)}},
        "base_model": model_identity(config.base or None),
        "device": device,
        "scheme": data.train_set.scheme.name,
        "embedding_dim": _embedding_dim(model),
        "data": {
            "catalog_products": len(data.products),
            "judgments": len(data.judged) + data.missing,
            "judgments_missing_product": data.missing,
            "queries_without_top_level": len(data.without_positive),
            "train_queries": len(data.train_set.queries()),
            "dev_queries": len(data.dev_set.queries()),
            "train_judgments": len(data.train_set),
            "dev_judgments": len(data.dev_set),
            "augmented_queries": len({j.query_id for j in data.augmented}),
            "augmented_judgments": len(data.augmented),
            "synthetic_queries": len(data.synthetic),
            "training_rows": len(data.examples),
            **plan_counts,
            "dev_corpus_products": dev_corpus_products,
        },
        "training": training_summary(result, result.planned, config.max_steps),
        "dev": dev,
        "warnings": regression_warnings(dev["stage1"], {"base model": dev["base"]})
        + _synthetic_warnings(config.synthetic_per_product, len(data.synthetic), len(data.products)),
    }


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
