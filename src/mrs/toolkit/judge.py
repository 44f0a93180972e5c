"""The relevance judge: a cross-encoder classifier over the level scheme, trained on human judgments.

The Mine & Refine paper scales human labels with a lightweight model fine-tuned on them under the written
guideline. Here the judge is a sentence-transformers CrossEncoder with one output per level (num_labels =
number of levels), initialised from the packaged all-MiniLM-L6-v2 (its encoder weights; the classification
head starts random), trained with cross-entropy on (query, product text) → grade, split by query.

A judge directory holds the CrossEncoder plus ``judge.json`` (scheme, product text template, dev metrics).
``Judge`` (mrs.toolkit.judge_protocol) is the protocol every judge implements; ``load_judge`` opens any
judge directory, whichever kind wrote it.
"""

from __future__ import annotations

import json
import math
import os
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

from mrs.data.judgments import Judgment, JudgmentSet
from mrs.data.levels import LevelScheme, get_scheme
from mrs.data.text import DEFAULT_TEMPLATE
from mrs.errors import InputError
from mrs.models import model_identity, quiet_model_loading, resolve_model, write_json
from mrs.toolkit.judge_protocol import JUDGE_FILE, Judge, JudgeLabel


@dataclass(frozen=True)
class JudgeExample:
    """One training/eval row: query text, rendered product text, gold grade."""

    query: str
    product_text: str
    grade: int


def judge_examples(
    judgments: JudgmentSet, product_texts: dict[str, str]
) -> tuple[list[JudgeExample], list[Judgment]]:
    """Judgments → examples, using product_texts (product id → rendered text).

    Returns (examples, missing): judgments whose product is not in the catalog are returned in ``missing``
    (the caller reports their count; they are not trained on)."""
    examples, missing = [], []
    for j in judgments:
        text = product_texts.get(j.product_id)
        if text is None:
            missing.append(j)
        else:
            examples.append(JudgeExample(j.query, text, j.grade))
    return examples, missing


def load_judge(judge_dir: str | os.PathLike, catalog=None, device: str | None = None) -> Judge:
    """Any judge directory written by ``mrs judge train``: its judge.json ``kind`` says which class reads it
    (cross-encoder when absent). catalog: the products the judge will label (an ordinal judge reads their
    fields; see mrs.toolkit.judge_ordinal). InputError when it is not a judge directory."""
    d = Path(judge_dir)
    meta_path = d / JUDGE_FILE
    if not meta_path.is_file():
        raise InputError(f"not a judge directory (no {JUDGE_FILE}); train one with `mrs judge train`", str(d))
    try:
        info = json.loads(meta_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise InputError(f"malformed {JUDGE_FILE} ({e.msg})", str(meta_path), e.lineno) from None
    kind = info.get("kind", "cross-encoder")
    if kind == "cross-encoder":
        return CrossEncoderJudge.load(d, device=device)
    from mrs.toolkit.judge_ordinal import ORDINAL_KINDS, OrdinalJudge

    if kind not in ORDINAL_KINDS:
        raise InputError(f"unknown judge kind {kind!r} in {JUDGE_FILE}", str(meta_path))
    judge = OrdinalJudge.load(d, info)
    if catalog is not None:
        judge.attach_catalog(list(catalog))
    return judge


class CrossEncoderJudge:
    """A CrossEncoder with num_labels = len(scheme.levels): logits → softmax → level.

    Example::

        judge = CrossEncoderJudge.create(ESCI)                 # from the packaged MiniLM, untrained head
        judge.label([("red shirt", "Red cotton shirt. Brand: Acme")])  # [JudgeLabel(grade=3, confidence=0.41)]
    """

    def __init__(self, model, scheme: LevelScheme, template: str = DEFAULT_TEMPLATE, info: dict | None = None):
        self.model = model
        self.scheme = scheme
        self.template = template
        self.info = dict(info or {})

    @classmethod
    def create(cls, scheme: LevelScheme, base: str | None = None, max_length: int = 128,
               device: str | None = None, template: str = DEFAULT_TEMPLATE) -> CrossEncoderJudge:
        """A fresh judge from a base model (path, packaged default, or hub id; see mrs.models.resolve_model)."""
        from sentence_transformers import CrossEncoder

        quiet_model_loading()  # no "Loading weights" bar, no load report about the new classification head

        path = resolve_model(base)
        model = CrossEncoder(path, num_labels=len(scheme.levels), max_length=max_length, device=device or "cpu")
        return cls(model, scheme, template, {"base_model": model_identity(base)})

    @classmethod
    def load(cls, judge_dir: str | os.PathLike, device: str | None = None) -> CrossEncoderJudge:
        """Load a judge directory written by ``save``; InputError when it is not one."""
        from sentence_transformers import CrossEncoder

        quiet_model_loading()  # no "Loading weights" bar, no load report about the new classification head

        d = Path(judge_dir)
        meta_path = d / JUDGE_FILE
        if not meta_path.is_file():
            raise InputError(f"not a judge directory (no {JUDGE_FILE}); train one with `mrs judge train`", str(d))
        info = json.loads(meta_path.read_text(encoding="utf-8"))
        scheme = get_scheme(info["scheme"])
        model = CrossEncoder(str(d), device=device or "cpu")
        if model.num_labels != len(scheme.levels):
            raise InputError(f"judge has {model.num_labels} outputs but scheme {scheme.name} has "
                             f"{len(scheme.levels)} levels", str(d))
        return cls(model, scheme, info.get("template", DEFAULT_TEMPLATE), info)

    def save(self, out_dir: str | os.PathLike, extra: dict | None = None) -> Path:
        """Write the model + judge.json, all or nothing (mrs.atomic.atomic_directory)."""
        from mrs.atomic import atomic_directory

        with atomic_directory(out_dir) as tmp:
            self.model.save(str(tmp))
            self.info.update(extra or {})
            self.info.update({"scheme": self.scheme.name, "levels": list(self.scheme.levels),
                              "template": self.template})
            write_json(tmp / JUDGE_FILE, self.info)
        return Path(out_dir)

    def probabilities(self, pairs: Sequence[tuple[str, str]], batch_size: int = 32) -> torch.Tensor:
        """[(query, product text)] → softmax probabilities [N, levels] (column g = grade g)."""
        if not pairs:
            return torch.zeros((0, len(self.scheme.levels)))
        probs = self.model.predict(list(pairs), batch_size=batch_size, apply_softmax=True,
                                   convert_to_tensor=True, show_progress_bar=False)
        return probs.float().cpu()

    def label(self, pairs: Sequence[tuple[str, str]], batch_size: int = 32) -> list[JudgeLabel]:
        probs = self.probabilities(pairs, batch_size)
        conf, grade = probs.max(dim=1)
        return [JudgeLabel(int(g), float(c)) for g, c in zip(grade.tolist(), conf.tolist(), strict=True)]


@dataclass
class JudgeFit:
    """What judge training did: step losses, seconds, rows seen, class weights used."""

    step_losses: list[float] = field(default_factory=list)
    seconds: float = 0.0
    rows: int = 0
    class_weights: list[float] = field(default_factory=list)


def class_weights_for(examples: Sequence[JudgeExample], num_levels: int, power: float = 0.5) -> list[float]:
    """Per-grade cross-entropy weights (count_g / mean count)^(-power), normalised to mean 1 over present
    levels; 0 counts → weight 0. power 0 = unweighted, 0.5 = inverse square root of frequency (default)."""
    counts = Counter(ex.grade for ex in examples)
    present = [counts.get(g, 0) for g in range(num_levels)]
    nonzero = [c for c in present if c > 0]
    if not nonzero:
        return [1.0] * num_levels
    mean = sum(nonzero) / len(nonzero)
    raw = [(c / mean) ** (-power) if c > 0 else 0.0 for c in present]
    norm = sum(raw) / len(nonzero)
    return [r / norm for r in raw]


def train_judge(
    judge: CrossEncoderJudge,
    examples: Sequence[JudgeExample],
    *,
    epochs: int = 1,
    max_steps: int | None = None,
    batch_size: int = 16,
    lr: float = 3e-5,
    head_lr: float | None = 1e-3,
    warmup_ratio: float = 0.1,
    class_weight_power: float = 0.5,
    seed: int = 0,
    on_step: Callable[[int, int, float], None] | None = None,
) -> JudgeFit:
    """Fine-tune the judge's CrossEncoder with (class-weighted) cross-entropy over levels.

    epochs: passes over the shuffled examples; max_steps caps optimizer steps (None/0: all epochs).
    class_weight_power: see class_weights_for (ESCI is ~2/3 exact; weighting keeps rare levels learnable).
    lr: learning rate of the pretrained encoder; head_lr: of the classification head, which starts random
    (None = lr). With one small rate for both, the head barely moves in a few hundred steps and the judge
    answers the majority level. on_step(step, total, loss). Returns JudgeFit.
    """
    if not examples:
        raise InputError("no training pairs for the judge (are the judged products in the catalog?)")
    rng = random.Random(seed)
    torch.manual_seed(seed)
    model = judge.model
    per_epoch = math.ceil(len(examples) / batch_size)
    total = per_epoch * max(epochs, 1)
    if max_steps and max_steps > 0:
        total = min(total, max_steps)
    weights = class_weights_for(examples, len(judge.scheme.levels), class_weight_power)
    device = model.device
    loss_fn = torch.nn.CrossEntropyLoss(weight=torch.tensor(weights, dtype=torch.float, device=device))
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    params = [p for _, p in named]
    head = [p for n, p in named if _is_head(n)]
    body = [p for n, p in named if not _is_head(n)]
    groups = [{"params": body, "lr": lr}]
    if head:
        groups.append({"params": head, "lr": head_lr or lr})
    optimizer = torch.optim.AdamW(groups, weight_decay=0.01)
    warmup = int(total * warmup_ratio)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: (s + 1) / (warmup + 1) if s < warmup else max(0.0, (total - s) / max(1, total - warmup)))
    fit = JudgeFit(class_weights=weights)
    started = time.perf_counter()
    model.train()
    step = 0
    while step < total:
        order = list(range(len(examples)))
        rng.shuffle(order)
        for start in range(0, len(order), batch_size):
            if step >= total:
                break
            rows = [examples[i] for i in order[start:start + batch_size]]
            features = model.preprocess([(r.query, r.product_text) for r in rows])
            features = {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in features.items()}
            logits = model(features)["scores"].float()
            target = torch.tensor([r.grade for r in rows], dtype=torch.long, device=device)
            value = loss_fn(logits, target)
            optimizer.zero_grad(set_to_none=True)
            value.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            scheduler.step()
            fit.step_losses.append(float(value.detach()))
            fit.rows += len(rows)
            step += 1
            if on_step is not None:
                on_step(step, total, fit.step_losses[-1])
    model.eval()
    fit.seconds = time.perf_counter() - started
    return fit


def _is_head(name: str) -> bool:
    """The classification head's parameters (transformers' ``classifier`` of a *ForSequenceClassification)."""
    return ".classifier." in f".{name}"


def evaluate_judge(judge: Judge, examples: Sequence[JudgeExample]) -> dict:
    """Accuracy and within-one-level accuracy of the judge on examples, plus the confusion matrix.

    Returns {"pairs", "accuracy", "balanced_accuracy" (mean recall over the levels present), "within_one",
    "confusion": [[count gold g → predicted h]], "per_level_recall"} (fractions in [0, 1]; None when there are
    no examples)."""
    n_levels = len(judge.scheme.levels)
    confusion = [[0] * n_levels for _ in range(n_levels)]
    if not examples:
        return {"pairs": 0, "accuracy": None, "balanced_accuracy": None, "within_one": None, "confusion": confusion,
                "per_level_recall": {}}
    labels = judge.label([(ex.query, ex.product_text) for ex in examples])
    exact = within = 0
    for ex, lab in zip(examples, labels, strict=True):
        confusion[ex.grade][lab.grade] += 1
        exact += lab.grade == ex.grade
        within += abs(lab.grade - ex.grade) <= 1
    recall = {}
    for g in range(n_levels):
        row = sum(confusion[g])
        if row:
            recall[judge.scheme.name_of(g)] = confusion[g][g] / row
    return {"pairs": len(examples), "accuracy": exact / len(examples),
            "balanced_accuracy": sum(recall.values()) / len(recall), "within_one": within / len(examples),
            "confusion": confusion, "per_level_recall": recall}


def majority_baseline(train: Sequence[JudgeExample], dev: Sequence[JudgeExample]) -> dict:
    """Accuracy / balanced accuracy / within-one of always answering the most frequent training grade (the bar a
    judge must beat; its balanced accuracy is 1 / the number of levels present in dev)."""
    if not train or not dev:
        return {"grade": None, "accuracy": None, "balanced_accuracy": None, "within_one": None}
    grade = Counter(ex.grade for ex in train).most_common(1)[0][0]
    acc = sum(ex.grade == grade for ex in dev) / len(dev)
    within = sum(abs(ex.grade - grade) <= 1 for ex in dev) / len(dev)
    return {"grade": grade, "accuracy": acc, "balanced_accuracy": 1.0 / len({ex.grade for ex in dev}),
            "within_one": within}


def annotate(judge: Judge, pairs: Sequence[tuple[str, str, str, str]], *, source: str = "judge",
             batch_size: int = 64) -> JudgmentSet:
    """Label (query id, query text, product id, product text) rows → a JudgmentSet of the judge's scheme with
    the judge's grade, confidence and the given source."""
    out = JudgmentSet(judge.scheme)
    for start in range(0, len(pairs), batch_size):
        chunk = pairs[start:start + batch_size]
        labels = judge.label([(q, text) for _, q, _, text in chunk])
        for (qid, q, pid, _), lab in zip(chunk, labels, strict=True):
            out.add(Judgment(qid, q, pid, lab.grade, source=source, confidence=lab.confidence))
    return out
