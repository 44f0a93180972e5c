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
from mrs.cli.judgment_options import queries_option, read_judgment_input, scheme_option
from mrs.data.query_filters import read_query_filters
from mrs.errors import InputError
from mrs.eval.metrics import GAINS, STAT_TESTS
from mrs.indexer.backend import DEFAULT_HYBRID_DEPTH


def _level_grade(scheme, level: str | None) -> int:
    """--relevant-level (a level name or grade) → grade; default 1 (every level above the lowest)."""
    if level is None:
        return 1
    try:
        grade = scheme.grade_of(int(level) if level.strip().isdigit() else level)
    except KeyError:
        raise InputError(
            f"--relevant-level {level!r} is not a level of the {scheme.name} scheme ({', '.join(scheme.levels)})"
        ) from None
    if grade < 1:
        raise InputError(f"--relevant-level {level!r}: the lowest level cannot count as relevant")
    return grade


def _run_file_arg(value: str) -> tuple[str, Path]:
    """--run value → (run name, path): ``NAME=FILE`` or a plain path (named by its stem)."""
    name, sep, path = value.partition("=")
    if sep and name and "/" not in name and not Path(value).exists():
        return name, Path(path)
    return Path(value).stem, Path(value)


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
    from mrs.data.readers import Rejects, rejects_path_for
    from mrs.eval.harness import EvalConfig, build_report, check_query_filters, evaluate_backend
    from mrs.eval.metrics import parse_metrics
    from mrs.eval.runs import parse_modes, parse_pipeline_option
    from mrs.eval.tuned import select_queries
    from mrs.indexer.backend import hybrid_depth

    if index_dir is None and not run_files:
        raise InputError("give --index DIR (runs the judged queries) and/or --run FILE (TREC run files)")
    if (pipelines or pagination_depth) and index_dir is None:
        raise InputError("--pipeline and --pagination-depth need --index (they run hybrid searches)")
    specs = (parse_modes(modes) + [parse_pipeline_option(p) for p in pipelines]) if index_dir is not None else []
    rejects = Rejects() if on_error == "skip" else None
    judgments = read_judgment_input(judgments_file, fmt=fmt, scheme=scheme, queries_path=queries_file,
                                    on_error=on_error, rejects=rejects, needs_query_text=index_dir is not None)
    judged_queries = judgments.queries()
    selection = select_queries(judged_queries, specs, split, dev_fraction, seed)
    outside_split = set(judged_queries) - set(selection.query_ids)
    judgments = judgments.subset(selection.query_ids)
    depth = hybrid_depth(k, pagination_depth)
    config = EvalConfig(
        metrics=parse_metrics(metrics), gains=gains, relevant_grade=_level_grade(judgments.scheme, relevant_level),
        k=k, judged_k=judged_k, stat_test=stat_test, max_p=max_p,
        pagination_depth=depth if backend == "embedded" else None,  # clusters are opened with it (candidates)
    )
    external, outside = _read_run_files(run_files, judged_queries, outside_split)
    for name in external:
        selection.scored_on[name] = selection.side
    pipelines_used = {s.name: _pipeline_record(s, depth) for s in specs if s.mode == "hybrid"}

    with progress(quiet=as_json) as bar:
        def track(description: str, total: int):
            task = bar.add_task(description, total=total)
            return lambda: bar.advance(task)

        if index_dir is not None:
            if backend != "elasticsearch":  # ES runs take retriever bodies, the ES backend checks them
                specs = [_checked(s, backend) for s in specs]
            # embedded: --index is a directory; opensearch/elasticsearch: the index/alias on the cluster
            # a cluster is told the depth only when it differs from k (OpenSearch < 2.19 lacks pagination_depth)
            engine, encoder = open_backend(backend, index_dir, cluster, model, max_k=k,
                                           candidates=depth if depth != k else None,
                                           needs_encoder=any(s.mode != "lexical" for s in specs),
                                           allow_model_mismatch=allow_model_mismatch)
            filters = check_query_filters(engine, read_query_filters(queries_file), str(queries_file)) \
                if queries_file is not None else None
            report, retrieved = evaluate_backend(engine, encoder, judgments, specs, config, track=track,
                                                 extra_runs=external, filters=filters)
            runs = {name: rr.run() for name, rr in retrieved.items()} | external
            report["settings"]["index"] = str(index_dir)
        else:
            runs = external
            report = build_report(judgments, runs, config)
    report["settings"]["judgments"] = str(judgments_file)
    _record_selection(report, selection, outside, pipelines_used, depth)
    if rejects is not None and rejects.count:
        if out_dir is not None:
            out_dir.mkdir(parents=True, exist_ok=True)  # rejects go inside the report folder
        where = rejects.write(rejects_path_for(out_dir if out_dir is not None else judgments_file))
        report["warnings"].append(f"{rejects.count} bad judgment rows skipped, written to {where}")
        report["coverage"]["judgment_rows_rejected"] = rejects.count

    from mrs.eval.report import json_view, write_report

    written = {}
    if out_dir is not None:
        written = write_report(out_dir, report, runs, judgments.qrels(), with_plots=not no_plots)
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


def _record_selection(report: dict, selection, outside: dict[str, int], pipelines_used: dict, depth: int) -> None:
    """Which queries every run is scored on, the hybrid pipelines and depth, and the split's warnings."""
    report["settings"]["split"] = selection.to_dict()
    report["settings"]["queries"] = selection.describe()
    report["settings"]["pipelines"] = pipelines_used
    report["settings"]["hybrid_pagination_depth"] = depth if pipelines_used else None
    report["warnings"][:0] = selection.warnings + [
        f"run {name!r}: {n} queries are outside the {selection.side} split and are left out"
        for name, n in outside.items()]


def _read_run_files(values, judged: dict[str, str], outside_split: set[str]) -> tuple[dict, dict[str, int]]:
    """--run values → ({run name: run without the ``outside_split`` queries (judged, other side of the
    split)}, {run name: how many it lost}). Queries nobody judged stay (the report counts them); a run that
    names none of the ``judged`` query ids is an InputError (check_run_queries)."""
    from mrs.eval.runs import check_run_queries, read_trec_run

    external, outside = {}, {}
    for value in values:
        name, path = _run_file_arg(value)
        _, run = read_trec_run(path)
        check_run_queries(run, judged, path)
        if name in external:
            name = f"{path.parent.name}/{path.stem}"
        if name in external:
            raise InputError(f"two --run files are both named {name!r}; name them with --run NAME=FILE")
        left_out = [q for q in run if q in outside_split]
        external[name] = {q: docs for q, docs in run.items() if q not in outside_split}
        if left_out:
            outside[name] = len(left_out)
    return external, outside


def _pipeline_record(spec, depth: int) -> dict:
    """What report.json records about a hybrid run: the pipeline body it ran, where it came from, the depth."""
    from mrs.engine.pipeline import default_pipeline, pipeline_body

    body = spec.pipeline if spec.pipeline is not None else pipeline_body(default_pipeline())
    source = spec.source or ("mrs default (min_max + arithmetic_mean 0.7/0.3)" if spec.pipeline is None
                             else f"mode {spec.name}")
    record = {"source": source, "pagination_depth": depth, "body": body}
    if spec.tuned_on is not None:
        record["tuned_on"] = spec.tuned_on.to_dict()
    return record


def _pipelines_line(settings) -> str:
    """' · hybrid depth 100: hybrid = mrs default …, tuned = demo/calibration.pipeline.json' for the title."""
    used = settings.get("pipelines") or {}
    if not used:
        return ""
    names = ", ".join(f"{name} = {rec['source']}" for name, rec in used.items())
    return f"\nhybrid runs (candidates per sub-query {settings['hybrid_pagination_depth']}): {names}"


def _checked(spec, backend: str = "embedded"):
    """Parse a hybrid spec's pipeline body once up front (a bad pipeline fails before any search)."""
    if spec.mode != "hybrid" or spec.pipeline is None or not isinstance(spec.pipeline, dict):
        return spec
    from dataclasses import replace

    from mrs.engine.retriever import is_retriever_body, parse_retriever

    if is_retriever_body(spec.pipeline):  # an Elasticsearch linear/rrf retriever (docs/elasticsearch.md)
        if backend == "opensearch":
            raise InputError(f"run {spec.name!r} is an Elasticsearch retriever: OpenSearch takes search-pipeline "
                             "bodies (normalization-processor / score-ranker-processor)", path=spec.source)
        try:
            return replace(spec, pipeline=parse_retriever(spec.pipeline))
        except InputError as e:
            raise InputError(f"retriever of run {spec.name!r}: {e.message}", path=spec.source) from None

    from mrs.engine.pipeline import parse_pipeline

    try:
        return replace(spec, pipeline=parse_pipeline(spec.pipeline, n_subqueries=2))
    except InputError as e:
        raise InputError(f"pipeline of run {spec.name!r}: {e.message}", path=spec.source) from None
