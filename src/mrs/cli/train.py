"""`mrs train`: the Mine & Refine training stages (stage1 here; stage2 registers itself on the same group)."""

from __future__ import annotations

import click

from mrs.cli.common import (
    console,
    err_console,
    handle_errors,
    json_option,
    on_error_option,
    print_json,
    progress,
)
from mrs.cli.judgment_options import queries_option, read_judgment_input, scheme_option
from mrs.cli.text_options import text_template_option
from mrs.data.readers import Rejects, read_catalog, rejects_path_for
from mrs.data.text import DEFAULT_TEMPLATE
from mrs.errors import InputError


@click.group("train")
def command() -> None:
    """Train embedding models with the Mine & Refine recipe (stage1: graded SupCon; stage2: mine & refine)."""


@command.command("stage1")
@click.option("--catalog", "catalog_path", required=True, type=click.Path(dir_okay=False),
              help="Catalog file (JSONL, CSV/TSV or Parquet).")
@click.option("--judgments", "judgments_path", required=True, type=click.Path(dir_okay=False),
              help="Graded judgments (ESCI qrels TSV, SRW JSON, TREC qrels, mrs JSONL).")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Model directory to write (replaced atomically when it exists).")
@click.option("--base", default="", help="Base model: a local sentence-transformers directory "
              "(default: the packaged all-MiniLM-L6-v2).")
@click.option("--dim", type=int, default=None, help="Project embeddings to this dimension (Dense head).")
@click.option("--level-weights", default=None,
              help="Per-level weights, e.g. exact=1,substitute=0.2 (weight 0 = negative). "
                   "Default: top level 1, next 0.2, lower 0.")
@click.option("--temperature", type=float, default=0.05, show_default=True, help="SupCon temperature τ.")
@click.option("--spelling-rate", type=float, default=0.5, show_default=True,
              help="Misspelled copies per training query (added, never replacing; 0 = off).")
@click.option("--synthetic-per-product", type=int, default=2, show_default=True,
              help="Synthetic queries per catalog product (0 = off; 2 beat 1 on ESCI: docs/training.md).")
@click.option("--llm-url", default=None, help="Generate synthetic queries with this OpenAI-compatible endpoint "
              "instead of field templates (API key from $MRS_LLM_API_KEY, as the LLM judge, or --llm-key-env).")
@click.option("--llm-model", default=None, help="Model name for --llm-url.")
@click.option("--llm-key-env", default="MRS_LLM_API_KEY", show_default=True,
              help="Environment variable holding the endpoint's API key ($OPENAI_API_KEY is still read, with a "
                   "notice, when $MRS_LLM_API_KEY is unset).")
@click.option("--dev-fraction", type=float, default=0.2, show_default=True,
              help="Share of queries held out for the dev evaluation (never trained on).")
@click.option("--dev-corpus-size", type=int, default=0, show_default=True,
              help="Dev retrieval corpus: 0 = whole catalog; N = the dev-judged products + N random others.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--epochs", type=int, default=1, show_default=True)
@click.option("--max-steps", type=int, default=0, show_default=True, help="Stop after N steps (0 = no cap).")
@click.option("--batch-size", type=int, default=64, show_default=True, help="(query, product) rows per batch.")
@click.option("--per-query", type=int, default=8, show_default=True, help="Most products of one query per batch.")
@click.option("--lr", type=float, default=2e-5, show_default=True, help="AdamW peak learning rate.")
@text_template_option(default=DEFAULT_TEMPLATE, help="Product text template (use the same one for `mrs index`).")
@scheme_option
@queries_option
@click.option("--id-field", default=None, help="Catalog id column (default: id, _id, asin or product_id).")
@click.option("--device", default=None, help="cpu, cuda, mps (default: GPU when present).")
@on_error_option
@json_option
@handle_errors
def stage1_cmd(catalog_path, judgments_path, out_dir, base, dim, level_weights, temperature, spelling_rate,
               synthetic_per_product, llm_url, llm_model, llm_key_env, dev_fraction, dev_corpus_size, seed, epochs,
               max_steps, batch_size, per_query, lr, template, scheme, queries_path, id_field, device, on_error,
               as_json):
    """Stage 1: fine-tune one shared query/product encoder with graded SupCon on the training queries,
    misspelled copies and synthetic queries; evaluate on held-out dev queries.

    Writes OUT (a sentence-transformers model directory) with training.json (config, data counts, loss per
    step, dev nDCG@10 / recall@100 / separation AUCs of the base and the trained model) and loss_curve.png.

    \b
    Example:
      mrs data sample --out demo
      mrs train stage1 --catalog demo/catalog.jsonl --judgments demo/judgments.tsv \\
          --out demo/model-stage1 --max-steps 200
      mrs index catalog demo/catalog.jsonl --index demo/index --model demo/model-stage1
    """
    from mrs.models import resolve_model
    from mrs.toolkit.stage1 import Stage1Config, parse_level_weights, train_stage1
    from mrs.toolkit.synthetic import OpenAICompatibleQueryGenerator

    resolve_model(base or None)  # a bad --base fails now (exit 2), not after reading the data
    if (llm_url is None) != (llm_model is None):
        raise InputError("--llm-url and --llm-model go together")
    rejects = Rejects()
    judgments = read_judgment_input(judgments_path, queries_path=queries_path, scheme=scheme, on_error=on_error,
                                    rejects=rejects)
    catalog = list(read_catalog(catalog_path, id_field=id_field, on_error=on_error, rejects=rejects))
    weights = parse_level_weights(level_weights, judgments.scheme) if level_weights else None
    config = Stage1Config(base=base, dim=dim, level_weights=weights, temperature=temperature,
                          spelling_rate=spelling_rate, synthetic_per_product=synthetic_per_product,
                          dev_fraction=dev_fraction, dev_corpus_size=dev_corpus_size, seed=seed, epochs=epochs,
                          max_steps=max_steps,
                          batch_size=batch_size, per_query=per_query, lr=lr, template=template, device=device)
    config.extra["command"] = command_line(click.get_current_context())
    generator = None
    if llm_url:
        generator = OpenAICompatibleQueryGenerator(llm_url, llm_model, api_key_env=llm_key_env)
        config.extra["synthetic_generator"] = {"url": llm_url, "model": llm_model}

    with progress(quiet=as_json) as bar:
        tasks: dict[str, int] = {}
        labels = {"prepare": "preparing data", "train": "training", "evaluate": "dev evaluation"}

        def on_progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(labels.get(stage, stage), total=total)
            bar.update(tasks[stage], completed=done, total=total)

        report = train_stage1(config, catalog, judgments, out_dir, progress=on_progress, generator=generator)

    data = report["data"]
    if rejects.count:
        path = rejects.write(rejects_path_for(out_dir))
        report["rejects"] = {"count": rejects.count, "path": str(path), "reasons": rejects.reasons()}
    if data["judgments_missing_product"]:
        err_console.print(f"[yellow]warning:[/] {data['judgments_missing_product']} judgments name products "
                          "missing from the catalog; they were skipped", highlight=False)
    print_training_notice(report)
    for warning in report.get("warnings", []):
        err_console.print(f"[yellow]warning:[/] {warning}", highlight=False)
    if as_json:
        print_json(report | {"training": {k: v for k, v in report["training"].items() if k != "loss_per_step"}})
        return
    _print_summary(report)


def _print_summary(report: dict) -> None:
    d = report["data"]
    print_training_summary(
        report,
        f"data: {d['train_queries']} train / {d['dev_queries']} dev queries, {d['augmented_queries']} "
        f"misspelled copies, {d['synthetic_queries']} synthetic queries",
        ("base", "stage1"),
    )


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
