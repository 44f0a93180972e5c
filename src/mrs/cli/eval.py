"""`mrs eval`: compare lexical, dense and hybrid retrieval (or TREC run files) against graded judgments."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from mrs.cli.backends import backend_errors, cluster_backend_options, model_mismatch_option, open_backend
from mrs.cli.common import (
    console,
    err_console,
    handle_errors,
    json_option,
    on_error_option,
    print_json,
    progress,
)
from mrs.cli.judgment_options import queries_option, scheme_option
from mrs.eval.metrics import GAINS, STAT_TESTS
from mrs.indexer.backend import DEFAULT_HYBRID_DEPTH


def _table(title: str, headers: list[str], rows: list[list[str]]) -> Table:
    table = Table(title=title, title_justify="left")
    for i, h in enumerate(headers):
        table.add_column(h, justify="left" if i == 0 else "right")
    for r in rows:
        table.add_row(*r)
    return table


@click.command("eval")
@click.option("--index", "index_dir", type=click.Path(path_type=Path), default=None,
              help="Index to run the judged queries against: an embedded index directory (from `mrs index "
                   "catalog`), or the index/alias name on the cluster with --backend opensearch|elasticsearch.")
@click.option("--judgments", "judgments_file", required=True, type=click.Path(path_type=Path),
              help="Graded judgments (ESCI qrels TSV, SRW JSON, TREC qrels, WANDS labels, mrs TSV).")
@click.option("--format", "fmt", default=None, help="Judgments format [default: detect].")
@scheme_option
@queries_option(dest="queries_file")
@click.option("--modes", default="lexical,dense,hybrid", show_default=True,
              help="Comma-separated runs against --index: lexical, dense, hybrid (default pipeline), "
                   "rrf (score-ranker-processor, rank_constant 60).")
@click.option("--pipeline", "pipelines", multiple=True, metavar="NAME=FILE",
              help="Add a hybrid run named NAME through the search-pipeline JSON in FILE (repeatable).")
@click.option("--run", "run_files", multiple=True, metavar="[NAME=]FILE",
              help="Evaluate a TREC run file too, named NAME or the file's stem (repeatable); without --index "
                   "only the run files are compared.")
@click.option("--k", type=click.IntRange(min=1), default=100, show_default=True, help="Results per query.")
@click.option("--metrics", default=None,
              help="Comma-separated ranx metric names [default: ndcg@10,ndcg@100,map@100,recall@100,mrr,precision@10].")
@click.option("--gains", type=click.Choice(list(GAINS)), default="grades", show_default=True,
              help="nDCG gains: grades (3/2/1/0 for ESCI) or esci (official 1/0.1/0.01/0, as qrels ×100).")
@click.option("--relevant-level", default=None,
              help="Lowest level that counts as relevant for recall/map/mrr/precision [default: every level above "
                   "the lowest, ESCI: complement and up].")
@click.option("--split", type=click.Choice(["all", "train", "dev"]), default=None,
              help="Score every run on one query split (by query, seeded, as mrs trains and calibrates) "
                   "[default: dev when a --pipeline came from `mrs calibrate` (its held-out queries), else all].")
@click.option("--dev-fraction", type=click.FloatRange(0.0, 1.0, min_open=True, max_open=True), default=None,
              help="Dev share of the split [default: the calibration's, else 0.2].")
@click.option("--seed", type=int, default=None, help="Split seed [default: the calibration's, else 0].")
@click.option("--pagination-depth", type=click.IntRange(min=1), default=None,
              help=f"Candidates per hybrid sub-query [default: max(k, {DEFAULT_HYBRID_DEPTH}), as mrs search and "
                   "mrs calibrate]. OpenSearch receives it as the hybrid query's pagination_depth.")
@click.option("--stat-test", type=click.Choice(list(STAT_TESTS)), default="student", show_default=True,
              help="Significance test between runs: paired t-test, Fisher randomization, Tukey HSD.")
@click.option("--max-p", type=click.FloatRange(0.0, 1.0, min_open=True), default=0.01, show_default=True,
              help="p-value below which a difference counts as significant.")
@click.option("--judged-k", type=click.IntRange(min=1), default=10, show_default=True, help="Cutoff of judged@k.")
@click.option("--model", default=None, help="Query encoder [default: the model the index was built with].")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write report.json, report.md, runs/*.trec, qrels.trec and PNG plots here.")
@click.option("--no-plots", is_flag=True, help="With --out: skip the PNG plots.")
@model_mismatch_option
@cluster_backend_options
@on_error_option
@json_option
@handle_errors
@backend_errors
def command(index_dir, judgments_file, fmt, scheme, queries_file, modes, pipelines, run_files, k, metrics, gains,
            relevant_level, split, dev_fraction, seed, pagination_depth, stat_test, max_p, judged_k, model, out_dir,
            no_plots, allow_model_mismatch, on_error, as_json, backend="embedded", **cluster) -> None:
    """Evaluate retrieval against graded judgments with ranx: metrics per run, significance between runs,
    judged@k, recall per level, score separation (AUC) per level, latency.

    Every judged query goes through the index (lexical, dense, hybrid ...); unjudged products count as
    irrelevant (judged@k says how many there were). Relevant for recall/map/mrr/precision means grade ≥
    --relevant-level. A blend tuned by `mrs calibrate` (--pipeline NAME=calibration.json, or the
    calibration.pipeline.json beside it) is scored, with every other run, on the calibration's held-out
    dev queries; the table says which queries each run is scored on.

    \b
    Example:
      mrs eval --index demo/index --judgments demo/judgments.tsv
      mrs eval --index demo/index --judgments demo/judgments.tsv --modes lexical,hybrid,rrf \\
               --pipeline tuned=pipeline.json --gains esci --out demo/eval --json
      mrs eval --judgments qrels.tsv --run a.trec --run b.trec --stat-test fisher
      MRS_OPENSEARCH_URL=https://localhost:9200 mrs eval --backend opensearch --index products \\
               --judgments demo/judgments.tsv --pipeline tuned=demo/calibration.pipeline.json
      MRS_ELASTICSEARCH_URL=http://localhost:9200 mrs eval --backend elasticsearch --index products \\
               --judgments demo/judgments.tsv --pipeline linear=es/retrievers/linear.json
    """
    from mrs.eval.report import json_view
    from mrs.eval.session import EvalRequest, run_eval

    request = EvalRequest(
        judgments_file=judgments_file, index=index_dir, fmt=fmt, scheme=scheme, queries_file=queries_file,
        modes=modes, pipelines=tuple(pipelines), run_files=tuple(run_files), k=k, metrics=metrics, gains=gains,
        relevant_level=relevant_level, split=split, dev_fraction=dev_fraction, seed=seed,
        pagination_depth=pagination_depth, stat_test=stat_test, max_p=max_p, judged_k=judged_k, on_error=on_error,
        backend=backend, out_dir=out_dir, with_plots=not no_plots)

    def opener(needs_encoder: bool, candidates: int | None):
        # embedded: --index is a directory; opensearch/elasticsearch: the index/alias on the cluster
        return open_backend(backend, index_dir, cluster, model, max_k=k, candidates=candidates,
                            needs_encoder=needs_encoder, allow_model_mismatch=allow_model_mismatch)

    with progress(quiet=as_json) as bar:
        def track(description: str, total: int):
            task = bar.add_task(description, total=total)
            return lambda: bar.advance(task)

        result = run_eval(request, opener, track)
    report, written = result.report, result.written
    for w in report["warnings"]:
        err_console.print(f"[yellow]warning:[/] {w}", highlight=False, soft_wrap=True)
    if as_json:
        view = json_view(report)
        if written:
            view["written"] = written
        print_json(view)
        return
    _print_tables(report)
    if written:
        console.print(f"report written to {out_dir}", style="dim")


def _print_tables(report: dict) -> None:
    """The terminal view: metrics by run (with the queries and pipelines in the title), the significant
    differences, the separation AUCs."""
    from mrs.eval.report import by_run_columns, separation_rows, significance_rows, summary_rows

    s = report["settings"]
    console.print(_table(f"{s['queries']} · k {s['k']} · gains {s['gains']} · relevant {s['relevant']} · "
                         f"unjudged = irrelevant{_pipelines_line(s)}", *by_run_columns(*summary_rows(report))))
    headers, rows = significance_rows(report)
    if rows:
        significant = [r for r in rows if r[4] == "yes"]
        console.print(_table(f"significant differences ({s['stat_test']}, p < {s['max_p']}): "
                             f"{len(significant)} of {len(rows)}", headers, significant or rows))
    console.print(_table("score separation on judged pairs: AUC pooled / per query (1 = levels apart, 0.5 = mixed)",
                         *by_run_columns(*separation_rows(report))))


def _pipelines_line(settings) -> str:
    """' · hybrid depth 100: hybrid = mrs default …, tuned = demo/calibration.pipeline.json' for the title."""
    used = settings.get("pipelines") or {}
    if not used:
        return ""
    names = ", ".join(f"{name} = {rec['source']}" for name, rec in used.items())
    return f"\nhybrid runs (candidates per sub-query {settings['hybrid_pagination_depth']}): {names}"
