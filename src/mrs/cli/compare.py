"""`mrs compare`: two (or more) indexes side by side on the same judgments, with significance tests."""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from mrs.cli.common import (
    console,
    err_console,
    handle_errors,
    json_option,
    on_error_option,
    print_json,
    progress,
)
from mrs.errors import InputError
from mrs.eval.metrics import GAINS, STAT_TESTS
from mrs.indexer.backend import DEFAULT_HYBRID_DEPTH


def _index_arg(value: str) -> tuple[str | None, Path]:
    """--index value → (name or None, directory): ``NAME=DIR`` or a plain directory."""
    name, sep, path = value.partition("=")
    if sep and name and "/" not in name and not Path(value).exists():
        return name, Path(path)
    return None, Path(value)


def _names(values) -> list[tuple[str, Path]]:
    """Names for the --index values: given ones, else the directory name (its parent's too when two clash)."""
    parsed = [_index_arg(v) for v in values]
    out = []
    for name, path in parsed:
        if name is None:
            name = path.name or str(path)
            if sum(1 for n, p in parsed if n is None and (p.name or str(p)) == name) > 1:
                name = f"{path.parent.name}/{path.name}"
        out.append((name, path))
    return out


@click.command("compare")
@click.option("--index", "indexes", multiple=True, required=True, metavar="[NAME=]DIR",
              help="An embedded index (from `mrs index catalog`), named NAME or by its directory; give two or more. "
                   "The first is the baseline the others are tested against.")
@click.option("--judgments", "judgments_file", required=True, type=click.Path(path_type=Path),
              help="Graded judgments (ESCI qrels TSV, SRW JSON, TREC qrels, WANDS labels, mrs TSV).")
@click.option("--format", "fmt", default=None, help="Judgments format [default: detect].")
@click.option("--scheme", default=None, help="Level scheme: esci, wands, three-level [default: the format's].")
@click.option("--queries", "queries_file", type=click.Path(path_type=Path), default=None,
              help="Query id → text file (WANDS query.csv; TREC qrels whose ids are not the texts).")
@click.option("--modes", default="dense,hybrid", show_default=True,
              help="Comma-separated modes run on every index: lexical, dense, hybrid, rrf.")
@click.option("--k", type=click.IntRange(min=1), default=100, show_default=True, help="Results per query.")
@click.option("--pagination-depth", type=click.IntRange(min=1), default=None,
              help=f"Candidates per hybrid sub-query [default: max(k, {DEFAULT_HYBRID_DEPTH}), as mrs eval].")
@click.option("--metrics", default=None,
              help="Comma-separated ranx metric names [default: ndcg@10,ndcg@100,map@100,recall@100,mrr,precision@10].")
@click.option("--gains", type=click.Choice(list(GAINS)), default="grades", show_default=True,
              help="nDCG gains: grades (3/2/1/0 for ESCI) or esci (official 1/0.1/0.01/0).")
@click.option("--split", type=click.Choice(["all", "train", "dev"]), default="all", show_default=True,
              help="Compare on one side of the query split (by query, seeded, as mrs trains): dev = queries a "
                   "model trained with the same --dev-fraction/--seed never saw.")
@click.option("--dev-fraction", type=click.FloatRange(0.0, 1.0, min_open=True, max_open=True), default=0.2,
              show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="Split seed.")
@click.option("--stat-test", type=click.Choice(list(STAT_TESTS)), default="student", show_default=True,
              help="Paired significance test per query: t-test, Fisher randomization, Tukey HSD.")
@click.option("--max-p", type=click.FloatRange(0.0, 1.0, min_open=True), default=0.01, show_default=True,
              help="p-value below which a difference counts as significant.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write comparison.json, qrels.trec and runs/<index>_<mode>.trec here.")
@on_error_option
@json_option
@handle_errors
def command(indexes, judgments_file, fmt, scheme, queries_file, modes, k, pagination_depth, metrics, gains, split,
            dev_fraction, seed, stat_test, max_p, out_dir, on_error, as_json) -> None:
    """Compare two indexes (or models) side by side on the same judgments, with significance tests.

    Every judged query runs through each index in each mode; per mode and metric the table shows each
    index's mean, the difference of every index to the first, and ranx's paired test over queries. Two
    models are compared through two indexes of the same catalog, one built with each model.

    \b
    Example:
      mrs index catalog demo/catalog.jsonl --index demo/index
      mrs index catalog demo/catalog.jsonl --index demo/index-s2 --model demo/s2
      mrs compare --index base=demo/index --index s2=demo/index-s2 --judgments demo/judgments.tsv --split dev
      mrs compare --index demo/index --index demo/index-title --judgments demo/judgments.tsv \\
                  --modes lexical,dense --metrics ndcg@10,recall@100 --json
    """
    from mrs.data.readers import Rejects, read_judgments, rejects_path_for
    from mrs.engine.engine import EmbeddedEngine
    from mrs.eval.compare import Side, compare_backends, comparison_rows
    from mrs.eval.harness import EvalConfig
    from mrs.eval.metrics import parse_metrics
    from mrs.eval.runs import parse_modes
    from mrs.eval.tuned import select_queries
    from mrs.indexer.backend import hybrid_depth

    named = _names(indexes)
    if len(named) < 2:
        raise InputError("give two or more indexes: --index A --index B")
    specs = parse_modes(modes)
    rejects = Rejects() if on_error == "skip" else None
    judgments = read_judgments(judgments_file, fmt=fmt, scheme=scheme, queries=queries_file, on_error=on_error,
                               rejects=rejects)
    selection = select_queries(judgments.queries(), [], split, dev_fraction, seed)
    judgments = judgments.subset(selection.query_ids)
    depth = hybrid_depth(k, pagination_depth)
    config = EvalConfig(metrics=parse_metrics(metrics), gains=gains, k=k, stat_test=stat_test, max_p=max_p,
                        pagination_depth=depth)
    needs_encoder = any(s.mode != "lexical" for s in specs)
    sides = []
    for name, path in named:
        engine = EmbeddedEngine.open(path)
        model = engine.manifest.get("model") or {}
        sides.append(Side(name, engine, engine.open_encoder() if needs_encoder else None, str(path),
                          {key: model.get(key) for key in ("name", "sha256") if key in model}))
    with progress(quiet=as_json) as bar:
        def track(description: str, total: int):
            task = bar.add_task(description, total=total)
            return lambda: bar.advance(task)

        comparison, runs = compare_backends(sides, judgments, specs, config, track=track)
    comparison["settings"].update({"judgments": str(judgments_file), "queries": selection.describe(),
                                   "split": selection.to_dict(), "hybrid_pagination_depth": depth})
    comparison["settings"]["split"].pop("scored_on", None)
    if rejects is not None and rejects.count:
        where = rejects.write(rejects_path_for(out_dir if out_dir is not None else judgments_file))
        comparison["warnings"].append(f"{rejects.count} bad judgment rows skipped, written to {where}")
    models = {n: (i.get("model") or {}).get("sha256") for n, i in comparison["indexes"].items()}
    if len(set(models.values())) == 1 and None not in models.values() and needs_encoder:
        comparison["warnings"].append("every index was built with the same model: dense differences come from "
                                      "the catalog text, fields or index settings only")
    if out_dir is not None:
        comparison["written"] = _write(out_dir, comparison, runs, judgments.qrels())
    for w in comparison["warnings"]:
        err_console.print(f"[yellow]warning:[/] {escape(w)}", highlight=False, soft_wrap=True)
    if as_json:
        print_json(comparison)
        return
    s = comparison["settings"]
    table = Table(title=escape(f"{s['queries']} · k {s['k']} · gains {s['gains']} · {s['stat_test']} test vs "
                               f"{s['baseline']} · hybrid depth {depth}"), title_justify="left")
    headers, rows = comparison_rows(comparison)
    for i, h in enumerate(headers):
        table.add_column(escape(h), justify="left" if i < 2 else "right")
    for r in rows:
        table.add_row(*(escape(c) for c in r))
    console.print(table)


def _write(out_dir: Path, comparison: dict, runs: dict, qrels: dict) -> dict[str, str]:
    """comparison.json, qrels.trec and one TREC run file per (index, mode) into out_dir."""
    from mrs.eval.report import safe_name
    from mrs.eval.runs import write_trec_qrels, write_trec_run
    from mrs.models import write_json

    out_dir.mkdir(parents=True, exist_ok=True)
    written = {}
    for mode, by_index in runs.items():
        for name, run in by_index.items():
            p = out_dir / "runs" / f"{safe_name(name)}_{safe_name(mode)}.trec"
            write_trec_run(p, run, f"{name}:{mode}")
            written[f"run:{name}:{mode}"] = str(p)
    write_trec_qrels(out_dir / "qrels.trec", qrels)
    written["qrels"] = str(out_dir / "qrels.trec")
    written["comparison.json"] = str(out_dir / "comparison.json")
    write_json(out_dir / "comparison.json", {**comparison, "written": written})
    return written
