"""`mrs search QUERY --index DIR`: lexical, dense or hybrid search on an embedded index or a cluster index
(--backend opensearch|elasticsearch), with calibrated level labels, filters and facets."""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from mrs.blending.calibration import at_or_above, label_search_hits, open_for_search
from mrs.cli.backends import backend_errors, cluster_backend_options, model_mismatch_option, open_backend
from mrs.cli.common import console, err_console, handle_errors, json_option, print_json
from mrs.engine.engine import EmbeddedEngine
from mrs.engine.facets import DEFAULT_FACET_SIZE, check_facet_fields
from mrs.engine.filters import combine, parse_filter, to_dsl
from mrs.engine.pipeline import load_pipeline
from mrs.engine.where import parse_where
from mrs.errors import InputError
from mrs.indexer.backend import (
    DEFAULT_HYBRID_DEPTH,
    MODES,
    SUBQUERY_DENSE,
    SUBQUERY_LEXICAL,
    Hit,
    hybrid_depth,
    search_by_mode,
)


def hit_json(hit: Hit) -> dict:
    """{id, score, scores: {lexical, dense}, normalized: {lexical, dense}, title}."""
    source = hit.source or {}
    return {
        "id": hit.id,
        "score": hit.score,
        "scores": {name: hit.scores.get(name) for name in (SUBQUERY_LEXICAL, SUBQUERY_DENSE)},
        "normalized": {name: hit.normalized.get(name) for name in (SUBQUERY_LEXICAL, SUBQUERY_DENSE)},
        "title": source.get("title"),
    }


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.4f}"


@click.command("search")
@click.argument("query")
@click.option("--index", "index_dir", required=True, type=click.Path(path_type=Path),
              help="Index directory (embedded) or index/alias name on the cluster (--backend opensearch|elasticsearch).")
@click.option("--mode", type=click.Choice(list(MODES)), default="hybrid", show_default=True)
@click.option("--k", type=click.IntRange(min=1), default=10, show_default=True, help="Number of hits.")
@click.option("--min-score", type=float, default=None,
              help="Radial k-NN on the dense side: every product with k-NN score ≥ this (dense, hybrid).")
@click.option("--pipeline", "pipeline_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="OpenSearch search-pipeline JSON body (normalization-processor or score-ranker-processor) "
                   "[default: min_max + arithmetic_mean, weights 0.7 lexical / 0.3 dense].")
@click.option("--pagination-depth", type=click.IntRange(min=1), default=None,
              help="Candidates per sub-query in hybrid mode (the hybrid query's pagination_depth) [default: the "
                   f"calibration's, else max(k, {DEFAULT_HYBRID_DEPTH}), as mrs eval and mrs calibrate].")
@click.option("--calibration", "calibration_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="calibration.json from `mrs calibrate`: label each hit with its predicted level and probability; "
                   "hybrid mode uses its blend and pagination depth unless --pipeline / --pagination-depth say else.")
@click.option("--min-level", default=None, metavar="LEVEL",
              help="With --calibration: keep hits at LEVEL or above (radial k-NN min_score = the level's threshold).")
@click.option("--filter", "filter_json", default=None, metavar="JSON",
              help="Query DSL filter (term, terms, range, exists, prefix, bool), or @FILE holding it; applies to "
                   "every sub-query without changing scores.")
@click.option("--where", "where", multiple=True, metavar="COND",
              help="Short filter, repeatable, all must hold: brand=Apple, brand=A|B, brand!=A, price<=100, "
                   "category_path=Electronics*, rating=* (has a value).")
@click.option("--facet", "facets", multiple=True, metavar="FIELD",
              help="Count the values of FIELD over the products the query and filters match (repeatable).")
@click.option("--facet-size", type=click.IntRange(min=1), default=DEFAULT_FACET_SIZE, show_default=True,
              help="Values shown per facet (the most frequent).")
@model_mismatch_option
@cluster_backend_options
@json_option
@handle_errors
@backend_errors
def command(query: str, index_dir: Path, mode: str, k: int, min_score, pipeline_file, pagination_depth,
            calibration_file, min_level, filter_json, where, facets, facet_size, as_json, backend: str = "embedded",
            **cluster) -> None:
    """Search an index built by `mrs index catalog`: embedded, or on OpenSearch / Elasticsearch (--backend).

    Scores are OpenSearch's: lexical = raw BM25 (multi_match best_fields), dense = k-NN score of the
    index's space (cosinesimil: (1 + cos)/2), hybrid = the search pipeline's combined score.

    \b
    Example:
      mrs search "red cotton shirt" --index demo/index --mode hybrid --k 5
      mrs search "usb c cable" --index demo/index --mode dense --min-score 0.8 --json
      mrs search "garden hose" --index demo/index --pipeline pipeline.json --json
      mrs search "red shirt" --index demo/index --calibration demo/calibration.json --min-level substitute
      mrs search "headphones" --index demo/index --where 'brand=Sonora' --where 'price<=100' --facet color
      mrs search "sofa" --index demo/index --filter '{"terms": {"color": ["grey", "blue"]}}' --json
      MRS_OPENSEARCH_URL=https://localhost:9200 mrs search "red shirt" --backend opensearch --index products \\
          --calibration demo/calibration.json --json
    """
    if not query.strip():
        raise InputError("empty query")
    if pipeline_file is not None and mode != "hybrid":
        raise InputError("--pipeline applies to --mode hybrid only")
    if pagination_depth is not None and mode != "hybrid":
        raise InputError("--pagination-depth applies to --mode hybrid only")
    pipeline = load_pipeline(pipeline_file, n_subqueries=2) if pipeline_file is not None else None
    search_filter = combine(parse_filter(_filter_text(filter_json)), parse_where(where))
    pipeline_name = str(pipeline_file) if pipeline_file is not None else None
    if mode == "hybrid" and pagination_depth is None and pipeline is None and calibration_file is not None:
        from mrs.blending.calibration import read_calibration

        calibrated_depth = read_calibration(calibration_file).blend.get("pagination_depth")
        pagination_depth = int(calibrated_depth) if calibrated_depth else None
    depth = hybrid_depth(k, pagination_depth) if mode == "hybrid" else None
    allow_model_mismatch = cluster.pop("allow_model_mismatch", False)
    if backend != "embedded":  # --index names the index/alias on the cluster
        hits, labels, calibrated, n_docs, facet_counts = _search_cluster(
            backend, index_dir, cluster, query, mode=mode, k=k, min_score=min_score, pipeline=pipeline,
            pagination_depth=depth if depth != k else None,  # OpenSearch < 2.19 lacks pagination_depth
            calibration_file=calibration_file, min_level=min_level,
            filter=search_filter, facets=facets, facet_size=facet_size, allow_model_mismatch=allow_model_mismatch)
    else:
        hits, labels, calibrated, n_docs, facet_counts = _search_embedded(
            query, index_dir, mode, k, min_score, pipeline, depth, calibration_file, min_level,
            search_filter, facets, facet_size, allow_model_mismatch)
    if mode == "hybrid" and pipeline is None:
        pipeline_name = (f"{calibration_file} ({calibrated.calibration.blend.get('name', 'calibrated blend')})"
                         if calibrated is not None and calibrated.pipeline is not None
                         else "default min_max + arithmetic_mean 0.7/0.3")
    warnings = calibrated.warnings if calibrated is not None else []
    for warning in warnings:
        err_console.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False, soft_wrap=True)
    if as_json:
        out = {"query": query, "mode": mode, "backend": backend, "index": str(index_dir),
               **({"pipeline": pipeline_name, "pagination_depth": depth} if mode == "hybrid" else {}),
               "hits": [{**hit_json(h), **lab} for h, lab in zip(hits, labels, strict=True)]}
        if search_filter is not None:
            out["filter"] = to_dsl(search_filter)
        if facets:
            out["facets"] = facet_counts
        if warnings:
            out["warnings"] = warnings
        print_json(out)
        return
    how = f" · pipeline {pipeline_name} · {depth} candidates per sub-query" if mode == "hybrid" else ""
    table = Table(title=escape(f"{mode} · {query!r} · {n_docs} products{how}"), title_justify="left")
    for col, justify in (("#", "right"), ("id", "left"), ("score", "right"), ("lexical", "right"),
                         ("dense", "right"), ("title", "left")) + ((("level", "left"), ("P", "right")) if calibrated else ()):
        table.add_column(col, justify=justify, overflow="fold" if col == "title" else "ellipsis")
    for rank, (hit, lab) in enumerate(zip(hits, labels, strict=True), start=1):
        d = hit_json(hit)
        extra = (str(lab.get("level") or "—"), _fmt(lab.get("probability"))) if calibrated else ()
        # ids and titles are catalog text: escape them so '[new] …' is not read as rich markup
        table.add_row(str(rank), escape(hit.id), f"{hit.score:.4f}", _fmt(d["scores"]["lexical"]),
                      _fmt(d["scores"]["dense"]), escape(str(d["title"] or "")), *extra)
    console.print(table)
    if not hits:
        console.print("no hits", style="dim")
    for field, counts in (facet_counts or {}).items():
        _print_facet(field, counts)


def _filter_text(value: str | None) -> str | None:
    """--filter JSON, or the text of the file @FILE names."""
    if value is None or not value.startswith("@"):
        return value
    path = Path(value[1:])
    try:
        return path.read_text(encoding="utf-8")
    except OSError as e:
        raise InputError(f"--filter: cannot read {e.strerror.lower() if e.strerror else e}", path=path) from None


def _print_facet(field: str, counts: dict) -> None:
    table = Table(title=escape(f"facet {field}"), title_justify="left")
    table.add_column("value", overflow="fold")
    table.add_column("products", justify="right")
    for bucket in counts["buckets"]:
        table.add_row(escape(str(bucket["key"])), str(bucket["doc_count"]))
    if counts["sum_other_doc_count"]:
        table.add_row("[dim](other values)[/]", str(counts["sum_other_doc_count"]))
    console.print(table)


def _search_embedded(query, index_dir, mode, k, min_score, pipeline, pagination_depth, calibration_file, min_level,
                     search_filter=None, facets=(), facet_size=DEFAULT_FACET_SIZE, allow_model_mismatch=False):
    """(hits, calibrated labels, SearchCalibration or None, documents, facet counts or None) of a search on an
    embedded index."""
    engine = EmbeddedEngine.open(index_dir)
    engine.allow_model_mismatch = allow_model_mismatch
    search_filter = engine.parse_filter(search_filter)  # unknown fields / wrong types: one error before searching
    unknown = [f for f in facets if f not in engine.attributes.fields]
    if unknown:
        raise InputError(f"--facet: unknown field(s) {', '.join(unknown)} (typed attributes: "
                         f"{', '.join(sorted(engine.attributes.fields)) or 'none'})")
    calibrated = open_for_search(calibration_file, engine, mode, min_level, min_score, index_dir)
    if calibrated is not None:
        min_score = calibrated.min_score
        if mode == "hybrid" and pipeline is None and calibrated.pipeline is not None:
            pipeline = calibrated.pipeline
    encoder = engine.open_encoder() if mode != "lexical" else None
    hits = engine.search(query, mode=mode, k=k, min_score=min_score, pipeline=pipeline, encoder=encoder,
                         pagination_depth=pagination_depth, filter=search_filter)
    labels = label_search_hits(engine, query, hits, calibrated.calibration) if calibrated else [{}] * len(hits)
    if min_level is not None:  # hybrid: lexical-only hits whose dense score is below the level go too
        hits, labels = at_or_above(hits, labels, min_score)
    counts = None
    if facets:
        vector = encoder.encode_query(query) if encoder is not None else None
        matched = engine.matched_documents(query, mode, vector, k=k, min_score=min_score,
                                           pagination_depth=pagination_depth, filter=search_filter)
        counts = engine.facets(matched, facets, facet_size)
    return hits, labels, calibrated, engine.count(), counts


def _search_cluster(kind: str, index, opts: dict, query: str, *, mode: str, k: int, min_score, pipeline,
                    pagination_depth, calibration_file, min_level, filter=None, facets=(), facet_size=10,
                    allow_model_mismatch=False):
    """(hits with their stored product fields, calibrated labels (empty dicts without --calibration), the
    SearchCalibration or None, documents in the index, facet counts or None) of a search on a cluster backend.

    As on the embedded engine: --calibration labels each hit from its dense k-NN score (judged from the cluster
    with score_documents when the hit has none) and, in hybrid mode without --pipeline / --pagination-depth,
    supplies the calibrated blend and pagination depth; --min-level cuts on the level's dense threshold (dense
    mode: radial k-NN)."""
    from mrs.blending.calibration import read_calibration

    depth = pagination_depth
    if calibration_file is not None and mode == "hybrid" and pipeline is None and depth is None:
        depth = read_calibration(calibration_file).blend.get("pagination_depth")
    backend, encoder = open_backend(kind, index, opts, candidates=depth, max_k=k,
                                    needs_encoder=mode != "lexical" or calibration_file is not None,
                                    allow_model_mismatch=allow_model_mismatch)
    calibrated = open_for_search(calibration_file, backend, mode, min_level, min_score, index)
    if calibrated is not None:
        min_score = calibrated.min_score
        if mode == "hybrid" and pipeline is None and calibrated.pipeline is not None:
            pipeline = calibrated.pipeline
    backend.filter_dsl(filter)  # unknown fields / wrong types: one error before searching
    check_facet_fields(facets, backend.spec.attributes)
    # no encoder in lexical mode without --calibration: search_by_mode encodes for dense and hybrid only
    hits = search_by_mode(backend, query, mode, k, encode_query=lambda text: encoder.encode_query(text),
                          min_score=min_score, pipeline=pipeline, filter=filter)
    labels: list[dict] = [{} for _ in hits]
    if calibrated is not None:
        labels = label_search_hits(backend, query, hits, calibrated.calibration, encoder)
        if min_level is not None:  # hybrid hits the lexical sub-query brought in below the level go too
            hits, labels = at_or_above(hits, labels, min_score)
    backend.attach_sources(hits)
    counts = None
    if facets:
        vector = encoder.encode_query(query) if mode != "lexical" else None
        counts = backend.facets(query, vector, mode, facets, k=k, size=facet_size, min_score=min_score,
                                filter=filter)
    return hits, labels, calibrated, backend.count(), counts
