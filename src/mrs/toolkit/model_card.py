"""The model card (README.md) of a model trained by `mrs train stage1` / `stage2`.

sentence-transformers' ``model.save`` copies the base model's card, so a trained directory would describe
all-MiniLM-L6-v2's own training. ``render_model_card(report)`` writes the card of THIS model from its
training report (training.json): YAML front matter as the Hugging Face hub reads it (library_name,
base_model, tags), then the base model, the recipe stage, the data sizes, the losses with their parameters,
the training length, the dev metrics of every stage and the command that trained it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

CARD_FILE = "README.md"

_STAGES = {
    1: "Stage 1 of Mine & Refine: one shared query/product encoder trained with graded supervised "
       "contrastive loss (SupCon, Khosla et al. 2020, generalised to graded labels) on the training queries' "
       "judgments, additive misspelled copies and synthetic queries.",
    2: "Stage 2 of Mine & Refine: the Stage-1 model refined on human + mined (re-annotated) pairs with graded "
       "SupCon plus a multi-class circle loss (Sun et al. 2020) with one margin per adjacent level boundary.",
}
_DEV_COLUMNS = ("base", "stage1", "stage2")


def render_model_card(report: Mapping[str, Any], command: str | None = None) -> str:
    """Markdown model card for a Stage-1 or Stage-2 training report (the dict written to training.json).

    command: the command line that trained the model (None: the card says it is unknown)."""
    stage = int(report.get("stage", 1))
    config = report.get("config", {})
    base = _model_name(report.get("base_model") if stage == 1 else report.get("start_model"))
    lines = ["---", "library_name: sentence-transformers", f"base_model: {base}", "tags:",
             "- sentence-transformers", "- sentence-similarity", "- mrs", f"- mine-and-refine-stage{stage}", "---",
             "", f"# mrs Stage-{stage} model", "", _STAGES.get(stage, ""), "",
             f"- {'base' if stage == 1 else 'starting'} model: `{base}`",
             f"- level scheme: {report.get('scheme')}; embedding dimension: {report.get('embedding_dim')}",
             f"- product text template: `{config.get('template')}`",
             f"- query split: dev fraction {config.get('dev_fraction')}, seed {config.get('seed')} (dev queries "
             "never trained on, mined, augmented or audited)", "",
             "## Data", "", "| | count |", "|---|---|"]
    lines += [f"| {key.replace('_', ' ')} | {value} |" for key, value in report.get("data", {}).items()
              if isinstance(value, (int, float))]
    lines += ["", "## Losses", ""] + _losses(stage, config)
    lines += ["", "## Training", ""] + _training(report.get("training", {}), config)
    lines += ["", "## Dev metrics (held-out queries)", ""] + _dev_table(report.get("dev", {}))
    lines += ["", "## Command", "", "```bash", command or "(not recorded)", "```", "",
              "Full configuration, loss per step and dev metrics: `training.json`; loss curve: `loss_curve.png`.", ""]
    return "\n".join(lines)


def write_model_card(directory: str | Path, report: Mapping[str, Any], command: str | None = None) -> Path:
    """Write render_model_card(report, command) to ``directory/README.md`` (replacing the base model's card)."""
    path = Path(directory) / CARD_FILE
    path.write_text(render_model_card(report, command), encoding="utf-8")
    return path


def _model_name(identity: Any) -> str:
    if isinstance(identity, Mapping):
        return str(identity.get("name") or identity.get("path") or "unknown")
    return str(identity or "unknown")


def _losses(stage: int, config: Mapping[str, Any]) -> list[str]:
    supcon = (f"graded SupCon: temperature {config.get('temperature')}, level weights "
              f"{config.get('level_weights')}")
    if stage == 1:
        return [f"- {supcon}",
                f"- spelling augmentation: {config.get('spelling_rate')} misspelled copies per training query",
                f"- synthetic queries per product: {config.get('synthetic_per_product')}"]
    return [f"- {config.get('supcon_weight')} × {supcon}",
            f"- {config.get('circle_weight')} × multi-class circle loss: margins {config.get('margins')} (lowest "
            f"boundary first), gamma {config.get('gamma')}, boundary weights {config.get('boundary_weights')}",
            f"- mined rows below judge confidence {config.get('min_confidence')} left out"]


def _training(training: Mapping[str, Any], config: Mapping[str, Any]) -> list[str]:
    lines = [f"- {training.get('steps')} steps ({training.get('epochs')} epochs) of batch size "
             f"{config.get('batch_size')} (at most {config.get('per_query')} rows per query), AdamW lr "
             f"{config.get('lr')}, warmup ratio {config.get('warmup_ratio')}",
             f"- {training.get('pairs_seen')} pairs in {training.get('seconds')} s; loss "
             f"{_fmt(training.get('first_loss'))} → {_fmt(training.get('last_loss'))}"]
    if training.get("notice"):
        lines.append(f"- note: {training['notice']}")
    args = training.get("trainer") or {}
    if args:
        lines += [f"- sentence-transformers `SentenceTransformerTrainer` on {args.get('processes')} process(es), "
                  f"device {args.get('device')}, precision {args.get('precision')}, gradient accumulation "
                  f"{args.get('gradient_accumulation_steps')} ({args.get('rows_per_step')} rows per optimizer step)",
                  f"- optimizer {args.get('optimizer')}, {args.get('lr_scheduler')} (warm-up {args.get('warmup')}), "
                  f"weight decay {args.get('weight_decay')} on {args.get('weight_decay_on')}, gradient clipping "
                  f"{args.get('max_grad_norm')}, seed {args.get('seed')}",
                  f"- checkpoints every {args.get('save_steps') or '-'} steps; resumed from "
                  f"{training.get('resumed_from') or '- (trained from the start)'}"]
    versions = training.get("versions") or {}
    if versions:
        lines.append("- libraries: " + ", ".join(f"{name} {version}" for name, version in versions.items()))
    return lines


def _dev_table(dev: Mapping[str, Any]) -> list[str]:
    columns = [c for c in _DEV_COLUMNS if dev.get(c)]
    if not columns:
        return ["No dev queries (dev fraction 0)."]
    keys = [k for k in dev[columns[-1]] if k != "queries" and isinstance(dev[columns[-1]][k], (int, float))]
    out = ["| metric | " + " | ".join(c.replace("stage", "stage ") for c in columns) + " |",
           "|---|" + "---|" * len(columns)]
    for key in keys:
        out.append(f"| {key} | " + " | ".join(_fmt((dev.get(c) or {}).get(key)) for c in columns) + " |")
    queries = dev[columns[-1]].get("queries")
    if queries is not None:
        out += ["", f"{queries} dev queries."]
    return out


def _fmt(value: Any) -> str:
    return "-" if value is None else f"{value:.4f}" if isinstance(value, float) else str(value)
