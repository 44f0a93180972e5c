"""`mrs data`: write the sample dataset, inspect catalogs, judgments and UBI events."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import click
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
from mrs.data.catalog_readers import CSV_EXTENSIONS, PARQUET_EXTENSIONS, read_catalog
from mrs.data.events import read_ubi_events
from mrs.data.judgment_readers import JUDGMENT_FORMATS, detect_judgment_format, read_judgments
from mrs.data.lines import check_file
from mrs.data.rejects import Rejects, rejects_path_for
from mrs.data.sample import write_sample
from mrs.errors import InputError

KINDS = ("catalog", "judgments", "events")


@click.group("data")
def command() -> None:
    """Datasets: write the sample data, inspect catalogs, judgments and engagement events."""


@command.command("sample")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Directory to write.")
@click.option("--seed", default=0, show_default=True, help="Random seed; the same seed writes identical files.")
@click.option("--products", "n_products", default=300, show_default=True, help="Number of products.")
@click.option("--queries", "n_queries", default=30, show_default=True, help="Number of judged queries.")
@json_option
@handle_errors
def sample_cmd(out_dir: str, seed: int, n_products: int, n_queries: int, as_json: bool) -> None:
    """Write the sample dataset: catalog.jsonl, judgments.tsv (ESCI qrels), queries.jsonl, events.jsonl (UBI).

    \b
    Example:
      mrs data sample --out demo
      mrs data inspect demo/judgments.tsv
    """
    paths = write_sample(out_dir, seed=seed, n_products=n_products, n_queries=n_queries)
    manifest = json.loads(paths.manifest.read_text(encoding="utf-8"))
    files = {k: str(getattr(paths, k)) for k in ("catalog", "judgments", "queries", "events", "manifest")}
    result = {"out": str(paths.root), "seed": seed, "files": files,
              **{k: manifest[k] for k in ("products", "queries", "judgments", "events")},
              "contradictions": len(manifest["contradictions"])}
    if as_json:
        print_json(result)
        return
    table = Table(title=f"sample data in {paths.root}")
    table.add_column("file")
    table.add_column("holds")
    table.add_row(files["catalog"], f"{result['products']} products")
    table.add_row(files["judgments"], f"{result['judgments']} judgments over {result['queries']} queries")
    table.add_row(files["queries"], f"{result['queries']} queries (UBI form)")
    table.add_row(files["events"], f"{result['events']} UBI events, {result['contradictions']} planted contradictions")
    console.print(table)


def detect_kind(path: Path) -> str:
    """catalog, judgments or events, from the extension and the first line of the file."""
    suffix = path.suffix.lower()
    if suffix in PARQUET_EXTENSIONS:
        return "catalog"
    if suffix in (".qrels", ".trec"):
        return "judgments"
    with open(path, "rb") as f:
        head = f.read(65536).decode("utf-8", errors="replace").lstrip("\ufeff")
    if suffix == ".json" and '"judgmentRatings"' in head:
        return "judgments"
    if suffix in CSV_EXTENSIONS:
        try:
            detect_judgment_format(path)
            return "judgments"
        except InputError:
            return "catalog"
    first = next((ln for ln in head.splitlines() if ln.strip()), "")
    try:
        obj = json.loads(first)
    except json.JSONDecodeError:
        return "catalog"
    if isinstance(obj, dict) and "action_name" in obj:
        return "events"
    return "catalog"


def _write_rejects(rejects: Rejects, path: Path, explicit: str | None) -> str | None:
    """Write rejects beside the input (or to --rejects); falls back to the working directory if read-only."""
    if rejects.count == 0:
        return None
    target = Path(explicit) if explicit else rejects_path_for(path)
    try:
        return str(rejects.write(target))
    except OSError:
        return str(rejects.write(Path.cwd() / target.name))


def _inspect_catalog(path: Path, id_field: str | None, delimiter: str | None, on_error: str,
                     rejects: Rejects, quiet: bool) -> dict:
    rows = 0
    filled: dict[str, int] = {}
    with progress(quiet) as bar:
        task = bar.add_task(f"reading {path.name}", total=None)
        for product in read_catalog(path, id_field=id_field, delimiter=delimiter, on_error=on_error,
                                    rejects=rejects):
            rows += 1
            for name, value in product.fields.items():
                if value not in (None, "", [], {}):
                    filled[name] = filled.get(name, 0) + 1
                else:
                    filled.setdefault(name, 0)
            if rows % 1000 == 0:
                bar.update(task, completed=rows)
        bar.update(task, completed=rows)
    return {"kind": "catalog", "rows": rows, "rejected": rejects.count, "fields": filled}


def _inspect_judgments(path: Path, fmt: str | None, scheme: str | None, queries: str | None, on_error: str,
                       rejects: Rejects) -> dict:
    fmt = fmt or detect_judgment_format(path)
    jset = read_judgments(path, fmt=fmt, scheme=scheme, queries=queries, on_error=on_error, rejects=rejects,
                          needs_query_text=False)
    per_query = [len(v) for v in jset.by_query().values()]
    return {"kind": "judgments", "format": fmt, "scheme": jset.scheme.name, "rows": len(jset),
            "judgments": len(jset), "queries": len(per_query), "products": len(jset.product_ids()),
            "levels": jset.level_counts(), "rejected": rejects.count,
            "per_query": {"min": min(per_query, default=0), "median": statistics.median(per_query or [0]),
                          "max": max(per_query, default=0)}}


def _inspect_events(path: Path, queries: str | None, application: str | None, on_error: str,
                    rejects: Rejects) -> dict:
    counts = read_ubi_events(path, queries=queries, application=application, on_error=on_error, rejects=rejects)
    return {"kind": "events", "rows": counts.events, "actions": dict(counts.action_totals.most_common()),
            "pairs": len(counts.pairs), "queries": len(counts.queries()), "attributed": counts.attributed(),
            "skipped": dict(counts.skipped), "rejected": rejects.count}


@command.command("inspect")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--kind", type=click.Choice(KINDS), default=None, help="What the file holds (default: detect).")
@click.option("--format", "fmt", type=click.Choice(JUDGMENT_FORMATS), default=None,
              help="Judgments format (default: detect from extension and header).")
@click.option("--scheme", default=None, help="Level scheme for judgments: esci, wands, three-level.")
@click.option("--queries", default=None, type=click.Path(dir_okay=False),
              help="Queries file: WANDS query.csv, TREC topics, or UBI ubi_queries.jsonl.")
@click.option("--id-field", default=None, help="Catalog id column (default: first of id, _id, asin, product_id).")
@click.option("--delimiter", default=None, help="Catalog CSV delimiter (default: sniffed; '\\t' for .tsv).")
@click.option("--application", default=None, help="Events: keep only this UBI application.")
@click.option("--rejects", "rejects_out", default=None, type=click.Path(dir_okay=False),
              help="Where --on-error skip writes rejected rows (default: <PATH>.rejects.jsonl).")
@on_error_option
@json_option
@handle_errors
def inspect_cmd(path: str, kind: str | None, fmt: str | None, scheme: str | None, queries: str | None,
                id_field: str | None, delimiter: str | None, application: str | None, rejects_out: str | None,
                on_error: str, as_json: bool) -> None:
    """Count what a data file holds: rows, rejects, and fields (catalog), queries and levels (judgments)
    or actions (UBI events).

    \b
    Example:
      mrs data inspect demo/catalog.jsonl
      mrs data inspect demo/judgments.tsv --json
      mrs data inspect events.jsonl --kind events --on-error skip
    """
    p = check_file(path)
    kind = kind or detect_kind(p)
    rejects = Rejects()
    if kind == "catalog":
        result = _inspect_catalog(p, id_field, delimiter, on_error, rejects, quiet=as_json)
    elif kind == "judgments":
        result = _inspect_judgments(p, fmt, scheme, queries, on_error, rejects)
    else:
        result = _inspect_events(p, queries, application, on_error, rejects)
    result = {"path": str(p), **result, "rejects_file": _write_rejects(rejects, p, rejects_out)}
    if as_json:
        print_json(result)
        return
    _print_table(result)


def _print_table(result: dict) -> None:
    table = Table(title=f"{result['path']} ({result['kind']})")
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_row("rows", f"{result['rows']:,}")
    if result["kind"] == "catalog":
        for name, n in result["fields"].items():
            table.add_row(f"field {name} (non-empty)", f"{n:,}")
    elif result["kind"] == "judgments":
        table.add_row("queries", f"{result['queries']:,}")
        table.add_row("products", f"{result['products']:,}")
        for name, n in result["levels"].items():
            table.add_row(f"level {name}", f"{n:,}")
    else:
        for name, n in result["actions"].items():
            table.add_row(f"action {name}", f"{n:,}")
        table.add_row("(query, product) pairs", f"{result['pairs']:,}")
        table.add_row("queries", f"{result['queries']:,}")
        for reason, n in result["skipped"].items():
            table.add_row(f"skipped: {reason}", f"{n:,}")
    table.add_row("rejected", f"{result['rejected']:,}")
    console.print(table)
    if result.get("rejects_file"):
        err_console.print(f"rejected rows written to {result['rejects_file']}")
