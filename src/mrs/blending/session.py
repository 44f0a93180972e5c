"""One `mrs calibrate` run: read the judgments, calibrate against the index, and write calibration.json with
its pipeline body and plots, all or nothing. The CLI parses options into a CalibrateRequest and prints.

The backend is opened by the caller's ``open_backend()`` (the CLI knows the cluster options), so this room
never imports the CLI.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mrs.atomic import output_set
from mrs.blending import calibration as cal_io
from mrs.blending.objective import parse_metric
from mrs.blending.plots import plot_blend_curves, plot_dense_levels
from mrs.blending.run import CalibrateOptions, CalibrationRun, ProgressFn, run_calibration
from mrs.blending.thresholds import parse_targets
from mrs.data.judgment_readers import read_judgments
from mrs.data.rejects import Rejects, rejects_path_for
from mrs.errors import InputError

# the blend keys the command's summary (and --json) shows, in this order
SUMMARY_BLEND_KEYS = ("subqueries", "metric", "name", "why", "train_score", "dev_score", "default", "rrf",
                      "configurations", "verified_with_engine", "top", "pipeline", "target", "retriever")


@dataclass(frozen=True)
class CalibrateRequest:
    """What `mrs calibrate` was asked, option by option (see its --help). index: the index directory or
    cluster index name; out: calibration.json to write; targets: LEVEL=P values; field_clauses: BM25 field
    names; target: deployment target (None: elasticsearch with the elasticsearch backend, else opensearch)."""

    index: Any
    judgments_file: Path
    out: Path
    targets: tuple[str, ...] = ()
    dev_fraction: float = 0.2
    seed: int = 0
    metric: str = "ndcg@10"
    k: int = 100
    bootstrap: int = 1000
    min_pairs: int = 10
    fmt: str | None = None
    scheme: str | None = None
    queries_file: str | None = None
    field_clauses: tuple[str, ...] = ()
    on_error: str = "fail"
    backend: str = "embedded"
    target: str | None = None


@dataclass
class CalibrateResult:
    """run: the calibration and the material behind it; paths: {what: path} written; warnings: every warning
    (also in the written calibration's ``warnings``)."""

    run: CalibrationRun
    paths: dict[str, Path]
    warnings: list[str]

    def summary(self) -> dict:
        """What `mrs calibrate --json` prints."""
        cal = self.run.calibration
        return {
            "out": {name: str(p) for name, p in self.paths.items()},
            "scheme": cal.scheme.name,
            "queries": cal.data["queries"],
            "pairs": cal.data["pairs"],
            "thresholds": {lv: t.to_dict() for lv, t in cal.thresholds.items()},
            "ece": cal.ece,
            "blend": {key: cal.blend[key] for key in SUMMARY_BLEND_KEYS if key in cal.blend},
            "scores": cal.scores,
            "warnings": self.warnings,
        }


def output_paths(out: Path) -> dict[str, Path]:
    """Files written beside calibration.json: the pipeline body and the two plots."""
    stem = out.name[: -len(out.suffix)] if out.suffix else out.name
    return {
        "calibration": out,
        "pipeline": out.with_name(f"{stem}.pipeline.json"),
        "dense_levels_png": out.with_name(f"{stem}.dense-levels.png"),
        "blend_weights_png": out.with_name(f"{stem}.blend-weights.png"),
    }


def calibrate(request: CalibrateRequest, open_backend: Callable[[], tuple[Any, Any]],
              on_progress: ProgressFn | None = None) -> CalibrateResult:
    """Calibrate as ``request`` says and write its files. open_backend() → (backend with ``.manifest``, query
    encoder). InputError for bad options or input, before any search where it can be told up front."""
    r = request
    rejects = Rejects() if r.on_error == "skip" else None
    judgments = read_judgments(r.judgments_file, fmt=r.fmt, scheme=r.scheme, queries=r.queries_file,
                               on_error=r.on_error, rejects=rejects)
    target = r.target or ("elasticsearch" if r.backend == "elasticsearch" else "opensearch")
    options = CalibrateOptions(targets=parse_targets(r.targets, judgments.scheme), dev_fraction=r.dev_fraction,
                               seed=r.seed, metric=r.metric, k=r.k, bootstrap=r.bootstrap, min_pairs=r.min_pairs,
                               target=target)
    parse_metric(r.metric)  # bad metric: exit 2 before any work
    engine, encoder = open_backend()
    filters = None
    if r.queries_file is not None:
        from mrs.data.query_filters import read_query_filters
        from mrs.eval.harness import check_query_filters

        filters = check_query_filters(engine, read_query_filters(r.queries_file), str(r.queries_file))
    sources = None
    if r.field_clauses:
        from mrs.blending.candidates import sources_with_fields

        if r.backend != "embedded" or len(r.field_clauses) > 3:
            raise InputError("--field-clause needs the embedded backend and at most 3 fields (5 clauses in all)")
        sources = sources_with_fields(engine, r.field_clauses)
    run = run_calibration(engine, encoder, judgments, options, manifest=engine.manifest, index_path=str(r.index),
                          judgments_path=str(r.judgments_file), sources=sources, on_progress=on_progress,
                          filters=filters)
    paths = output_paths(r.out)
    warnings = run_warnings(run, rejects, rejects_path_for(r.out))
    run.calibration.warnings = warnings
    write_outputs(run, paths, rejects)
    return CalibrateResult(run, paths, warnings)


def run_warnings(run: CalibrationRun, rejects: Rejects | None, rejects_path: Path) -> list[str]:
    """Every warning of a run, in the order the command prints them: skipped judgment rows, judged products
    absent from the index, the thresholds' own, a blend the engine ranked differently."""
    cal = run.calibration
    warnings = []
    if rejects is not None and rejects.count:
        warnings.append(f"{rejects.count} bad judgment rows skipped, written to {rejects_path}")
    if cal.data.get("pairs_missing_from_index"):
        warnings.append(f"{cal.data['pairs_missing_from_index']} judged pairs name products absent from the index "
                        "(left out of thresholds and probabilities)")
    warnings += cal.warnings  # thresholds: missed on dev, too few dev queries, indistinguishable levels
    if run.grid.verified is False:
        warnings.append("the chosen blend ranked differently in the engine's hybrid.combine than in the fast "
                        "grid path (float ties); its scores are approximate")
    return warnings


def write_outputs(run: CalibrationRun, paths: dict[str, Path], rejects: Rejects | None) -> None:
    """calibration.json, the pipeline body, both plots and the rejects (when rows were skipped), together or
    none (mrs.atomic.output_set)."""
    cal = run.calibration
    with output_set() as outputs:
        cal_io.write_calibration(cal, paths["calibration"], outputs)
        cal_io.write_pipeline(cal.pipeline, paths["pipeline"], outputs)
        plot_dense_levels(run.pairs.dense, run.pairs.grades, cal.scheme, cal.thresholds,
                          paths["dense_levels_png"], outputs=outputs)
        plot_blend_curves(run.grid, paths["blend_weights_png"], outputs=outputs)
        if rejects is not None and rejects.count:
            rejects.write(rejects_path_for(paths["calibration"]), outputs)
