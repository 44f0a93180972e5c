"""What `mrs train stage1` and `mrs train stage2` share: the trainer's options, the progress bar, the
command line recorded in the model card and the terminal output of a finished run."""

from __future__ import annotations

import click

from mrs.cli.common import console, err_console, print_json, progress
from mrs.data.readers import Rejects, rejects_path_for
from mrs.errors import InputError


def trainer_options(f):
    """The trainer options of `mrs train stage1` and `stage2` (passed on as **trainer; trainer_settings
    turns them into TrainingConfig fields)."""
    options = [
        click.option("--epochs", type=int, default=1, show_default=True),
        click.option("--max-steps", type=int, default=0, show_default=True,
                     help="Stop after N optimizer steps (0 = no cap)."),
        click.option("--batch-size", type=int, default=64, show_default=True,
                     help="(query, product) rows per batch (per GPU under torchrun)."),
        click.option("--per-query", type=int, default=8, show_default=True, help="Most products of one query per batch."),
        click.option("--max-seq-length", type=int, default=128, show_default=True, help="Tokens per text."),
        click.option("--weight-decay", type=float, default=0.01, show_default=True,
                     help="AdamW weight decay (never on biases and LayerNorm)."),
        click.option("--bf16", is_flag=True, help="bfloat16 autocast (CPU or a GPU with bf16)."),
        click.option("--fp16", is_flag=True, help="float16 autocast with loss scaling (CUDA GPUs)."),
        click.option("--gradient-accumulation-steps", type=int, default=1, show_default=True,
                     help="Batches per optimizer step (each batch keeps its own in-batch negatives)."),
        click.option("--save-steps", type=int, default=0, show_default=True,
                     help="Checkpoint every N steps under OUT/checkpoints, the last two kept (0 = none)."),
        click.option("--resume", is_flag=True, help="Continue from the last checkpoint under OUT/checkpoints "
                     "(same data and options as the run that wrote it)."),
        click.option("--eval-steps", type=int, default=0, show_default=True,
                     help="Also score the dev queries every N steps (logged in training.json; 0 = at the end only)."),
        click.option("--device", default=None, help="cpu, cuda, mps (default: a GPU when present)."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def trainer_settings(trainer: dict) -> dict:
    """The TrainingConfig fields of the trainer options (InputError for --bf16 with --fp16)."""
    if trainer["bf16"] and trainer["fp16"]:
        raise InputError("--bf16 and --fp16 exclude each other")
    precision = "bf16" if trainer["bf16"] else "fp16" if trainer["fp16"] else "fp32"
    keys = ("epochs", "max_steps", "batch_size", "per_query", "max_seq_length", "weight_decay",
            "gradient_accumulation_steps", "save_steps", "resume", "eval_steps", "device")
    return {key: trainer[key] for key in keys} | {"precision": precision}


def with_progress(as_json: bool, train):
    """Run train(on_progress) under one rich progress bar per stage (preparing data, training, dev evaluation);
    returns what train returns."""
    with progress(quiet=as_json) as bar:
        tasks: dict[str, int] = {}
        labels = {"prepare": "preparing data", "train": "training", "evaluate": "dev evaluation"}

        def on_progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(labels.get(stage, stage), total=total)
            bar.update(tasks[stage], completed=done, total=total)

        return train(on_progress)


def print_training_outcome(report: dict, rejects: Rejects, out_dir: str, as_json: bool, print_summary) -> None:
    """After a training run: the rejects file, the notice and warnings on stderr, then the report as JSON
    (without the per-step lists) or print_summary(report)."""
    if rejects.count:
        path = rejects.write(rejects_path_for(out_dir))
        report["rejects"] = {"count": rejects.count, "path": str(path), "reasons": rejects.reasons()}
    print_training_notice(report)
    for warning in report.get("warnings", []):
        err_console.print(f"[yellow]warning:[/] {warning}", highlight=False)
    if as_json:
        per_step = ("loss_per_step", "supcon_per_step", "circle_per_step")
        print_json(report | {"training": {k: v for k, v in report["training"].items() if k not in per_step}})
        return
    print_summary(report)


def print_training_notice(report: dict) -> None:
    """The report's training notice (e.g. --max-steps not reached) as one stderr line, with or without --json."""
    notice = report["training"].get("notice")
    if notice:
        err_console.print(f"[yellow]note:[/] {notice}", highlight=False, soft_wrap=True)


def command_line(ctx: click.Context) -> str:
    """The command as the user could retype it: ``mrs <subcommands>`` and every option given on the command
    line (defaults left out), shell-quoted; recorded in the model card."""
    import shlex

    from click.core import ParameterSource

    words = ["mrs", *ctx.command_path.split()[1:]]
    for param in ctx.command.params:
        if ctx.get_parameter_source(param.name) is not ParameterSource.COMMANDLINE:
            continue
        name = max(param.opts, key=len) if isinstance(param, click.Option) else None
        values = ctx.params[param.name]
        values = values if isinstance(values, (list, tuple)) else [values]
        if isinstance(param, click.Option) and param.is_flag:
            words.append(name)
            continue
        for v in values:
            words += [name, str(v)] if name else [str(v)]
    return shlex.join(words)


def print_training_summary(report: dict, data_line: str, stages: tuple[str, ...]) -> None:
    """The terminal summary of a training report (Stage 1 or 2): model, steps and loss, the data line, a table of
    dev metrics with one column per entry of ``stages`` (keys of report["dev"]; the last is the trained model),
    and the rejects note."""
    from rich.table import Table

    t = report["training"]
    console.print(f"model written to [bold]{report['model_dir']}[/] ({report['embedding_dim']}-d, {report['device']})")
    console.print(f"trained {t['steps']} steps on {t['pairs_seen']} pairs in {t['seconds']:.0f}s; loss "
                  f"{t['first_loss']:.4f} → {t['last_loss']:.4f}")
    console.print(data_line)
    dev = report["dev"]
    if dev.get(stages[-1]):
        table = Table(title="dev queries (never trained on)")
        table.add_column("metric")
        for stage in stages:
            table.add_column(stage.replace("stage", "stage "), justify="right")
        for key in dev[stages[-1]]:
            if key == "queries":
                continue
            cells = [(dev.get(stage) or {}).get(key) for stage in stages]
            table.add_row(key, *("-" if v is None else f"{v:.4f}" for v in cells))
        console.print(table)
    if "rejects" in report:
        r = report["rejects"]
        err_console.print(f"[yellow]{r['count']} bad rows skipped[/] → {r['path']}", highlight=False)
