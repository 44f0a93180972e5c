"""`mrs templates render` / `mrs templates install`: the deployable OpenSearch set (index mapping, search
pipelines, mustache search templates) from calibration.json, and its installation on a cluster."""

from __future__ import annotations

from pathlib import Path

import click

from mrs.blending.deployment import read_deployment
from mrs.cli.cluster import cluster_client, cluster_errors, cluster_options, pop_cluster_options
from mrs.cli.common import err_console, handle_errors, json_option, print_json
from mrs.cli.embed_on import embedding_render_options, install_rendered_pipelines, render_embedding_pipeline
from mrs.engine.bm25 import SIMILARITIES
from mrs.engine.techniques import DEFAULT_TARGET, TARGETS
from mrs.opensearch.mapping import ENGINES, shard_notes, spec_for_deployment
from mrs.opensearch.templates import install_set, read_set, render_set, write_set
from mrs.spaces import SPACE_TYPES


@click.group("templates")
def command() -> None:
    """Render and install OpenSearch search templates, pipelines and the index mapping.

    \b
    Example:
      mrs templates render --calibration demo/calibration.json --from-index demo/index --out opensearch/
      MRS_OPENSEARCH_URL=http://localhost:9200 mrs templates install opensearch/
    """


@command.command("render")
@click.option("--calibration", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="calibration.json from `mrs calibrate` [default: min_max + arithmetic_mean 0.7/0.3, no thresholds].")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("opensearch"),
              show_default=True, help="Directory to write index.json, pipelines/, templates/, manifest.json.")
@click.option("--from-index", "index_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Embedded index whose fields, similarity, analyzer, space and HNSW settings the mapping copies.")
@click.option("--dimension", type=click.IntRange(min=1), default=None,
              help="Vector dimension (when neither --from-index nor the calibration gives it).")
@click.option("--fields", "fields_spec", default=None, help="BM25 fields with boosts, name^boost,...")
@click.option("--similarity", type=click.Choice(list(SIMILARITIES)), default=None)
@click.option("--k1", type=float, default=None)
@click.option("--b", "b", type=float, default=None)
@click.option("--analyzer", type=click.Choice(["standard", "english"]), default=None)
@click.option("--space", "space_type", type=click.Choice(list(SPACE_TYPES)), default=None)
@click.option("--engine", type=click.Choice(list(ENGINES)), default=None, help="k-NN engine [default: faiss].")
@click.option("--hnsw-m", "m", type=click.IntRange(min=2), default=None)
@click.option("--ef-construction", type=click.IntRange(min=2), default=None)
@click.option("--ef-search", type=click.IntRange(min=1), default=None)
@click.option("--pagination-depth", type=click.IntRange(min=1), default=100, show_default=True,
              help="Candidates per sub-query of the hybrid template (normalization statistics run over them).")
@click.option("--rank-constant", type=click.IntRange(1, 10000), default=None,
              help="RRF rank constant of the score-ranker alternative pipeline [default: the calibration's best "
                   "RRF configuration, else 60].")
@click.option("--tie-breaker", type=click.FloatRange(0, 1), default=0.0, show_default=True,
              help="multi_match tie_breaker (0: best field only, as the embedded engine).")
@click.option("--cluster-version", type=click.IntRange(min=1), default=3, show_default=True,
              help="Target OpenSearch major version (2.x: LegacyBM25 is declared as type BM25).")
@click.option("--target", type=click.Choice(list(TARGETS)), default=DEFAULT_TARGET, show_default=True,
              help="elasticsearch: dense_vector mapping, search templates with knn similarity thresholds and "
                   "linear / rrf retrievers (docs/elasticsearch.md).")
@click.option("--vector-similarity", type=click.Choice(["cosine", "dot_product", "l2_norm", "max_inner_product"]),
              default=None, help="Elasticsearch dense_vector similarity [default: from the space type].")
@click.option("--index-options", "index_type", type=click.Choice(["hnsw", "int8_hnsw", "bbq_hnsw"]), default="hnsw",
              show_default=True, help="Elasticsearch dense_vector index_options type.")
@embedding_render_options
@json_option
@handle_errors
def render(calibration, out_dir, index_dir, dimension, fields_spec, similarity, k1, b, analyzer, space_type,
           engine, m, ef_construction, ef_search, pagination_depth, rank_constant, tie_breaker, cluster_version,
           as_json, target="opensearch", vector_similarity=None, index_type="hnsw", model_id=None,
           ingest_pipeline="mrs-embed", text_template=None) -> None:
    """Render the deployable set into --out: index.json (PUT /<index>), pipelines/mrs-hybrid.json (the
    calibrated normalization-processor) and mrs-hybrid-rrf.json (score-ranker RRF), templates/mrs-lexical,
    mrs-dense, mrs-dense-min-<level> (radial, one per calibrated level) and mrs-hybrid (PUT /_scripts/<id>),
    and manifest.json. Each template is rendered with a hostile query before it is written. With --target
    elasticsearch and a calibration fitted for OpenSearch whose blend Elasticsearch cannot run (z_score, score
    bounds, geometric/harmonic mean), the best configuration of the calibration's ranking that it can run is
    deployed instead; stderr says so and manifest.json records it (``blend``). With --model-id, also
    ingest/mrs-embed.json: the ingest pipeline that builds the embedding text and embeds it on the cluster
    (`mrs index catalog --embed-on cluster`).

    \b
    Example:
      mrs templates render --calibration demo/calibration.json --from-index demo/index --out opensearch/
      mrs templates render --dimension 384 --fields "title^3,description" --out opensearch/ --json
      mrs templates render --target elasticsearch --calibration demo/calibration.json --from-index demo/index --out es/
      mrs templates render --from-index demo/index --out opensearch/ --model-id <ML model id>   # + ingest/mrs-embed.json
    """
    from mrs.indexer.documents import parse_fields

    cal = read_deployment(calibration)
    overrides = {"text_fields": parse_fields(fields_spec) if fields_spec else None, "similarity": similarity,
                 "k1": k1, "b": b, "analyzer": analyzer, "space_type": space_type, "engine": engine, "m": m,
                 "ef_construction": ef_construction, "ef_search": ef_search}
    manifest = None
    if index_dir is not None:
        from mrs.engine.manifest import read_manifest

        manifest = read_manifest(index_dir)
    spec = spec_for_deployment(cal, manifest, dimension, **overrides)
    if target == "elasticsearch":  # --pagination-depth is the retrievers' rank_window_size there
        from mrs.cli.es import render_templates

        out = render_templates(cal, spec, out_dir, rank_window_size=pagination_depth,
                               rank_constant=60 if rank_constant is None else rank_constant,
                               tie_breaker=tie_breaker, vector_similarity=vector_similarity, index_type=index_type)
        out["calibration"] = str(calibration) if calibration else None
        out.update(render_embedding_pipeline(target, out_dir, model_id=model_id, name=ingest_pipeline,
                                             text_template=text_template, index_dir=index_dir))
        blend = out["blend"]
        if blend.get("substituted"):  # stderr, with --json too: the deployed blend is not the calibrated one
            err_console.print(f"note: {blend['reason']}; deploying the best Elasticsearch-expressible configuration "
                              f"of the calibration's ranking (#{blend['ranking_position']}): {blend['deployed']}",
                              highlight=False, markup=False)
        if as_json:
            print_json(out)
        else:
            err_console.print(f"wrote {len(out['files'])} files to {out_dir}: templates "
                              f"{', '.join(out['templates'])}", highlight=False)
            _print_ingest_note(out)
        _print_scoring_notes(shard_notes(spec.shards, "elasticsearch"))
        return
    rendered = render_set(cal, spec, pagination_depth=pagination_depth, rank_constant=rank_constant,
                          tie_breaker=tie_breaker, cluster_major=cluster_version)
    paths = write_set(rendered, out_dir)
    out = {"out": str(out_dir), "files": paths, "pipelines": sorted(rendered.pipelines),
           "templates": sorted(rendered.templates), "radial_levels": rendered.radial_levels,
           "calibration": str(calibration) if calibration else None, "spec": spec.to_dict()}
    out.update(render_embedding_pipeline(target, out_dir, model_id=model_id, name=ingest_pipeline,
                                         text_template=text_template, index_dir=index_dir,
                                         vector_field=spec.vector_field))
    if as_json:
        print_json(out)
        return
    err_console.print(f"wrote {len(paths)} files to {out_dir}: pipelines {', '.join(sorted(rendered.pipelines))}; "
                      f"templates {', '.join(sorted(rendered.templates))}", highlight=False)
    _print_ingest_note(out)
    _print_scoring_notes(shard_notes(spec.shards))


def _print_ingest_note(out: dict) -> None:
    if out.get("ingest_pipeline"):
        err_console.print(f"ingest pipeline (cluster embeds, text template {out['text_template']!r}): "
                          f"{out['ingest_pipeline']}", highlight=False, markup=False)


def _print_scoring_notes(lines: list[str]) -> None:
    """The mapping's scoring notes (mrs.opensearch.mapping.shard_notes) on stderr: warnings always, notes dim."""
    for line in lines:
        err_console.print(line, style=None if line.startswith("warning:") else "dim", highlight=False, markup=False)


@command.command("install")
@click.argument("rendered_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("opensearch"))
@cluster_options
@json_option
@handle_errors
@cluster_errors
def install(rendered_dir, as_json, **kwargs) -> None:
    """PUT the pipelines (_search/pipeline/<id>) and templates (_scripts/<id>) of RENDERED_DIR to the cluster,
    then render every template on the cluster (_render/template) with a hostile query and check the query
    text comes back intact. The index mapping (index.json) is applied by `mrs index catalog --backend opensearch`.

    \b
    Example:
      export MRS_OPENSEARCH_URL=https://search.example.com:9200 MRS_OPENSEARCH_USER=admin MRS_OPENSEARCH_PASSWORD=...
      mrs templates install opensearch/ --ca-file ca.pem --json
    """
    from mrs.cli.es import install_templates, is_elasticsearch_set

    if is_elasticsearch_set(rendered_dir):  # rendered with --target elasticsearch: MRS_ELASTICSEARCH_* settings
        result = install_templates(rendered_dir, pop_cluster_options(kwargs))
        if as_json:
            print_json(result)
        else:
            err_console.print(f"installed {len(result['templates'])} templates on {result['cluster']['url']}; "
                              f"{result['checked']} rendered and checked", highlight=False)
        return
    rendered = read_set(rendered_dir)
    client, settings = cluster_client(pop_cluster_options(kwargs))
    dims = rendered.index["mappings"]["properties"]
    dimension = next(v["dimension"] for v in dims.values() if v.get("type") == "knn_vector")
    result = install_set(client, rendered, dimension)
    result["ingest_pipelines"] = install_rendered_pipelines("opensearch", client, rendered_dir)
    result["cluster"] = settings.describe()
    if as_json:
        print_json(result)
        return
    err_console.print(f"installed {len(result['pipelines'])} pipelines and {len(result['templates'])} templates on "
                      f"{settings.describe()['url']}; {result['checked']} templates rendered and checked", highlight=False)
