"""`mrs train stage2`: attached to the `train` group of mrs.cli.train (imported by mrs.cli.main._register)."""

from __future__ import annotations

import click

from mrs.cli.common import handle_errors, json_option, on_error_option
from mrs.cli.judgment_options import queries_option, read_judgment_input, scheme_option
from mrs.cli.text_options import text_template_option
from mrs.cli.train import command as train_group
from mrs.cli.train_options import (
    command_line,
    print_training_outcome,
    print_training_summary,
    trainer_options,
    trainer_settings,
    with_progress,
)


@train_group.command("stage2")
@click.option("--model", "model_dir", required=True, help="The Stage-1 model directory to refine.")
@click.option("--judgments", "judgments_path", required=True, type=click.Path(dir_okay=False),
              help="The human (or audited) judgments Stage 1 used, train and dev.")
@click.option("--mined", "mined_path", default=None, type=click.Path(dir_okay=False),
              help="Mined pairs from `mrs mine` (mrs TSV).")
@click.option("--catalog", "catalog_path", required=True, type=click.Path(dir_okay=False), help="Catalog file.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Model directory to write (replaced atomically).")
@click.option("--circle-weight", type=float, default=1.0, show_default=True,
              help="Weight of the multi-class circle loss added to SupCon (0 = SupCon only).")
@click.option("--supcon-weight", type=float, default=1.0, show_default=True, help="Weight of graded SupCon.")
@click.option("--margins", default=None,
              help="Circle margin per adjacent boundary, lowest first (e.g. 0.25,0.25,0.3), or one for all, "
                   "as a fraction of the gap between the two levels' targets, in (0, 0.5). Default 0.25.")
@click.option("--circle-targets", default="spread", show_default=True,
              help="Target cosine per level for the circle loss: spread (evenly over 0..1), estimated (median "
                   "Stage-1 cosine per level on the training pairs) or a list, lowest level first (0.1,0.4,0.6,0.8).")
@click.option("--gamma", type=float, default=32.0, show_default=True, help="Circle loss scale γ.")
@click.option("--boundary-weights", default=None, help="Circle weight per boundary, lowest first (default 1).")
@click.option("--temperature", type=float, default=0.05, show_default=True, help="SupCon temperature τ.")
@click.option("--level-weights", default=None, help="SupCon per-level weights, e.g. exact=1,substitute=0.2.")
@click.option("--min-confidence", type=float, default=0.0, show_default=True,
              help="Leave out mined pairs the judge labeled with less confidence.")
@click.option("--spelling-rate", type=float, default=0.0, show_default=True,
              help="Misspelled copies per training query (Stage 1 already added them).")
@click.option("--dev-fraction", type=float, default=None, help="Default: Stage 1's (from its training.json).")
@click.option("--seed", type=int, default=None, help="Default: Stage 1's.")
@click.option("--lr", type=float, default=1e-5, show_default=True)
@text_template_option(help="Product text template (default: Stage 1's).")
@scheme_option
@queries_option
@click.option("--id-field", default=None, help="Catalog id column.")
@trainer_options
@on_error_option
@json_option
@handle_errors
def stage2_cmd(model_dir, judgments_path, mined_path, catalog_path, out_dir, circle_weight, supcon_weight, margins,
               circle_targets, gamma, boundary_weights, temperature, level_weights, min_confidence, spelling_rate,
               dev_fraction, seed, lr, template, scheme, queries_path, id_field, on_error, as_json, **trainer):
    """Stage 2: refine the Stage-1 model on human + mined pairs with graded SupCon plus the multi-class circle
    loss (one term per adjacent level boundary). Same outputs as Stage 1: OUT with training.json (config, data,
    loss per step and per part, dev metrics of base / Stage 1 / Stage 2 incl. AUC per adjacent level pair) and
    loss_curve.png and README.md. The trainer options (--bf16, --gradient-accumulation-steps, --save-steps,
    --resume, torchrun) are Stage 1's.

    \b
    Example:
      mrs mine --model demo/s1 --catalog demo/catalog.jsonl --judgments demo/judgments.tsv \\
          --judge demo/judge --out demo/mined.tsv
      mrs train stage2 --model demo/s1 --judgments demo/judgments.tsv --mined demo/mined.tsv \\
          --catalog demo/catalog.jsonl --out demo/s2 --circle-weight 0.5 --max-steps 100
    """
    from mrs.data.readers import Rejects, read_catalog, read_judgments
    from mrs.models import resolve_model
    from mrs.toolkit.stage1 import parse_level_weights
    from mrs.toolkit.stage2 import Stage2Config, parse_floats, read_stage1_report, train_stage2

    path = resolve_model(model_dir)
    s1 = read_stage1_report(path).get("config", {})
    rejects = Rejects()
    judgments = read_judgment_input(judgments_path, queries_path=queries_path, scheme=scheme, on_error=on_error,
                                    rejects=rejects)
    mined = (read_judgments(mined_path, fmt="mrs", scheme=judgments.scheme, on_error=on_error, rejects=rejects)
             if mined_path else None)
    catalog = list(read_catalog(catalog_path, id_field=id_field, on_error=on_error, rejects=rejects))
    n_boundaries = len(judgments.scheme.levels) - 1
    config = Stage2Config(
        model=path, circle_weight=circle_weight, supcon_weight=supcon_weight,
        margins=parse_floats(margins, "--margins", n_boundaries), gamma=gamma, circle_targets=circle_targets,
        boundary_weights=parse_floats(boundary_weights, "--boundary-weights", n_boundaries),
        temperature=temperature,
        level_weights=parse_level_weights(level_weights, judgments.scheme) if level_weights else None,
        min_confidence=min_confidence, spelling_rate=spelling_rate,
        dev_fraction=dev_fraction if dev_fraction is not None else s1.get("dev_fraction", 0.2),
        seed=seed if seed is not None else s1.get("seed", 0),
        lr=lr, template=template, **trainer_settings(trainer))
    config.extra["command"] = command_line(click.get_current_context())
    report = with_progress(as_json, lambda on_progress: train_stage2(config, catalog, judgments, mined, out_dir,
                                                                      progress=on_progress))
    print_training_outcome(report, rejects, out_dir, as_json, _print_summary)

def _print_summary(report: dict) -> None:
    d = report["data"]
    m = d["merge"]
    print_training_summary(
        report,
        f"data: {d['train_queries']} train / {d['dev_queries']} dev queries; mined pairs added "
        f"{m['added']}, re-judged {m['replaced']}, low confidence {m['low_confidence']}",
        ("base", "stage1", "stage2"),
    )


command = stage2_cmd
