"""`mrs train`: the Mine & Refine training stages (stage1 here; stage2 registers itself on the same group)."""

from __future__ import annotations

import click

from mrs.cli.common import err_console, handle_errors, json_option, on_error_option
from mrs.cli.judgment_options import queries_option, read_judgment_input, scheme_option
from mrs.cli.text_options import text_template_option
from mrs.cli.train_options import (
    command_line,
    print_training_outcome,
    print_training_summary,
    trainer_options,
    trainer_settings,
    with_progress,
)
from mrs.data.readers import Rejects, read_catalog
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
              help="Synthetic queries per catalog product (0 = off; docs/training.md compares 1, 2 and 3).")
@click.option("--llm-url", default=None, help="Generate synthetic queries with this OpenAI-compatible endpoint "
              "instead of field templates (API key from $MRS_LLM_API_KEY, as the LLM judge, or --llm-key-env).")
@click.option("--llm-model", default=None, help="Model name for --llm-url.")
@click.option("--llm-key-env", default="MRS_LLM_API_KEY", show_default=True,
              help="Environment variable holding the endpoint's API key (when $MRS_LLM_API_KEY is unset, "
                   "$OPENAI_API_KEY is read, with a notice).")
@click.option("--dev-fraction", type=float, default=0.2, show_default=True,
              help="Share of queries held out for the dev evaluation (never trained on).")
@click.option("--dev-corpus-size", type=int, default=0, show_default=True,
              help="Dev retrieval corpus: 0 = whole catalog; N = the dev-judged products + N random others.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--lr", type=float, default=2e-5, show_default=True, help="AdamW peak learning rate.")
@text_template_option(default=DEFAULT_TEMPLATE, help="Product text template (use the same one for `mrs index`).")
@scheme_option
@queries_option
@click.option("--id-field", default=None, help="Catalog id column (default: id, _id, asin or product_id).")
@trainer_options
@on_error_option
@json_option
@handle_errors
def stage1_cmd(catalog_path, judgments_path, out_dir, base, dim, level_weights, temperature, spelling_rate,
               synthetic_per_product, llm_url, llm_model, llm_key_env, dev_fraction, dev_corpus_size, seed, lr,
               template, scheme, queries_path, id_field, on_error, as_json, **trainer):
    """Stage 1: fine-tune one shared query/product encoder with graded SupCon on the training queries,
    misspelled copies and synthetic queries; evaluate on held-out dev queries.

    Writes OUT (a sentence-transformers model directory) with training.json (config, data counts, loss per
    step, trainer arguments, dev nDCG@10 / recall@100 / separation AUCs of the base and the trained model),
    loss_curve.png and README.md (the model card). Trains with sentence-transformers' trainer: --bf16/--fp16,
    --gradient-accumulation-steps, checkpoints every --save-steps under OUT/checkpoints (--resume continues
    from the last one), several GPUs with torchrun (docs/training.md).

    \b
    Example:
      mrs data sample --out demo
      mrs train stage1 --catalog demo/catalog.jsonl --judgments demo/judgments.tsv \\
          --out demo/model-stage1 --max-steps 200 --save-steps 50
      mrs index catalog demo/catalog.jsonl --index demo/index --model demo/model-stage1
    \b
    On 4 GPUs:
      torchrun --nproc_per_node 4 -m mrs.cli.main train stage1 --catalog demo/catalog.jsonl \\
          --judgments demo/judgments.tsv --out demo/model-stage1 --bf16
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
                          dev_fraction=dev_fraction, dev_corpus_size=dev_corpus_size, seed=seed, lr=lr,
                          template=template, **trainer_settings(trainer))
    config.extra["command"] = command_line(click.get_current_context())
    generator = None
    if llm_url:
        generator = OpenAICompatibleQueryGenerator(llm_url, llm_model, api_key_env=llm_key_env)
        config.extra["synthetic_generator"] = {"url": llm_url, "model": llm_model}

    report = with_progress(as_json, lambda on_progress: train_stage1(config, catalog, judgments, out_dir,
                                                                      progress=on_progress, generator=generator))
    data = report["data"]
    if data["judgments_missing_product"]:
        err_console.print(f"[yellow]warning:[/] {data['judgments_missing_product']} judgments name products "
                          "missing from the catalog; they were skipped", highlight=False)
    print_training_outcome(report, rejects, out_dir, as_json, _print_summary)


def _print_summary(report: dict) -> None:
    d = report["data"]
    print_training_summary(
        report,
        f"data: {d['train_queries']} train / {d['dev_queries']} dev queries, {d['augmented_queries']} "
        f"misspelled copies, {d['synthetic_queries']} synthetic queries",
        ("base", "stage1"),
    )
