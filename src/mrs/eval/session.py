"""One `mrs eval` run: read the judgments, choose the query split, run every mode / pipeline / run file, and
build (and optionally write) the report. The CLI parses options into an EvalRequest and prints the result.

The backend is opened by the caller's ``open_backend(needs_encoder, candidates)`` (the CLI knows the cluster
options), so this room never imports the CLI.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from mrs.data.judgment_readers import read_judgments
from mrs.data.query_filters import read_query_filters
from mrs.data.rejects import Rejects, rejects_path_for
from mrs.errors import InputError
from mrs.eval.harness import EvalConfig, Tracker, build_report, check_query_filters, evaluate_backend
from mrs.eval.metrics import parse_metrics
from mrs.eval.runs import check_run_queries, parse_modes, parse_pipeline_option, read_trec_run
from mrs.eval.tuned import select_queries
from mrs.indexer.backend import hybrid_depth

# open_backend(needs_encoder, candidates) → (backend, query encoder or None)
BackendOpener = Callable[[bool, int | None], tuple[Any, Any]]


@dataclass(frozen=True)
class EvalRequest:
    """What `mrs eval` was asked, option by option (see its --help). index: index directory or cluster
    index name, None for run files only; pipelines: NAME=FILE values; run_files: [NAME=]FILE values;
    metrics: comma-separated names or None; relevant_level: level name or grade or None; out_dir: where the
    report goes (None: not written); with_plots: PNG plots beside it."""

    judgments_file: Path
    index: Any = None
    fmt: str | None = None
    scheme: str | None = None
    queries_file: str | None = None
    modes: str = "lexical,dense,hybrid"
    pipelines: tuple[str, ...] = ()
    run_files: tuple[str, ...] = ()
    k: int = 100
    metrics: str | None = None
    gains: str = "grades"
    relevant_level: str | None = None
    split: str | None = None
    dev_fraction: float | None = None
    seed: int | None = None
    pagination_depth: int | None = None
    stat_test: str = "student"
    max_p: float = 0.01
    judged_k: int = 10
    on_error: str = "fail"
    backend: str = "embedded"
    out_dir: Path | None = None
    with_plots: bool = True


@dataclass
class EvalResult:
    """report: the report dict (mrs.eval.harness); written: {what: path} of the files written to out_dir."""

    report: dict
    written: dict = field(default_factory=dict)


def run_eval(request: EvalRequest, open_backend: BackendOpener, track: Tracker | None = None) -> EvalResult:
    """Evaluate as ``request`` says; InputError for options that do not fit together or bad input files."""
    r = request
    if r.index is None and not r.run_files:
        raise InputError("give --index DIR (runs the judged queries) and/or --run FILE (TREC run files)")
    if (r.pipelines or r.pagination_depth) and r.index is None:
        raise InputError("--pipeline and --pagination-depth need --index (they run hybrid searches)")
    specs = (parse_modes(r.modes) + [parse_pipeline_option(p) for p in r.pipelines]) if r.index is not None else []
    rejects = Rejects() if r.on_error == "skip" else None
    judgments = read_judgments(r.judgments_file, fmt=r.fmt, scheme=r.scheme, queries=r.queries_file,
                               on_error=r.on_error, rejects=rejects, needs_query_text=r.index is not None)
    judged_queries = judgments.queries()
    selection = select_queries(judged_queries, specs, r.split, r.dev_fraction, r.seed)
    outside_split = set(judged_queries) - set(selection.query_ids)
    judgments = judgments.subset(selection.query_ids)
    depth = hybrid_depth(r.k, r.pagination_depth)
    config = EvalConfig(
        metrics=parse_metrics(r.metrics), gains=r.gains, relevant_grade=level_grade(judgments.scheme, r.relevant_level),
        k=r.k, judged_k=r.judged_k, stat_test=r.stat_test, max_p=r.max_p,
        pagination_depth=depth if r.backend == "embedded" else None,  # clusters are opened with it (candidates)
    )
    external, outside = read_run_files(r.run_files, judged_queries, outside_split)
    for name in external:
        selection.scored_on[name] = selection.side
    pipelines_used = {s.name: pipeline_record(s, depth) for s in specs if s.mode == "hybrid"}
    if r.index is not None:
        if r.backend != "elasticsearch":  # ES runs take retriever bodies, the ES backend checks them
            specs = [checked_spec(s, r.backend) for s in specs]
        # a cluster is told the depth only when it differs from k (OpenSearch < 2.19 lacks pagination_depth)
        engine, encoder = open_backend(any(s.mode != "lexical" for s in specs), depth if depth != r.k else None)
        filters = check_query_filters(engine, read_query_filters(r.queries_file), str(r.queries_file)) \
            if r.queries_file is not None else None
        report, retrieved = evaluate_backend(engine, encoder, judgments, specs, config, track=track,
                                             extra_runs=external, filters=filters)
        runs = {name: rr.run() for name, rr in retrieved.items()} | external
        report["settings"]["index"] = str(r.index)
    else:
        runs = external
        report = build_report(judgments, runs, config)
    report["settings"]["judgments"] = str(r.judgments_file)
    record_selection(report, selection, outside, pipelines_used, depth)
    if rejects is not None and rejects.count:
        if r.out_dir is not None:
            r.out_dir.mkdir(parents=True, exist_ok=True)  # rejects go inside the report folder
        where = rejects.write(rejects_path_for(r.out_dir if r.out_dir is not None else r.judgments_file))
        report["warnings"].append(f"{rejects.count} bad judgment rows skipped, written to {where}")
        report["coverage"]["judgment_rows_rejected"] = rejects.count
    written = {}
    if r.out_dir is not None:
        from mrs.eval.report import write_report

        written = write_report(r.out_dir, report, runs, judgments.qrels(), with_plots=r.with_plots)
    return EvalResult(report, written)


def level_grade(scheme, level: str | None) -> int:
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


def run_file_arg(value: str) -> tuple[str, Path]:
    """--run value → (run name, path): ``NAME=FILE`` or a plain path (named by its stem)."""
    name, sep, path = value.partition("=")
    if sep and name and "/" not in name and not Path(value).exists():
        return name, Path(path)
    return Path(value).stem, Path(value)


def read_run_files(values, judged: dict[str, str], outside_split: set[str]) -> tuple[dict, dict[str, int]]:
    """--run values → ({run name: run without the ``outside_split`` queries (judged, other side of the
    split)}, {run name: how many it lost}). Queries nobody judged stay (the report counts them); a run that
    names none of the ``judged`` query ids is an InputError (check_run_queries)."""
    external, outside = {}, {}
    for value in values:
        name, path = run_file_arg(value)
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


def record_selection(report: dict, selection, outside: dict[str, int], pipelines_used: dict, depth: int) -> None:
    """Which queries every run is scored on, the hybrid pipelines and depth, and the split's warnings."""
    report["settings"]["split"] = selection.to_dict()
    report["settings"]["queries"] = selection.describe()
    report["settings"]["pipelines"] = pipelines_used
    report["settings"]["hybrid_pagination_depth"] = depth if pipelines_used else None
    report["warnings"][:0] = selection.warnings + [
        f"run {name!r}: {n} queries are outside the {selection.side} split and are left out"
        for name, n in outside.items()]


def pipeline_record(spec, depth: int) -> dict:
    """What report.json records about a hybrid run: the pipeline body it ran, where it came from, the depth."""
    from mrs.engine.pipeline import default_pipeline, pipeline_body

    body = spec.pipeline if spec.pipeline is not None else pipeline_body(default_pipeline())
    source = spec.source or ("mrs default (min_max + arithmetic_mean 0.7/0.3)" if spec.pipeline is None
                             else f"mode {spec.name}")
    record = {"source": source, "pagination_depth": depth, "body": body}
    if spec.tuned_on is not None:
        record["tuned_on"] = spec.tuned_on.to_dict()
    return record


def checked_spec(spec, backend: str = "embedded"):
    """Parse a hybrid spec's pipeline body once up front (a bad pipeline fails before any search)."""
    if spec.mode != "hybrid" or spec.pipeline is None or not isinstance(spec.pipeline, dict):
        return spec
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
