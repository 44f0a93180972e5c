"""`mrs mine`: hard-sample mining over the Stage-1 space for Stage 2."""

from __future__ import annotations

from pathlib import Path

import click

from mrs.cli.common import (
    console,
    err_console,
    handle_errors,
    id_field_option,
    json_option,
    on_error_option,
    print_json,
    print_rejects_note,
    progress,
    record_rejects,
)
from mrs.cli.judgment_options import queries_option, read_judgment_input, scheme_option
from mrs.cli.text_options import text_template_option
from mrs.errors import InputError


@click.command("mine")
@click.option("--model", "model_dir", required=True, help="The Stage-1 model directory (or any local model).")
@click.option("--catalog", "catalog_path", required=True, type=click.Path(dir_okay=False), help="Catalog file.")
@click.option("--judgments", "judgments_path", required=True, type=click.Path(dir_okay=False),
              help="The judgments Stage 1 trained on (train and dev; dev queries are excluded here).")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False),
              help="Mined labeled pairs (mrs judgments TSV; source mined / audited / mined_negative). "
                   "Statistics go to OUT.report.json.")
@click.option("--k", type=int, default=50, show_default=True, help="ANN depth per training query.")
@click.option("--band", type=float, default=0.05, show_default=True,
              help="Keep unjudged hits within this cosine distance of a level boundary (0 = keep all top-k).")
@click.option("--per-query", type=int, default=20, show_default=True, help="Most mined pairs per query (0 = all).")
@click.option("--include-judged", is_flag=True,
              help="Also re-judge judged pairs whose cosine sits on the wrong side of their level's boundary.")
@click.option("--judge", "judge_dir", default=None, type=click.Path(file_okay=False),
              help="Judge directory (`mrs judge train`) to label the mined pairs. Without it mined pairs are "
                   "written as hard negatives (grade 0).")
@click.option("--dev-fraction", type=float, default=None,
              help="Dev share of the query split (default: Stage 1's, from its training.json, else 0.2).")
@click.option("--seed", type=int, default=None, help="Split seed (default: Stage 1's, else 0).")
@text_template_option(help="Product text template (default: Stage 1's).")
@scheme_option
@queries_option
@click.option("--batch-size", type=int, default=64, show_default=True, help="Encoding batch size.")
@click.option("--hnsw-threshold", type=int, default=200_000, show_default=True,
              help="Catalogs larger than this use faiss HNSW instead of exact search.")
@id_field_option
@click.option("--device", default=None, help="cpu or cuda (default: GPU when present).")
@on_error_option
@json_option
@handle_errors
def command(model_dir, catalog_path, judgments_path, out_path, k, band, per_query, include_judged, judge_dir,
            dev_fraction, seed, template, scheme, queries_path, batch_size, hnsw_threshold, id_field, device, on_error,
            as_json):
    """Embed the catalog with the Stage-1 model, search it with faiss for every training query, keep the
    unjudged products near a level boundary, and label them with the judge.

    \b
    Example:
      mrs train stage1 --catalog demo/catalog.jsonl --judgments demo/judgments.tsv --out demo/s1 --max-steps 100
      mrs judge train --judgments demo/judgments.tsv --catalog demo/catalog.jsonl --out demo/judge
      mrs mine --model demo/s1 --catalog demo/catalog.jsonl --judgments demo/judgments.tsv \\
          --judge demo/judge --out demo/mined.tsv
    """
    from mrs.data.readers import Rejects, read_catalog, write_judgments
    from mrs.data.text import ProductTextTemplate
    from mrs.models import load_sentence_transformer, resolve_model, write_json
    from mrs.toolkit.dev_eval import encode
    from mrs.toolkit.judge import load_judge
    from mrs.toolkit.mining import MiningConfig, mine
    from mrs.toolkit.stage2 import read_stage1_report
    from mrs.toolkit.training import pick_device

    path = resolve_model(model_dir)
    s1 = read_stage1_report(path).get("config", {})
    dev_fraction = dev_fraction if dev_fraction is not None else s1.get("dev_fraction", 0.2)
    seed = seed if seed is not None else s1.get("seed", 0)
    tpl = ProductTextTemplate(template or s1.get("template") or ProductTextTemplate().template)
    judge = load_judge(judge_dir) if judge_dir else None
    rejects = Rejects()
    jset = read_judgment_input(judgments_path, queries_path=queries_path, scheme=scheme, on_error=on_error,
                               rejects=rejects)
    if judge is not None and judge.scheme.name != jset.scheme.name:
        raise InputError(f"the judge labels in scheme {judge.scheme.name!r} but the judgments use "
                         f"{jset.scheme.name!r}; pass --scheme {judge.scheme.name}")
    products = list(read_catalog(catalog_path, id_field=id_field, on_error=on_error, rejects=rejects))
    texts = {p.id: tpl.render(p) for p in products}
    if hasattr(judge, "attach_catalog"):
        judge.attach_catalog(products)  # an ordinal judge reads the products' fields
    judge_texts = None
    if judge is not None and judge.template != tpl.template:
        judge_tpl = ProductTextTemplate(judge.template)
        judge_texts = {p.id: judge_tpl.render(p) for p in products}
    model = load_sentence_transformer(path, device=pick_device(device))
    config = MiningConfig(k=k, band=band or None, per_query=per_query, include_judged=include_judged,
                          dev_fraction=dev_fraction, seed=seed, hnsw_threshold=hnsw_threshold, batch_size=batch_size)
    with progress(quiet=as_json) as bar:
        task = bar.add_task("mining queries", total=None)

        def on_query(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        result = mine(lambda t: encode(model, t, batch_size), texts, jset, config, judge=judge, on_query=on_query,
                      judge_texts=judge_texts)
    written = write_judgments(result.judgments, out_path)
    stats = {**result.stats, "model": path, "judge": judge_dir, "out": str(written),
             "template": tpl.template}
    write_json(Path(f"{out_path}.report.json"), stats)
    record_rejects(stats, rejects, out_path)
    if as_json:
        print_json(stats)
        return
    console.print(f"mined {len(result.judgments)} pairs for {stats['train_queries']} training queries "
                  f"({stats['dev_queries_excluded']} dev queries excluded, {stats['index']}) → [bold]{written}[/]")
    console.print("sources: " + (", ".join(f"{s} {n}" for s, n in stats["sources"].items()) or "none"))
    console.print("levels: " + ", ".join(f"{lvl} {n}" for lvl, n in stats["levels"].items()))
    if judge is None:
        err_console.print("[yellow]no --judge:[/] mined pairs are labeled as hard negatives (grade 0)",
                          highlight=False)
    print_rejects_note(stats)
