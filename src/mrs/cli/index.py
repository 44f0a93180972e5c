"""`mrs index catalog`: a catalog file → an embedded index directory (BM25 fields + vectors)."""

from __future__ import annotations

from pathlib import Path

import click

from mrs.cli.backends import CLUSTER_BACKENDS, backend_errors, index_catalog_cluster, index_cluster_options
from mrs.cli.common import err_console, handle_errors, json_option, on_error_option, print_json, progress
from mrs.cli.embed_on import embed_on_options
from mrs.cli.text_options import text_template_option
from mrs.data.readers import Rejects, read_catalog
from mrs.data.text import DEFAULT_TEMPLATE, ProductTextTemplate
from mrs.engine.attributes import parse_field_types
from mrs.engine.bm25 import SIMILARITIES
from mrs.engine.build import index_catalog
from mrs.engine.store import index_lock
from mrs.engine.vectors import DEFAULT_EF_CONSTRUCTION, DEFAULT_EF_SEARCH, DEFAULT_HNSW_THRESHOLD, DEFAULT_M
from mrs.indexer.documents import catalog_columns, check_catalog_fields, parse_fields
from mrs.indexer.encoders import CALIBRATED_BACKENDS, KNOWN_ENCODER_BACKENDS, load_encoder
from mrs.indexer.parallel import ProcessPoolEncoder, set_threads
from mrs.spaces import SPACE_TYPES

_STAGE_LABELS = {
    "read": "reading catalog",
    "embed": "embedding",
    "bm25": "BM25 index",
    "vectors": "vector index",
    "write": "writing index",
}


@click.group("index")
def command() -> None:
    """Build search indexes.

    \b
    Example:
      mrs index catalog demo/catalog.jsonl --index demo/index
    """


@command.command("catalog")
@click.argument("catalog", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--index", "index_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Index directory to write (replaced atomically; an unchanged product reuses its cached vector); "
                   "with --backend opensearch|elasticsearch: the alias NAME on the cluster.")
@click.option("--model", default=None, help="Local sentence-transformers model directory [default: packaged all-MiniLM-L6-v2].")
@text_template_option(dest="text_template", default=DEFAULT_TEMPLATE,
                      help="Embedding text template: {field} placeholders, {category[-2:]} slices list fields.")
@click.option("--fields", "fields_spec", default=None,
              help="BM25 fields with boosts, name^boost,... [default: title^3,brand^2,color,category,bullet_points,description].")
@click.option("--similarity", type=click.Choice(list(SIMILARITIES)), default="BM25", show_default=True,
              help="BM25: OpenSearch 3.x (Lucene BM25Similarity); LegacyBM25: OpenSearch 2.x, × (k1 + 1).")
@click.option("--k1", type=float, default=1.2, show_default=True, help="BM25 term-frequency saturation.")
@click.option("--b", "b", type=float, default=0.75, show_default=True, help="BM25 length normalization.")
@click.option("--analyzer", type=click.Choice(["standard", "english"]), default="english", show_default=True,
              help="Text analysis of BM25 fields and queries: OpenSearch's english or standard analyzer, as Lucene runs it.")
@click.option("--space", "space_type", type=click.Choice(list(SPACE_TYPES)), default="cosinesimil", show_default=True,
              help="k-NN space type (OpenSearch's scores: cosinesimil (1+cos)/2, innerproduct, l2 1/(1+d²)).")
@click.option("--hnsw-threshold", type=click.IntRange(min=0), default=DEFAULT_HNSW_THRESHOLD, show_default=True,
              help="Use faiss HNSW from this many documents on (0: always); exact search below.")
@click.option("--hnsw-m", type=click.IntRange(min=2), default=DEFAULT_M, show_default=True, help="HNSW graph degree m.")
@click.option("--ef-construction", type=click.IntRange(min=1), default=DEFAULT_EF_CONSTRUCTION, show_default=True)
@click.option("--ef-search", type=click.IntRange(min=1), default=DEFAULT_EF_SEARCH, show_default=True)
@click.option("--encoder", "encoder_backend", type=click.Choice(list(KNOWN_ENCODER_BACKENDS)), default="torch",
              show_default=True, help="How vectors are computed: torch (SentenceTransformer), ONNX Runtime or OpenVINO on CPU "
                   "(openvino-int8 calibrates on this catalog's texts; docs/performance.md).")
@click.option("--batch-size", type=click.IntRange(min=1), default=32, show_default=True, help="Texts per encoder batch.")
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="CPU threads per encoder [default: all cores]; on a machine busy with other jobs 1 is often fastest.")
@click.option("--processes", type=click.IntRange(min=1), default=1, show_default=True,
              help="Encoder worker processes for large catalogs (each loads the model; pays off on many cores).")
@click.option("--id-field", default=None, help="Id column [default: first of id, _id, asin, product_id].")
@click.option("--field-types", "field_types_spec", default=None, metavar="NAME=TYPE,...",
              help="Typed attributes for filters and facets, overriding detection: keyword, path (category "
                   "paths), numeric, boolean, or none, e.g. \"price=numeric,in_stock=boolean,sku=none\".")
@click.option("--wait", is_flag=True, help="Embedded: when another `mrs index catalog` is writing this index, wait "
              "for it to finish instead of exiting 2 (one writer at a time; see .<name>.lock beside the index).")
@index_cluster_options
@embed_on_options
@on_error_option
@json_option
@handle_errors
@backend_errors
def catalog(catalog: Path, index_dir: Path, model, text_template, fields_spec, similarity, k1, b, analyzer,
            space_type, hnsw_threshold, hnsw_m, ef_construction, ef_search, encoder_backend, batch_size, threads,
            processes, id_field, field_types_spec, wait, on_error, as_json, backend="embedded", **cluster) -> None:
    """Index CATALOG (JSONL, CSV/TSV or Parquet) into an embedded index: BM25 fields scored exactly as
    OpenSearch scores them, plus one vector per product from the embedding text template. With --backend
    opensearch|elasticsearch, --index NAME is an alias on the cluster: the catalog loads into NAME-<timestamp>,
    the count is verified, then NAME moves atomically (exit 1 with status incomplete: rerun with --resume).

    Re-running on an unchanged catalog embeds nothing (content-hash cache); a changed product is
    re-embedded alone. Bad rows: --on-error fail (exit 2, file:line) or skip (written to
    <index>.rejects.jsonl beside the index and counted). Short repeating fields (brand, color), category
    paths, numbers and booleans become typed attributes for `mrs search --filter/--where/--facet`
    (docs/filters.md); --field-types overrides the detection.

    \b
    Example:
      mrs index catalog demo/catalog.jsonl --index demo/index
      mrs index catalog products.parquet --index idx --fields "title^3,brand^2,description" --space innerproduct --json
      mrs index catalog products.jsonl --index idx --encoder onnx-int8 --threads 2
      mrs index catalog products.jsonl --index idx --field-types "rating_count=numeric,model=none"
      MRS_OPENSEARCH_URL=https://localhost:9200 mrs index catalog demo/catalog.jsonl --backend opensearch --index products
      MRS_ELASTICSEARCH_URL=https://es:9200 mrs index catalog demo/catalog.jsonl --backend elasticsearch --index products
      mrs index catalog demo/catalog.jsonl --backend opensearch --index products --embed-on cluster --model-id <ID>
    """
    fields = parse_fields(fields_spec)
    field_types = parse_field_types(field_types_spec)
    template = ProductTextTemplate(text_template)
    if backend not in CLUSTER_BACKENDS:  # one writer at a time, refused (or queued) before any model loads
        click.get_current_context().with_resource(index_lock(index_dir, wait=wait, on_wait=lambda holder: (
            err_console.print(f"waiting: {index_dir} is being written by {holder}", highlight=False))))
    rejects = Rejects()
    products = list(read_catalog(catalog, id_field=id_field, on_error=on_error, rejects=rejects))
    for warning in check_catalog_fields(catalog_columns(products), fields, template, fields_given=bool(fields_spec),
                                        template_given=text_template != DEFAULT_TEMPLATE):
        err_console.print(f"[yellow]warning:[/] {warning}", highlight=False, soft_wrap=True)
    calibration = [template.render(p) for p in products] if encoder_backend in CALIBRATED_BACKENDS else None
    encoder = _encoder(model, encoder_backend, space_type, batch_size, threads, processes, calibration)
    if backend in CLUSTER_BACKENDS:  # blue/green load into NAME-<timestamp>, alias NAME (mrs.cli.backends)
        out = index_catalog_cluster(backend, catalog, str(index_dir), encoder=encoder, template=template,
                                    fields=fields, similarity=similarity, k1=k1, b=b, analyzer=analyzer,
                                    id_field=id_field, space_type=space_type, m=hnsw_m,
                                    ef_construction=ef_construction, ef_search=ef_search, on_error=on_error,
                                    as_json=as_json, opts=cluster, field_types=field_types)
        _print_cluster(out, as_json)
        return
    with progress(quiet=as_json) as bar:
        tasks: dict[str, int] = {}

        def on_progress(stage: str, done: int, total: int | None) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(_STAGE_LABELS.get(stage, stage), total=total)
            bar.update(tasks[stage], completed=done, total=total)

        stats, out = index_catalog(
            index_dir, products, encoder=encoder, rejects=rejects, template=template, fields=fields,
            analyzer=analyzer, similarity=similarity, k1=k1, b=b, hnsw_threshold=hnsw_threshold, m=hnsw_m,
            ef_construction=ef_construction, ef_search=ef_search, field_types=field_types, on_progress=on_progress)
    if as_json:
        print_json(out)
        return
    if stats.leftovers_removed:
        err_console.print(f"removed what an interrupted earlier run left beside the index: "
                          f"{', '.join(stats.leftovers_removed)}", highlight=False)
    err_console.print(
        f"indexed [bold]{stats.documents}[/] products into {index_dir} in {stats.seconds:.1f}s: "
        f"{stats.embedded} embedded, {stats.cached} from cache, vectors {stats.vector_method} ({space_type})"
        + (f"; attributes {', '.join(f'{n} ({t})' for n, t in stats.attributes.items())}" if stats.attributes else "")
        + (f"; {out['rejected']} rows rejected → {out['rejects']}" if out["rejected"] else ""),
        highlight=False,
    )


def _encoder(model, encoder_backend: str, space_type: str, batch_size: int, threads: int | None, processes: int,
             calibration_texts: list[str] | None = None):
    """The catalog encoder the options name: threads per encoder, a process pool when processes > 1;
    calibration_texts: the catalog's embedding texts for backends calibrated on them (CALIBRATED_BACKENDS)."""
    encoder = load_encoder(model, backend=encoder_backend, space_type=space_type, batch_size=batch_size,
                           calibration_texts=calibration_texts)
    set_threads(encoder, threads)
    if processes > 1:
        encoder = ProcessPoolEncoder(encoder, processes, threads_per_process=threads or 1)
    return encoder


def _print_cluster(out: dict, as_json: bool) -> None:
    """A cluster load's outcome; exit 1 when it is incomplete (the alias was not moved)."""
    if as_json:
        print_json(out)
    else:
        err_console.print(f"{out['status']}: {out['indexed']} documents into {out['index']} (alias {out['alias']}); "
                          f"{out['failed']} failed → {out['dead_letter']}"
                          + ("; alias not moved: fix the cause and rerun with --resume"
                             if out["status"] == "incomplete" else ""), highlight=False)
    if out["status"] == "incomplete":
        raise SystemExit(1)
