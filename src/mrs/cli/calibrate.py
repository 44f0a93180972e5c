"""`mrs calibrate --index DIR --judgments FILE --out calibration.json`: thresholds, probabilities, blend."""

from __future__ import annotations

from pathlib import Path

import click
from rich import box
from rich.markup import escape
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
from mrs.engine.techniques import TARGETS


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
@scheme_option
@queries_option(dest="queries_file")
@click.option("--field-clause", "field_clauses", multiple=True, metavar="FIELD",
              help="Add a BM25 clause on one field (e.g. title) to the blend search, between the multi-field "
                   "lexical clause and the dense one (repeatable, up to 3; embedded backend).")
@click.option("--target", "deploy_target", type=click.Choice(list(TARGETS)), default=None,
              help="Cluster the blend will be deployed to: only blends it can run are searched, scored as it "
                   "scores them [default: elasticsearch with --backend elasticsearch, else opensearch].")
@model_mismatch_option
@cluster_backend_options
@on_error_option
@json_option
@handle_errors
@backend_errors
def command(index_dir: Path, judgments_file: Path, out: Path, targets, dev_fraction: float, seed: int, metric: str,
            k: int, bootstrap: int, min_pairs: int, fmt, scheme, queries_file, field_clauses, on_error: str,
            as_json: bool, backend: str = "embedded", deploy_target: str | None = None, **cluster) -> None:
    """Calibrate per-level dense thresholds, probabilities and the hybrid blend from judgments.

    Scores every judged pair (dense k-NN score, raw BM25, hybrid), fits per-level thresholds with a target
    precision (bootstrap CI over queries), isotonic P(level ≥ L) maps (ECE on held-out queries), and searches
    normalization × combination × weights and RRF on train queries (dev score beside) — only the blends the
    --target cluster can run, with its semantics. Writes calibration.json, <name>.pipeline.json (the blend as an
    OpenSearch search pipeline, also `mrs search --pipeline`; with --target elasticsearch the calibration also
    holds it as a linear/rrf retriever), and PNG plots.

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
      mrs calibrate --index demo/index --judgments demo/judgments.tsv --out es-cal.json --target elasticsearch
    """
    from mrs.blending.session import CalibrateRequest, calibrate

    request = CalibrateRequest(
        index=index_dir, judgments_file=judgments_file, out=out, targets=tuple(targets), dev_fraction=dev_fraction,
        seed=seed, metric=metric, k=k, bootstrap=bootstrap, min_pairs=min_pairs, fmt=fmt, scheme=scheme,
        queries_file=queries_file, field_clauses=tuple(field_clauses), on_error=on_error, backend=backend,
        target=deploy_target)
    allow_model_mismatch = cluster.pop("allow_model_mismatch", False)

    def opener():
        # embedded: --index is a directory; opensearch/elasticsearch: the index/alias on the cluster (scores in
        # engine spaces); engine.manifest is what the calibration records
        return open_backend(backend, index_dir, cluster, candidates=k, allow_model_mismatch=allow_model_mismatch)

    with progress(quiet=as_json) as bar:
        tasks: dict[str, int] = {}
        labels = {"encode": "encoding queries", "retrieve": "retrieving + scoring pairs",
                  "thresholds": "thresholds + probabilities", "blend": "blend search (families)"}

        def on_progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(labels.get(stage, stage), total=total or None)
            bar.update(tasks[stage], completed=done, total=total or None)

        result = calibrate(request, opener, on_progress)
    if as_json:
        print_json(result.summary())
        return
    _print_summary(result.run.calibration, result.run, result.paths, result.warnings)


def _print_summary(cal, result, paths, warnings) -> None:
    # compact: no vertical rules, level names never cut (80 columns hold the ESCI levels and every number)
    t = Table(title=f"dense thresholds · {cal.scheme.name} · train {len(result.train_ids)} / dev "
                    f"{len(result.dev_ids)} queries", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True,
              caption=_warnings_caption(cal.warnings, cal.thresholds.values()), caption_justify="left")
    t.add_column("level ≥", justify="left", no_wrap=True, min_width=max(len(lv) for lv in cal.thresholds) if
                 cal.thresholds else 7)
    for col in ("target", "threshold", "95% CI", "train P", "train R", "dev P", "dev ECE"):
        t.add_column(col, justify="right", no_wrap=True)
    for lv, th in cal.thresholds.items():
        ci = f"{th.ci[0]:.3f}–{th.ci[1]:.3f}" if th.ci else "—"
        ece = cal.ece.get(lv)
        if th.reachable:
            dev = _fmt(th.dev_precision, 3)
            if th.dev_precision is not None and th.dev_precision < th.target_precision:
                dev = f"[yellow]{dev}![/]"
            t.add_row(escape(lv), f"{th.target_precision:.2f}", f"{th.threshold:.4f}", ci, f"{th.precision:.3f}",
                      f"{th.recall:.3f}", dev, _fmt(ece, 3))
        else:
            t.add_row(escape(lv), f"{th.target_precision:.2f}", "[red]unreachable[/]", ci,
                      f"best {th.best_precision:.3f}", "—", "—", _fmt(ece, 3))
    console.print(t)
    g = result.grid
    b = Table(title=f"blend search · {g.target} · {g.metric} · {len(g.scores)} configurations", title_justify="left")
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


def _fmt(value, digits: int = 4) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _warnings_caption(warnings, thresholds) -> str:
    """The table's caption: how many warnings the calibration holds (they follow on stderr, and are in
    --json and calibration.json ``warnings``) and what a '!' marks."""
    text = "P precision, R recall of the pairs scoring ≥ threshold"
    if not warnings:
        return text
    text += f"; [yellow]{len(warnings)} warning{'s' if len(warnings) > 1 else ''} below[/]"
    if any(t.dev_precision is not None and t.dev_precision < t.target_precision for t in thresholds):
        text += "; ! = dev precision under its target"
    return text
