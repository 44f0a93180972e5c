"""Shared training plumbing for Stage 1 and Stage 2: a plain torch loop over a batch plan with a pluggable
sentence-transformers-style loss, loss logging, the loss-curve PNG and an atomic model save.

A loss is any ``nn.Module`` called as ``loss([query_features, product_features], labels)`` with
labels a LongTensor [N, 2] of (query group, grade) — GradedSupConLoss and MultiClassCircleLoss both are.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

from mrs.toolkit.batching import TrainingExample, batch_labels

# on_step(step, total_steps, loss_value) — e.g. advance a progress bar.
StepCallback = Callable[[int, int, float], None]
# batches_for_epoch(epoch) -> list of batches, each a list of TrainingExample.
BatchPlan = Callable[[int], list[list[TrainingExample]]]


def pick_device(requested: str | None = None) -> str:
    """"cuda" when a GPU is present (or "mps" on Apple silicon), else "cpu"; an explicit request wins."""
    if requested:
        return requested
    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


def seed_everything(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)
    try:
        import numpy as np

        np.random.seed(seed)
    except ImportError:  # pragma: no cover
        pass


@dataclass
class FitResult:
    """What a fit did. step_losses: loss per optimizer step (in order); seconds: wall time of the loop;
    pairs: (query, product) rows seen; epochs: epochs started."""

    step_losses: list[float] = field(default_factory=list)
    seconds: float = 0.0
    pairs: int = 0
    epochs: int = 0

    @property
    def steps(self) -> int:
        return len(self.step_losses)

    @property
    def pairs_per_second(self) -> float:
        return self.pairs / self.seconds if self.seconds > 0 else 0.0


def planned_steps(n_batches_per_epoch: int, epochs: int, max_steps: int | None) -> int:
    """Steps the loop will take: epochs × batches, capped by max_steps (when given and > 0)."""
    total = n_batches_per_epoch * max(epochs, 1)
    return min(total, max_steps) if max_steps and max_steps > 0 else total


def fit(
    model,
    loss: torch.nn.Module,
    batches_for_epoch: BatchPlan,
    *,
    epochs: int = 1,
    max_steps: int | None = None,
    lr: float = 2e-5,
    warmup_ratio: float = 0.1,
    weight_decay: float = 0.01,
    max_grad_norm: float = 1.0,
    on_step: StepCallback | None = None,
) -> FitResult:
    """Train ``model`` (a SentenceTransformer, already on its device) with ``loss``.

    epochs: passes over the batch plan (each epoch asks batches_for_epoch(epoch) for a fresh plan);
    max_steps: stop after this many optimizer steps (None/0: run all epochs). lr: AdamW peak learning rate,
    linear warm-up over warmup_ratio of the steps, then linear decay to 0. Returns FitResult.
    """
    first = batches_for_epoch(0)
    total = planned_steps(len(first), epochs, max_steps)
    if total == 0:
        raise ValueError("nothing to train on: the batch plan is empty")
    params = [p for p in loss.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    warmup = int(total * warmup_ratio)

    def schedule(step: int) -> float:
        if step < warmup:
            return (step + 1) / (warmup + 1)
        return max(0.0, (total - step) / max(1, total - warmup))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    device = model.device
    result = FitResult()
    started = time.perf_counter()
    model.train()
    step = 0
    epoch = 0
    plan = first
    while step < total:
        result.epochs = epoch + 1
        for batch in plan:
            if step >= total:
                break
            features = [
                _to_device(model.preprocess([ex.query for ex in batch]), device),
                _to_device(model.preprocess([ex.product_text for ex in batch]), device),
            ]
            labels = torch.tensor(batch_labels(batch), dtype=torch.long, device=device)
            value = loss(features, labels)
            optimizer.zero_grad(set_to_none=True)
            value.backward()
            if max_grad_norm:
                torch.nn.utils.clip_grad_norm_(params, max_grad_norm)
            optimizer.step()
            scheduler.step()
            loss_value = float(value.detach())
            if not math.isfinite(loss_value):
                raise FloatingPointError(f"loss became {loss_value} at step {step + 1}; lower --lr")
            result.step_losses.append(loss_value)
            result.pairs += len(batch)
            step += 1
            if on_step is not None:
                on_step(step, total, loss_value)
        epoch += 1
        if step < total:
            plan = batches_for_epoch(epoch)
            if not plan:
                break
    model.eval()
    result.seconds = time.perf_counter() - started
    return result


def _to_device(features: dict, device) -> dict:
    return {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in features.items()}


def moving_average(values: Sequence[float], window: int) -> list[float]:
    """Trailing mean over the last ``window`` values (fewer at the start)."""
    out, acc = [], 0.0
    for i, v in enumerate(values):
        acc += v
        if i >= window:
            acc -= values[i - window]
        out.append(acc / min(i + 1, window))
    return out


def plot_loss_curve(step_losses: Sequence[float], path: str | Path, title: str = "training loss") -> Path:
    """Write a PNG of the loss per step and its moving average; returns the path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    fig, ax = plt.subplots(figsize=(7, 4))
    steps = list(range(1, len(step_losses) + 1))
    ax.plot(steps, step_losses, color="#9bb", linewidth=0.8, label="loss per step")
    window = max(1, len(step_losses) // 20)
    ax.plot(steps, moving_average(step_losses, window), color="#036", linewidth=1.8, label=f"mean of {window}")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    from mrs.atomic import figure_png, write_bytes

    try:
        write_bytes(path, figure_png(fig, 110))
    finally:
        plt.close(fig)
    return path


def save_model_atomic(model, out_dir: str | Path, write_extra: Callable[[Path], None] | None = None) -> Path:
    """Save a SentenceTransformer to out_dir, all or nothing (mrs.atomic.atomic_directory: a crash never leaves
    a half-written model where a previous one stood). write_extra(tmp_dir) adds files (training.json, the loss
    curve) before the rename, so they appear together with the model."""
    from mrs.atomic import atomic_directory

    with atomic_directory(out_dir) as tmp:
        model.save(str(tmp))
        if write_extra is not None:
            write_extra(tmp)
    return Path(out_dir)


def fit_planned(
    model,
    loss: torch.nn.Module,
    plan: Callable[[int], list[list[TrainingExample]]],
    first_plan: list[list[TrainingExample]],
    config,
    on_step: Callable[[int, int, float], None] | None = None,
) -> FitResult:
    """fit() over per-epoch batch plans, reusing the already built plan of epoch 0.

    plan(epoch) → batches; config supplies epochs, max_steps (0/None: all epochs), lr and warmup_ratio
    (Stage1Config and Stage2Config both do).
    """
    cached = {0: first_plan}
    return fit(
        model,
        loss,
        lambda epoch: cached.pop(epoch) if epoch in cached else plan(epoch),
        epochs=config.epochs,
        max_steps=config.max_steps or None,
        lr=config.lr,
        warmup_ratio=config.warmup_ratio,
        on_step=on_step,
    )


def training_summary(result: FitResult, planned: int, max_steps: int = 0) -> dict:
    """The "training" section of a training report: steps, epochs, pairs, seconds, throughput (pairs/s) and
    the loss per step (first, last and all, rounded to 6 decimals). max_steps: the asked cap (0 = none); when
    the epochs ended first, "notice" says so (a cap of 200 that one epoch ends at 55 is not 200 steps)."""
    notice = None
    if max_steps and max_steps > result.steps:
        notice = (f"--max-steps {max_steps} was not reached: {result.epochs} epoch(s) ended after {result.steps} "
                  "steps (raise --epochs to train longer)")
    return {
        "steps": result.steps,
        "planned_steps": planned,
        "max_steps": max_steps,
        "stopped_by": "max_steps" if max_steps and result.steps >= max_steps else "epochs",
        "notice": notice,
        "epochs": result.epochs,
        "pairs_seen": result.pairs,
        "seconds": round(result.seconds, 2),
        "pairs_per_second": round(result.pairs_per_second, 2),
        "first_loss": result.step_losses[0] if result.step_losses else None,
        "last_loss": result.step_losses[-1] if result.step_losses else None,
        "loss_per_step": [round(v, 6) for v in result.step_losses],
    }
