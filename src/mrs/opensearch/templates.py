"""OpenSearch search templates (lexical, dense k-NN, dense radial per calibrated level, hybrid) and the search
pipelines beside them, rendered from a calibration; writing, reading and installing the whole set.

The mustache renderer that checks them offline is mrs.cluster.mustache (how query text, vectors and filters enter
the JSON safely); the pieces the Elasticsearch templates share (filtered lexical query, sample params, render
checks, files) are mrs.cluster.templates'.

Template parameters (every template takes the optional has_filter (bool) + filter (a query object on the
``attr.<field>`` attribute fields, e.g. what mrs.engine.filters.cluster_filter renders)):
- lexical ``mrs-lexical``: query_text, size; the filter as a non-scoring ``bool.filter`` clause
- dense ``mrs-dense``: query_vector, k, size; the filter as the k-NN efficient filter
- dense radial ``mrs-dense-min-<level>``: query_vector, size; min_score = that level's calibrated threshold
  (k-NN score space)
- hybrid ``mrs-hybrid``: query_text, query_vector, k, size; pagination_depth baked in; the filter in both
  sub-queries (what the hybrid query's top-level ``filter`` rewrites to, on every OpenSearch version); call
  with ``?search_pipeline=mrs-hybrid`` (or the RRF one, ``mrs-hybrid-rrf``)

Documentation relied on: OpenSearch "Search templates" (search-plugins/search-template: ``PUT _scripts/ID
{"script": {"lang": "mustache", "source": "..."}}``, ``POST _render/template``) and "Creating a search pipeline"
(``PUT /_search/pipeline/ID``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mrs.cluster.mapping import shard_notes
from mrs.cluster.templates import (
    check_cluster_rendering,
    check_rendering,
    dump,
    filtered_query,
    level_slug,
    multi_match,
    sample_filter,
    script_body,
    search_head,
    write_rendered_files,
)
from mrs.deployment import Deployment
from mrs.errors import InputError
from mrs.opensearch.mapping import IndexSpec, index_body
from mrs.opensearch.pipelines import pipeline_weights, rrf_pipeline, with_explanation

HYBRID_PIPELINE = "mrs-hybrid"
RRF_PIPELINE = "mrs-hybrid-rrf"
LEXICAL_TEMPLATE = "mrs-lexical"
DENSE_TEMPLATE = "mrs-dense"
HYBRID_TEMPLATE = "mrs-hybrid"
RADIAL_PREFIX = "mrs-dense-min-"

__all__ = ["DENSE_TEMPLATE", "HYBRID_PIPELINE", "HYBRID_TEMPLATE", "LEXICAL_TEMPLATE", "RADIAL_PREFIX", "RRF_PIPELINE",
           "RenderedSet", "dense_template", "hybrid_template", "install_set", "lexical_template", "radial_template",
           "read_set", "render_set", "rrf_for", "sample_params", "write_set"]


def lexical_template(spec: IndexSpec, tie_breaker: float = 0.0) -> str:
    """multi_match best_fields over the BM25 fields with their boosts; params query_text, size, has_filter, filter."""
    return search_head(spec) + '"query": ' + filtered_query(multi_match(spec, tie_breaker)) + '}'


def _knn_clause(spec: IndexSpec, limit: str) -> str:
    return (
        '{"knn": {' + dump(spec.vector_field) + ': {"vector": {{#toJson}}query_vector{{/toJson}}, ' + limit
        + '{{#has_filter}}, "filter": {{#toJson}}filter{{/toJson}}{{/has_filter}}}}}'
    )


def dense_template(spec: IndexSpec) -> str:
    """Approximate k-NN with k; params query_vector, k, size, has_filter, filter."""
    return search_head(spec) + '"query": ' + _knn_clause(spec, '"k": "{{k}}"') + '}'


def radial_template(spec: IndexSpec, min_score: float) -> str:
    """Radial search: every document with k-NN score ≥ min_score (a calibrated level threshold)."""
    return search_head(spec) + '"query": ' + _knn_clause(spec, '"min_score": ' + dump(float(min_score))) + '}'


def hybrid_template(spec: IndexSpec, pagination_depth: int = 100, tie_breaker: float = 0.0) -> str:
    """Hybrid: [lexical multi_match, dense knn k] (the pipeline's weight order) with pagination_depth; the
    optional filter in both sub-queries."""
    lexical = filtered_query(multi_match(spec, tie_breaker))
    dense = _knn_clause(spec, '"k": "{{k}}"')
    return (
        search_head(spec) + '"query": {"hybrid": {"queries": [' + lexical + ', ' + dense + '], "pagination_depth": '
        + dump(int(pagination_depth)) + '}}}'
    )


def sample_params(spec: IndexSpec, query_text: str = "red \"cotton\" shirt") -> dict[str, Any]:
    """Parameters that exercise every template (used by render checks and _render/template)."""
    return {
        "query_text": query_text,
        "query_vector": [0.0] * (int(spec.dimension) - 1) + [1.0],
        "k": 10,
        "size": 10,
        "has_filter": True,
        "filter": sample_filter(spec.attributes, query_text),
    }


@dataclass
class RenderedSet:
    """Everything ``mrs templates render`` writes: the index body, pipelines and templates by id."""

    index: dict[str, Any]
    pipelines: dict[str, dict[str, Any]] = field(default_factory=dict)
    templates: dict[str, str] = field(default_factory=dict)
    radial_levels: dict[str, float] = field(default_factory=dict)
    requires: dict[str, list[str]] = field(default_factory=dict)

    def manifest(self) -> dict[str, Any]:
        return {
            "index": "index.json",
            "requires": self.requires,
            "pipelines": {name: f"pipelines/{name}.json" for name in self.pipelines},
            "templates": {name: f"templates/{name}.json" for name in self.templates},
            "radial_levels": self.radial_levels,
            "scoring": shard_notes(self.index["settings"]["index"]["number_of_shards"]),
            "install": {
                "pipelines": {name: f"PUT /_search/pipeline/{name}" for name in self.pipelines},
                "templates": {name: f"PUT /_scripts/{name}" for name in self.templates},
            },
        }


def _pipeline_requires(body: Mapping[str, Any]) -> list[str]:
    """The OpenSearch releases a pipeline body needs, from the technique registry (mrs.engine.techniques)."""
    from mrs.engine.techniques import OPENSEARCH, version_notes

    fusion = "score-ranker-processor" in body["phase_results_processors"][0]
    weights = pipeline_weights(body)
    return version_notes(OPENSEARCH, fusion=fusion, weighted=bool(weights) and len(set(weights)) > 1)


def rrf_for(calibration: Deployment, rank_constant: int | None = None) -> dict:
    """The RRF alternative: the calibration's best RRF configuration (its own weights and rank constant;
    ``rank_constant`` replaces its constant), else equal weights with ``rank_constant`` (default 60). Never the
    score blend's weights: they were tuned for normalized scores, not for rank fusion."""
    if calibration.rrf_pipeline is not None:
        if rank_constant is None:
            return calibration.rrf_pipeline
        return rrf_pipeline(pipeline_weights(calibration.rrf_pipeline), rank_constant,
                            description=f"mrs: calibrated RRF weights, rank_constant {rank_constant}", explain=False)
    return rrf_pipeline(None, 60 if rank_constant is None else rank_constant, explain=False)


def render_set(calibration: Deployment, spec: IndexSpec, *, pagination_depth: int = 100,
               rank_constant: int | None = None, tie_breaker: float = 0.0,
               cluster_major: int | None = None) -> RenderedSet:
    """Build the full deployable set from a calibration (or its defaults) and the index spec.

    Every template is rendered once with hostile sample text and parsed, so a broken template never ships.
    """
    if calibration.subqueries[:2] != ["lexical", "dense"] or len(calibration.subqueries) != 2:
        raise InputError(f"templates support the blend [lexical, dense]; calibration has {calibration.subqueries}",
                         path=calibration.source)
    if calibration.dimension and calibration.dimension != spec.dimension:
        raise InputError(f"calibration was made with {calibration.dimension}-d vectors, index has {spec.dimension}",
                         path=calibration.source)
    rendered = RenderedSet(index=index_body(spec, cluster_major))
    rendered.pipelines[HYBRID_PIPELINE] = with_explanation(calibration.pipeline)
    rendered.pipelines[RRF_PIPELINE] = with_explanation(rrf_for(calibration, rank_constant))
    rendered.requires = {name: _pipeline_requires(body) for name, body in rendered.pipelines.items()}
    rendered.templates[LEXICAL_TEMPLATE] = lexical_template(spec, tie_breaker)
    rendered.templates[DENSE_TEMPLATE] = dense_template(spec)
    for level, threshold in calibration.thresholds.items():
        rendered.templates[RADIAL_PREFIX + level_slug(level)] = radial_template(spec, threshold)
        rendered.radial_levels[level] = threshold
    rendered.templates[HYBRID_TEMPLATE] = hybrid_template(spec, pagination_depth, tie_breaker)
    hostile = sample_params(spec, 'a "quoted" \\ back}}slash {{/x}}\n\u00e9\u4e2d')
    for name, source in rendered.templates.items():
        check_rendering(name, source, hostile)
    return rendered


def write_set(rendered: RenderedSet, out_dir: str | os.PathLike) -> list[str]:
    """Write index.json, pipelines/*.json, templates/*.json (PUT bodies) and manifest.json; returns paths."""
    templates = {name: script_body(source) for name, source in rendered.templates.items()}
    return write_rendered_files(out_dir, rendered.index, [("pipelines", rendered.pipelines),
                                                          ("templates", templates)], rendered.manifest())


def read_set(out_dir: str | os.PathLike) -> RenderedSet:
    """Read a directory written by write_set (what ``mrs templates install`` sends)."""
    out = Path(out_dir)
    manifest_path = out / "manifest.json"
    if not manifest_path.exists():
        raise InputError("no manifest.json: run `mrs templates render` first", path=str(out))
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    rendered = RenderedSet(index=json.loads((out / manifest["index"]).read_text(encoding="utf-8")),
                           radial_levels=manifest.get("radial_levels", {}))
    for name, rel in manifest["pipelines"].items():
        rendered.pipelines[name] = json.loads((out / rel).read_text(encoding="utf-8"))
    for name, rel in manifest["templates"].items():
        rendered.templates[name] = json.loads((out / rel).read_text(encoding="utf-8"))["script"]["source"]
    return rendered


def install_set(client: Any, rendered: RenderedSet, spec_dimension: int,
                check_params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """PUT every pipeline (``_search/pipeline/ID``) and template (``_scripts/ID``), then ask the cluster to
    render each template (``_render/template``) with hostile sample params and check the query text and vector
    come back intact. Returns {"pipelines": [...], "templates": [...], "checked": n}."""
    for name, body in rendered.pipelines.items():
        client.search_pipeline.put(id=name, body=body)
    for name, source in rendered.templates.items():
        client.put_script(id=name, body=script_body(source))
    params = dict(check_params or {})
    if not params:
        text = 'check "quotes" \\ }} {{x}}\n\u00e9'
        params = {"query_text": text, "query_vector": [0.0] * (spec_dimension - 1) + [1.0], "k": 5, "size": 5,
                  "has_filter": False}
    checked = check_cluster_rendering(client, rendered.templates, params)
    return {"pipelines": sorted(rendered.pipelines), "templates": sorted(rendered.templates), "checked": checked}


