"""`mrs calibrate --index DIR --judgments FILE --out calibration.json`: thresholds, probabilities, blend."""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from mrs.cli.backends import backend_errors, cluster_backend_options, open_backend
from mrs.cli.common import (
    console,
    err_console,
    handle_errors,
    json_option,
    on_error_option,
    print_json,
    progress,
)


def output_paths(out: Path) -> dict[str, Path]:
    """Files written beside calibration.json: the pipeline body and the two plots."""
    stem = out.name[: -len(out.suffix)] if out.suffix else out.name
    return {
        "calibration": out,
        "pipeline": out.with_name(f"{stem}.pipeline.json"),
        "dense_levels_png": out.with_name(f"{stem}.dense-levels.png"),
        "blend_weights_png": out.with_name(f"{stem}.blend-weights.png"),
    }


@click.command("calibrate")
@click.option("--index", "index_dir", required=True, type=click.Path(path_type=Path),
              help="Index directory (embedded) or index/alias name on the cluster (--backend opensearch|elasticsearch).")
@click.option("--judgments", "judgments_file", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Graded judgments (ESCI qrels TSV, SRW JSON, WANDS, TREC qrels, mrs TSV).")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="calibration.json to write; the pipeline JSON and PNG plots go beside it.")
@click.option("--target-precision", "targets", multiple=True, metavar="LEVEL=P",
              help="Target precision of a level's threshold (repeatable) [default: 0.9 for every level above "
                   "the lowest].")
@click.option("--dev-fraction", type=float, default=0.2, show_default=True,
              help="Share of queries held out (query-level split) for dev precision, ECE and blend dev scores.")
@click.option("--seed", type=int, default=0, show_default=True, help="Split and bootstrap seed.")
@click.option("--metric", default="ndcg@10", show_default=True,
              help="Blend objective: ndcg@K, precision@K, recall@K, map@K, mrr.")
@click.option("--k", type=click.IntRange(min=1), default=100, show_default=True,
              help="Candidates per sub-query (the hybrid query's pagination_depth).")
@click.option("--bootstrap", type=click.IntRange(min=0), default=1000, show_default=True,
              help="Query-level bootstrap resamples for threshold confidence intervals (0: none).")
@click.option("--min-pairs", type=click.IntRange(min=1), default=10, show_default=True,
              help="Fewest judged pairs each level needs.")
@click.option("--format", "fmt", default=None, help="Judgment format (esci, srw, wands, trec, mrs) [default: detect].")
@click.option("--scheme", default=None, help="Level scheme (esci, wands, three-level) [default: from the format].")
@click.option("--queries", "queries_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Query id → text file (TREC/WANDS judgments).")
@click.option("--field-clause", "field_clauses", multiple=True, metavar="FIELD",
              help="Add a BM25 clause on one field (e.g. title) to the blend search, between the multi-field "
                   "lexical clause and the dense one (repeatable, up to 3; embedded backend).")
@cluster_backend_options
@on_error_option
@json_option
@handle_errors
@backend_errors
def command(index_dir: Path, judgments_file: Path, out: Path, targets, dev_fraction: float, seed: int, metric: str,
            k: int, bootstrap: int, min_pairs: int, fmt, scheme, queries_file, field_clauses, on_error: str,
            as_json: bool, backend: str = "embedded", **cluster) -> None:
    """Calibrate per-level dense thresholds, probabilities and the hybrid blend from judgments.

    Scores every judged pair (dense k-NN score, raw BM25, hybrid), fits per-level thresholds with a target
    precision (bootstrap CI over queries), isotonic P(level ≥ L) maps (ECE on held-out queries), and searches
    normalization × combination × weights and RRF on train queries (dev score beside). Writes calibration.json,
    <name>.pipeline.json (deployable OpenSearch search pipeline, also `mrs search --pipeline`), and PNG plots.

    \b
    Example:
      mrs calibrate --index demo/index --judgments demo/judgments.tsv --out demo/calibration.json
      mrs calibrate --index demo/index --judgments demo/judgments.tsv --out cal.json \\
          --target-precision exact=0.95 --target-precision substitute=0.9 --metric ndcg@10 --json
      mrs search "red cotton shirt" --index demo/index --calibration demo/calibration.json --min-level substitute
      MRS_OPENSEARCH_URL=https://localhost:9200 mrs calibrate --backend opensearch --index products \\
          --judgments demo/judgments.tsv --out os-calibration.json
      MRS_ELASTICSEARCH_URL=http://localhost:9200 mrs calibrate --backend elasticsearch --index products \\
          --judgments demo/judgments.tsv --out es-calibration.json
    """
    from mrs.blending import calibration as cal_io
    from mrs.blending.objective import parse_metric
    from mrs.blending.plots import plot_blend_curves, plot_dense_levels
    from mrs.blending.run import CalibrateOptions, run_calibration
    from mrs.blending.thresholds import parse_targets
    from mrs.data.readers import Rejects, read_judgments, rejects_path_for

    rejects = Rejects() if on_error == "skip" else None
    judgments = read_judgments(judgments_file, fmt=fmt, scheme=scheme, queries=queries_file, on_error=on_error,
                               rejects=rejects)
    options = CalibrateOptions(targets=parse_targets(targets, judgments.scheme), dev_fraction=dev_fraction,
                               seed=seed, metric=metric, k=k, bootstrap=bootstrap, min_pairs=min_pairs)
    parse_metric(metric)  # bad metric: exit 2 before any work
    # embedded: --index is a directory; opensearch/elasticsearch: the index/alias on the cluster (scores in
    # engine spaces); engine.manifest is what run_calibration records
    engine, encoder = open_backend(backend, index_dir, cluster, candidates=k)
    sources = None
    if field_clauses:
        from mrs.blending.candidates import sources_with_fields
        from mrs.errors import InputError

        if backend != "embedded" or len(field_clauses) > 3:
            raise InputError("--field-clause needs the embedded backend and at most 3 fields (5 clauses in all)")
        sources = sources_with_fields(engine, field_clauses)
    with progress(quiet=as_json) as bar:
        tasks: dict[str, int] = {}
        labels = {"encode": "encoding queries", "retrieve": "retrieving + scoring pairs",
                  "thresholds": "thresholds + probabilities", "blend": "blend search (families)"}

        def on_progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(labels.get(stage, stage), total=total or None)
            bar.update(tasks[stage], completed=done, total=total or None)

        result = run_calibration(engine, encoder, judgments, options, manifest=engine.manifest,
                                 index_path=str(index_dir), judgments_path=str(judgments_file),
                                 sources=sources, on_progress=on_progress)
    cal = result.calibration
    paths = output_paths(out)
    cal_io.write_calibration(cal, paths["calibration"])
    cal_io.write_pipeline(cal.pipeline, paths["pipeline"])
    plot_dense_levels(result.pairs.dense, result.pairs.grades, cal.scheme, cal.thresholds, paths["dense_levels_png"])
    plot_blend_curves(result.grid, paths["blend_weights_png"])
    warnings = []
    if rejects is not None and rejects.count:
        where = rejects.write(rejects_path_for(out))
        warnings.append(f"{rejects.count} bad judgment rows skipped, written to {where}")
    if cal.data.get("pairs_missing_from_index"):
        warnings.append(f"{cal.data['pairs_missing_from_index']} judged pairs name products absent from the index "
                        "(left out of thresholds and probabilities)")
    warnings += [w for w in (t.warning() for t in cal.thresholds.values()) if w]
    if result.grid.verified is False:
        warnings.append("the chosen blend ranked differently in the engine's hybrid.combine than in the fast "
                        "grid path (float ties); its scores are approximate")
    summary = {
        "out": {name: str(p) for name, p in paths.items()},
        "scheme": cal.scheme.name,
        "queries": cal.data["queries"],
        "pairs": cal.data["pairs"],
        "thresholds": {lv: t.to_dict() for lv, t in cal.thresholds.items()},
        "ece": cal.ece,
        "blend": {key: cal.blend[key] for key in ("subqueries", "metric", "name", "why", "train_score", "dev_score",
                                                  "default", "rrf", "configurations", "verified_with_engine",
                                                  "top", "pipeline")},
        "scores": cal.scores,
        "warnings": warnings,
    }
    if as_json:
        print_json(summary)
        return
    _print_summary(cal, result, paths, warnings)


def _print_summary(cal, result, paths, warnings) -> None:
    t = Table(title=f"dense thresholds · {cal.scheme.name} · train {len(result.train_ids)} / dev "
                    f"{len(result.dev_ids)} queries", title_justify="left")
    for col in ("level ≥", "target", "threshold", "95% CI", "precision", "recall", "dev precision", "ECE (dev)"):
        t.add_column(col, justify="left" if col == "level ≥" else "right")
    for lv, th in cal.thresholds.items():
        ci = f"{th.ci[0]:.4f}–{th.ci[1]:.4f}" if th.ci else "—"
        ece = cal.ece.get(lv)
        if th.reachable:
            t.add_row(lv, f"{th.target_precision:.2f}", f"{th.threshold:.4f}", ci, f"{th.precision:.3f}",
                      f"{th.recall:.3f}", _fmt(th.dev_precision), _fmt(ece))
        else:
            t.add_row(lv, f"{th.target_precision:.2f}", "[red]unreachable[/]", ci, f"best {th.best_precision:.3f}",
                      "—", "—", _fmt(ece))
    console.print(t)
    g = result.grid
    b = Table(title=f"blend search · {g.metric} · {len(g.scores)} configurations", title_justify="left")
    for col in ("configuration", "train", "dev"):
        b.add_column(col, justify="left" if col == "configuration" else "right",
                     overflow="fold" if col == "configuration" else "ellipsis")
    for cs in g.top(8):
        b.add_row(escape(cs.config.name), f"{cs.train:.4f}", _fmt(cs.dev))  # names hold '[lb …]'
    b.add_row("[dim]default min_max 0.7/0.3[/]", f"{g.default.train:.4f}", _fmt(g.default.dev))
    b.add_row("[dim]rrf k=60[/]", f"{g.rrf.train:.4f}", _fmt(g.rrf.dev))
    console.print(b)
    console.print(f"chosen: {escape(cal.blend['name'])} — {escape(cal.blend.get('why') or '')}", highlight=False)
    for name, p in paths.items():
        console.print(f"{name}: {p}", style="dim")
    for w in warnings:
        err_console.print(f"[yellow]warning:[/] {w}", highlight=False)


def _fmt(value) -> str:
    return "—" if value is None else f"{value:.4f}"
