"""Training for Stage 1 and Stage 2 through sentence-transformers' ``SentenceTransformerTrainer``.

``fit(model, loss, examples, plan, config, checkpoint_dir)`` turns the training rows into a ``datasets.Dataset``
(columns query, product, label = [query group, grade]), the query-grouped batch plan into the trainer's batch
sampler (mrs.toolkit.sampler) and a ``TrainingConfig`` into ``SentenceTransformerTrainingArguments``: AdamW
with weight decay on every weight but biases and LayerNorm (the trainer's default parameter groups), linear
warm-up then linear decay, gradient clipping 1.0, bf16/fp16 autocast, gradient accumulation, checkpoints every
``save_steps`` under ``checkpoint_dir`` and resuming from the last of them. The trainer also runs the process
group of ``torchrun`` / ``accelerate launch`` (one process per GPU; docs/training.md). The loss is any graded
loss of mrs.toolkit.losses (or a dict-returning combination, whose parts are logged per step).
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import torch

from mrs.errors import InputError
from mrs.toolkit.batching import TrainingExample

# on_step(step, total_steps, loss_value) — e.g. advance a progress bar.
StepCallback = Callable[[int, int, float], None]
PRECISIONS = ("fp32", "bf16", "fp16")


@dataclass
class TrainingConfig:
    """The optimisation settings Stage 1 and Stage 2 share (both configs extend it; written to training.json).

    seed: split, augmentation, batch plan and trainer seed. epochs / max_steps: stop at whichever comes first
    (max_steps 0 = no cap; a step is one optimizer update). batch_size: rows per batch (per process);
    per_query: most rows of one query in a batch. lr: AdamW peak; warmup_ratio: share of the steps warmed up
    linearly, then linear decay to 0. weight_decay: AdamW decay of every weight except biases and LayerNorm.
    max_seq_length: tokens per text. device: None = a GPU when present, else CPU; "cpu" forces the CPU.
    precision: "fp32", "bf16" (CPU or GPU) or "fp16" (GPU). gradient_accumulation_steps: batches per optimizer
    step. save_steps: checkpoint every N steps under OUT/checkpoints (0 = none). resume: continue from the
    last checkpoint there. eval_steps: also run the dev evaluator every N steps (0 = at the end only).
    """

    seed: int = 0
    epochs: int = 1
    max_steps: int = 0
    batch_size: int = 64
    per_query: int = 8
    lr: float = 2e-5
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    max_seq_length: int = 128
    device: str | None = None
    precision: str = "fp32"
    gradient_accumulation_steps: int = 1
    save_steps: int = 0
    resume: bool = False
    eval_steps: int = 0


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
    import numpy as np

    random.seed(seed)
    torch.manual_seed(seed)
    np.random.seed(seed)


@dataclass
class FitResult:
    """What a fit did. step_losses: loss per optimizer step (in order, resumed steps included); parts: the
    per-step values of each part of a dict-returning loss; seconds: wall time of the trainer's run; pairs:
    (query, product) rows seen by all processes in this run; epochs: epochs started; resumed_from: the
    checkpoint the run continued from (None: from the start); main_process: False on the other ranks of a
    distributed run (they neither evaluate nor save); planned: the optimizer steps the trainer was given; args:
    trainer_args_summary of the run; evaluations: the dev metrics logged every eval_steps ({"step", ...})."""

    step_losses: list[float] = field(default_factory=list)
    parts: dict[str, list[float]] = field(default_factory=dict)
    seconds: float = 0.0
    pairs: int = 0
    epochs: int = 0
    resumed_from: str | None = None
    main_process: bool = True
    planned: int = 0
    args: dict = field(default_factory=dict)
    evaluations: list[dict] = field(default_factory=list)

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


def check_training_config(config: TrainingConfig) -> None:
    """InputError for settings the trainer cannot run: an unknown precision, fp16 without a GPU, a device
    the trainer cannot pin, a non-positive accumulation or negative step counts."""
    if config.precision not in PRECISIONS:
        raise InputError(f"precision must be one of {', '.join(PRECISIONS)}, not {config.precision!r}")
    device = pick_device(config.device)
    if device not in ("cpu", "cuda", "mps"):
        raise InputError(f"--device {device}: the trainer uses the first visible GPU (or every one under torchrun); "
                         "choose it with CUDA_VISIBLE_DEVICES and pass --device cuda")
    if config.precision == "fp16" and device != "cuda":
        raise InputError("--fp16 needs a CUDA GPU; use --bf16 on CPU")
    if config.gradient_accumulation_steps < 1:
        raise InputError(f"--gradient-accumulation-steps must be >= 1, not {config.gradient_accumulation_steps}")
    if min(config.save_steps, config.eval_steps, config.max_steps) < 0:
        raise InputError("--save-steps, --eval-steps and --max-steps must be >= 0")


def training_dataset(examples: Sequence[TrainingExample]):
    """The rows as a datasets.Dataset: query, product (texts) and label = [query group, grade], the group
    numbering query variants over the whole dataset (so labels stay unique when batches of several
    processes are gathered)."""
    from datasets import Dataset

    number: dict[str, int] = {}
    labels = [[number.setdefault(ex.query_id, len(number)), ex.grade] for ex in examples]
    return Dataset.from_dict({"query": [ex.query for ex in examples],
                              "product": [ex.product_text for ex in examples], "label": labels})


def fit(model, loss: torch.nn.Module, examples: Sequence[TrainingExample], plan: Callable[[int], list[list[int]]],
        config: TrainingConfig, checkpoint_dir: str | Path, *, evaluator=None,
        on_step: StepCallback | None = None) -> FitResult:
    """Train ``model`` (a SentenceTransformer) with ``loss`` on ``examples`` batched by ``plan``.

    plan(epoch) → that epoch's batches as row indices into examples (the same for every process of a
    distributed run). config: TrainingConfig. checkpoint_dir: where checkpoints go and config.resume looks.
    evaluator: a SentenceEvaluator run every config.eval_steps (0: not during training). on_step(step, total,
    loss) after every optimizer step (main process only). FloatingPointError when the loss stops being finite.
    """
    from transformers.trainer_utils import get_last_checkpoint

    check_training_config(config)
    resume_from = None
    if config.resume:
        resume_from = get_last_checkpoint(str(checkpoint_dir)) if Path(checkpoint_dir).is_dir() else None
        if resume_from is None:
            raise InputError(f"--resume: no checkpoint under {checkpoint_dir} (train with --save-steps N first)")
    args = _training_arguments(config, checkpoint_dir, plan, evaluator is not None)
    per_process = math.ceil(len(plan(0)) / args.world_size)
    args.max_steps = planned_steps(math.ceil(per_process / config.gradient_accumulation_steps), config.epochs,
                                   config.max_steps)
    if args.max_steps == 0:
        raise ValueError("nothing to train on: the batch plan is empty")
    trainer = _trainer(model, loss, args, training_dataset(examples), evaluator, on_step)
    started = time.perf_counter()
    trainer.train(resume_from_checkpoint=resume_from)
    seconds = time.perf_counter() - started
    model.eval()
    rows = trainer.accelerator.reduce(torch.tensor(trainer.rows_seen, device=args.device), "sum")
    result = _result(trainer.state, seconds, int(rows), resume_from, trainer.is_world_process_zero(), args)
    result.planned = args.max_steps
    return result


def _training_arguments(config: TrainingConfig, checkpoint_dir: str | Path, plan, evaluating: bool):
    from sentence_transformers import SentenceTransformerTrainingArguments

    from mrs.toolkit.sampler import QueryGroupedBatchSampler

    return SentenceTransformerTrainingArguments(
        output_dir=str(checkpoint_dir), max_steps=1, per_device_train_batch_size=config.batch_size,
        learning_rate=config.lr, warmup_steps=config.warmup_ratio, weight_decay=config.weight_decay,
        max_grad_norm=1.0, lr_scheduler_type="linear", optim="adamw_torch",
        gradient_accumulation_steps=config.gradient_accumulation_steps,
        bf16=config.precision == "bf16", fp16=config.precision == "fp16", use_cpu=config.device == "cpu",
        save_strategy="steps" if config.save_steps else "no", save_steps=config.save_steps or 500,
        save_total_limit=2, logging_strategy="steps", logging_steps=1, logging_nan_inf_filter=False,
        eval_strategy="steps" if evaluating and config.eval_steps else "no", eval_steps=config.eval_steps or None,
        disable_tqdm=True, report_to="none", seed=config.seed, dataloader_drop_last=False,
        dataloader_pin_memory=pick_device(config.device) == "cuda",
        batch_sampler=partial(QueryGroupedBatchSampler, plan=plan),
    )


def _trainer(model, loss, args, dataset, evaluator, on_step: StepCallback | None):
    from sentence_transformers import SentenceTransformerTrainer
    from transformers import PrinterCallback, TrainerCallback

    class GradedTrainer(SentenceTransformerTrainer):
        """Counts the (query, product) rows this process trains on, and leaves the model card to
        mrs.toolkit.model_card (written from the report): sentence-transformers' card callback would
        encode widget examples and hash the dataset for a card that is replaced anyway."""

        rows_seen = 0

        def add_model_card_callback(self, default_args_dict):
            pass

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            if model.training:
                self.rows_seen += len(inputs["label"])
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)

    class StepLog(TrainerCallback):
        """Refuses a non-finite loss and reports each logged step to on_step."""

        def on_log(self, args, state, control, logs=None, **kwargs):
            if not logs or "loss" not in logs:
                return
            value = float(logs["loss"])
            if not math.isfinite(value):
                raise FloatingPointError(f"loss became {value} at step {state.global_step}; lower --lr")
            if on_step is not None and state.is_world_process_zero:
                on_step(state.global_step, state.max_steps, value)

    trainer = GradedTrainer(model=model, args=args, train_dataset=dataset, loss=loss,
                                 evaluator=evaluator if args.eval_strategy != "no" else None,
                                 callbacks=[StepLog()])
    trainer.remove_callback(PrinterCallback)  # progress is the caller's (on_step), and stdout stays clean
    return trainer


def _result(state, seconds: float, rows: int, resume_from, main_process: bool, args) -> FitResult:
    """FitResult from the trainer state's log history (which a resumed run restores from its checkpoint)."""
    logged = [entry for entry in state.log_history if "loss" in entry and "step" in entry]
    parts: dict[str, list[float]] = {}
    for entry in logged:
        for key, value in entry.items():
            if key not in ("loss", "step", "epoch", "learning_rate", "grad_norm") and isinstance(value, float):
                parts.setdefault(key, []).append(value)
    evaluations = [{"step": e["step"], **{k.removeprefix("eval_dev_"): v for k, v in e.items()
                                          if k.startswith("eval_dev_")}}
                   for e in state.log_history if any(k.startswith("eval_dev_") for k in e)]
    return FitResult(step_losses=[float(e["loss"]) for e in logged], parts=parts, seconds=seconds, pairs=rows,
                     epochs=max(1, math.ceil(state.epoch or 0)), resumed_from=resume_from,
                     main_process=main_process, args=trainer_args_summary(args), evaluations=evaluations)


def trainer_args_summary(args) -> dict:
    """The training arguments a model card and training.json state: precision, accumulation, processes,
    effective batch, optimizer, schedule, decay rule, clipping and checkpointing."""
    precision = "bf16" if args.bf16 else "fp16" if args.fp16 else "fp32"
    return {
        "device": str(args.device), "processes": args.world_size, "precision": precision,
        "gradient_accumulation_steps": args.gradient_accumulation_steps,
        "rows_per_step": args.per_device_train_batch_size * args.gradient_accumulation_steps * args.world_size,
        "optimizer": str(args.optim.value if hasattr(args.optim, "value") else args.optim),
        "learning_rate": args.learning_rate, "lr_scheduler": "linear warm-up, then linear decay to 0",
        "warmup": args.warmup_steps, "weight_decay": args.weight_decay,
        "weight_decay_on": "all weights except biases and LayerNorm", "max_grad_norm": args.max_grad_norm,
        "save_steps": args.save_steps if args.save_strategy != "no" else 0, "seed": args.seed,
    }


def library_versions() -> dict:
    """Versions of the libraries a trained model depends on (sentence-transformers, transformers, torch)."""
    from importlib.metadata import version

    return {name: version(name) for name in ("sentence-transformers", "transformers", "torch")}


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
    a half-written model where a previous one stood; the run's checkpoints under out_dir go with the old
    directory). write_extra(tmp_dir) adds files (training.json, the loss curve, the card) before the rename."""
    from mrs.atomic import atomic_directory

    with atomic_directory(out_dir) as tmp:
        model.save(str(tmp), create_model_card=False)  # the card is mrs.toolkit.model_card's, from the report
        if write_extra is not None:
            write_extra(tmp)
    return Path(out_dir)


def training_summary(result: FitResult, planned: int, max_steps: int = 0) -> dict:
    """The "training" section of a training report: steps, epochs, pairs, seconds, throughput (pairs/s and
    steps/s), the trainer's arguments and the loss per step (first, last and all, rounded to 6 decimals).
    max_steps: the asked cap (0 = none); when the epochs ended first, "notice" says so (a cap of 200 that one
    epoch ends at 55 is not 200 steps)."""
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
        "steps_per_second": round(result.steps / result.seconds, 4) if result.seconds > 0 else 0.0,
        "resumed_from": result.resumed_from,
        "trainer": result.args,
        "versions": library_versions(),
        "dev_during_training": result.evaluations,
        "first_loss": result.step_losses[0] if result.step_losses else None,
        "last_loss": result.step_losses[-1] if result.step_losses else None,
        "loss_per_step": [round(v, 6) for v in result.step_losses],
    }
