"""The data side Stage 1 and Stage 2 share: judgments checked against the catalog, the query-level train/dev
split, training rows, the per-epoch batch plan, the dev evaluator and the trained model's outputs.

Each stage composes these blocks (mrs.toolkit.stage1, mrs.toolkit.stage2); the split is the same for both
(dev fraction + seed), so dev queries stay unseen through both stages.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from mrs.data.judgments import Judgment, JudgmentSet
from mrs.data.splits import split_judgments
from mrs.errors import InputError
from mrs.toolkit.batching import TrainingExample, build_batches, judged_by_origin, rows_left_out

log = logging.getLogger(__name__)

# progress(stage, done, total): "prepare", "train", "evaluate" — the CLI maps it to a progress bar.
ProgressCallback = Callable[[str, int, int], None]


def check_judgments(judgments: JudgmentSet, product_ids: set[str]) -> tuple[JudgmentSet, int, list[str]]:
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
                         "training needs positives")
    return out, missing, without


def split_train_dev(judged: JudgmentSet, dev_fraction: float, seed: int) -> tuple[JudgmentSet, JudgmentSet]:
    """(train, dev) judgments split by query (mrs.data.splits.split_judgments: the one train/dev split); dev
    is empty for fraction 0. InputError for a fraction outside [0, 1) or no training query left."""
    train_set, dev_set = split_judgments(judged, dev_fraction, seed)
    if not train_set.judgments:
        raise InputError("no training queries left after the dev split; lower --dev-fraction")
    return train_set, dev_set


def training_examples(rows: Iterable[Judgment], texts: Mapping[str, str]) -> list[TrainingExample]:
    """One TrainingExample per judgment; a misspelled copy ("q17~sp0", source augmented) keeps its original's
    id as origin, so the two never share a batch."""
    out = []
    for j in rows:
        origin = j.query_id.rsplit("~sp", 1)[0] if j.source == "augmented" else j.query_id
        out.append(TrainingExample(j.query_id, origin, j.query, j.product_id, texts[j.product_id], j.grade,
                                   j.source))
    return out


class EpochPlan:
    """plan(epoch) → that epoch's batches (row indices into examples), built by build_batches with seed
    seed_base + epoch and the judged-products guard over all rows; each epoch is planned once."""

    def __init__(self, examples: list[TrainingExample], *, batch_size: int, per_query: int, top: int,
                 seed_base: int, build=build_batches) -> None:
        self.examples = examples
        self.settings = {"batch_size": batch_size, "per_query": per_query, "top": top}
        self.seed_base = seed_base
        self.judged = judged_by_origin(examples)
        self.build = build
        self._plans: dict[int, list[list[int]]] = {}

    def __call__(self, epoch: int) -> list[list[int]]:
        if epoch not in self._plans:
            self._plans[epoch] = self.build(self.examples, seed=self.seed_base + epoch, judged=self.judged,
                                            **self.settings)
        return self._plans[epoch]

    def plan_counts(self) -> dict:
        """batches_per_epoch and rows_not_in_first_epoch of the first epoch, for the report's data section."""
        first = self(0)
        rows = [[self.examples[i] for i in batch] for batch in first]
        return {"batches_per_epoch": len(first), "rows_not_in_first_epoch": rows_left_out(len(self.examples), rows)}


def train_and_evaluate(model, loss, examples: list[TrainingExample], plan: EpochPlan, config, out_dir: str | Path,
                       evaluator, report_progress: ProgressCallback):
    """Train (mrs.toolkit.training.fit, checkpoints under out_dir/checkpoints) with "train" progress, then score
    the dev queries with ``evaluator`` on the main process. Returns (FitResult, dev metrics or None)."""
    from mrs.toolkit.training import fit

    result = fit(model, loss, examples, plan, config, Path(out_dir) / "checkpoints", evaluator=evaluator,
                 on_step=lambda step, total, value: report_progress("train", step, total))
    metrics = None
    if evaluator.dev.judgments and result.main_process:
        report_progress("evaluate", 1, 2)
        metrics = evaluator.metrics(model)
        report_progress("evaluate", 2, 2)
    return result, metrics


def save_trained(model, out_dir: str | Path, report: dict, step_losses: list[float], title: str,
                 started: float, command: str | None) -> Path:
    """Write the model, training.json (report, with seconds_total since ``started``), loss_curve.png and the
    model card (README.md) to out_dir, all or nothing; sets report["model_dir"]."""
    from mrs.models import write_json
    from mrs.toolkit.model_card import write_model_card
    from mrs.toolkit.training import plot_loss_curve, save_model_atomic

    def write_extra(tmp: Path) -> None:
        plot_loss_curve(step_losses, tmp / "loss_curve.png", title=title)
        report["seconds_total"] = round(time.perf_counter() - started, 2)
        write_json(tmp / "training.json", report)
        write_model_card(tmp, report, command)

    out = save_model_atomic(model, out_dir, write_extra)
    report["model_dir"] = str(out)
    return out
