"""Elasticsearch search templates (lexical, knn, knn with a calibrated ``similarity`` per level, hybrid through
the ``linear`` and ``rrf`` retrievers), rendered from calibration.json, written as a deployable set and
installed with a render check.

Query text, numbers, vectors and filters enter the JSON as mrs.cluster.mustache explains (``"{{query_text}}"``
JSON-escaped; vectors and filters through ``{{#toJson}}``, never strings); field lists, boosts, weights,
normalizers, thresholds and rank_window_size are baked in with json.dumps. The pieces the OpenSearch templates
share are mrs.cluster.templates'. The calibration is read by attribute (subqueries, pipeline, ranking,
thresholds, dimension, space_type, target, source) — whatever the one calibration reader returns — so this
module imports no other backend.

Template parameters (every template takes the optional has_filter (bool) + filter (a query object on the
``attr.<field>`` attribute fields, e.g. what mrs.engine.filters.cluster_filter renders)):
- ``mrs-lexical``: query_text, size; the filter as a non-scoring ``bool.filter`` clause
- ``mrs-knn``: query_vector, k, num_candidates, size; the filter as the knn search's ``filter``
- ``mrs-knn-min-<level>``: query_vector, k, num_candidates, size; ``similarity`` = that
  level's calibrated threshold converted to the RAW similarity (mrs.elasticsearch.spaces)
- ``mrs-hybrid-linear``: query_text, query_vector, size; linear retriever, normalizer and weights from the
  calibrated blend (minmax ← min_max, l2_norm ← l2), rank_window_size baked in; the filter in both
  sub-retrievers (before normalization)
- ``mrs-hybrid-rrf``: query_text, query_vector, size; rrf retriever with rank_constant and rank_window_size
  (the calibrated rrf with its per-retriever weights when the calibration chose rrf; Elasticsearch ≥ 9.2)

Which blend is deployed (``calibrated_retrievers``): the calibrated one when Elasticsearch can run it (the
technique registry, mrs.engine.techniques, via linear_from_pipeline); otherwise — a calibration fitted for
OpenSearch that chose z_score, bounded min_max or a geometric/harmonic mean — the best configuration of the
calibration's ranking that Elasticsearch can run, recorded in manifest.json (``blend``) and reported by the
CLI. The linear template takes the best linear configuration of the ranking when the chosen blend is rrf.

Beside them: ``retrievers/linear.json`` and ``retrievers/rrf.json`` — the same blends as bodies with the
sub-retrievers named ``lexical`` / ``dense``; ``mrs eval --pipeline NAME=retrievers/linear.json`` runs them in
the embedded engine (mrs.engine.retriever_combine), so offline numbers match what the cluster ranks.

Documentation relied on: Elasticsearch reference "Search templates" (``PUT _scripts/ID {"script": {"lang":
"mustache", "source": ...}}``, ``{{#toJson}}``, ``POST _render/template``, ``GET _search/template``),
"Retrievers" (linear, rrf, standard, knn), "kNN search" (k, num_candidates, similarity, filter).
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
from mrs.elasticsearch.mapping import MAX_NUM_CANDIDATES, ElasticIndexSpec, index_body
from mrs.elasticsearch.spaces import knn_similarity_threshold
from mrs.engine.retriever import LINEAR, RRF, RetrieverSpec, SubRetriever, is_weighted_rrf, retriever_body
from mrs.engine.techniques import ELASTICSEARCH, OPENSEARCH, version_notes
from mrs.engine.translation import linear_from_pipeline
from mrs.errors import InputError

LEXICAL_TEMPLATE = "mrs-lexical"
KNN_TEMPLATE = "mrs-knn"
KNN_MIN_PREFIX = "mrs-knn-min-"
LINEAR_TEMPLATE = "mrs-hybrid-linear"
RRF_TEMPLATE = "mrs-hybrid-rrf"


def _knn_object(spec: ElasticIndexSpec, similarity: float | None = None, *, k: str | None = None,
                num_candidates: str | None = None, with_filter: bool = True) -> str:
    k = k or '"{{k}}"'
    num_candidates = num_candidates or '"{{num_candidates}}"'
    text = ('{"field": ' + dump(spec.vector_field) + ', "query_vector": {{#toJson}}query_vector{{/toJson}}, '
            '"k": ' + k + ', "num_candidates": ' + num_candidates)
    if similarity is not None:
        text += ', "similarity": ' + dump(float(similarity))
    if with_filter:
        text += '{{#has_filter}}, "filter": {{#toJson}}filter{{/toJson}}{{/has_filter}}'
    return text + '}'


def lexical_template(spec: ElasticIndexSpec, tie_breaker: float = 0.0) -> str:
    """multi_match best_fields with boosts; params query_text, size, has_filter, filter."""
    return search_head(spec) + '"query": ' + filtered_query(multi_match(spec, tie_breaker)) + '}'


def knn_template(spec: ElasticIndexSpec, similarity: float | None = None) -> str:
    """Top-level knn search; params query_vector, k, num_candidates, size, has_filter, filter. ``similarity``:
    the raw threshold (None: none)."""
    return search_head(spec) + '"knn": ' + _knn_object(spec, similarity) + '}'


def hybrid_template(spec: ElasticIndexSpec, retriever: RetrieverSpec, tie_breaker: float = 0.0) -> str:
    """A linear/rrf retriever over [standard multi_match, knn] with everything but the query baked in."""
    retriever.validate()
    window = int(retriever.rank_window_size)
    candidates = min(MAX_NUM_CANDIDATES, max(window, int(1.5 * window)))
    marks = {"lexical": "@@LEXICAL@@", "dense": "@@DENSE@@"}
    skeleton = dump(retriever_body(retriever, marks))
    lexical = '{"standard": {"query": ' + filtered_query(multi_match(spec, tie_breaker)) + '}}'
    dense = '{"knn": ' + _knn_object(spec, k=dump(window), num_candidates=dump(candidates)) + '}'
    body = skeleton.replace(dump(marks["lexical"]), lexical).replace(dump(marks["dense"]), dense)
    return search_head(spec) + '"retriever": ' + body + '}'


def sample_params(spec: ElasticIndexSpec, query_text: str = 'red "cotton" shirt') -> dict[str, Any]:
    """Parameters that exercise every template (render checks and ``_render/template``)."""
    return {"query_text": query_text, "query_vector": [0.0] * (int(spec.dimension) - 1) + [1.0], "k": 10,
            "num_candidates": 100, "size": 10, "has_filter": True,
            "filter": sample_filter(spec.attributes, query_text)}


HOSTILE_TEXT = 'a "quoted" \\ back}}slash {{/x}} {{#toJson}}\n\u00e9\u4e2d </script>'


@dataclass
class ElasticRenderedSet:
    """What ``mrs templates render --target elasticsearch`` writes."""

    index: dict[str, Any]
    templates: dict[str, str] = field(default_factory=dict)
    retrievers: dict[str, dict[str, Any]] = field(default_factory=dict)
    knn_levels: dict[str, dict[str, float]] = field(default_factory=dict)
    blend: dict[str, Any] = field(default_factory=dict)

    def manifest(self) -> dict[str, Any]:
        return {"target": "elasticsearch", "index": "index.json", "blend": self.blend,
                "scoring": shard_notes(self.index["settings"]["index"]["number_of_shards"], "elasticsearch"),
                "templates": {n: f"templates/{n}.json" for n in self.templates},
                "retrievers": {n: f"retrievers/{n}.json" for n in self.retrievers},
                "knn_levels": self.knn_levels,
                "install": {"templates": {n: f"PUT /_scripts/{n}" for n in self.templates},
                            "search": "GET /<index>/_search/template {\"id\": ..., \"params\": {...}}"}}


def _as_retriever(pipeline: Mapping[str, Any], rank_window_size: int) -> tuple[RetrieverSpec | None, str | None]:
    try:
        return linear_from_pipeline(pipeline, rank_window_size), None
    except InputError as e:
        return None, e.message


def _blend_name(pipeline: Mapping[str, Any]) -> str:
    description = str(pipeline.get("description") or "the calibrated blend")
    return description.removeprefix("mrs calibrate: ")


def calibrated_retrievers(calibration: Deployment, rank_window_size: int,
                          rank_constant: int = 60) -> tuple[dict[str, RetrieverSpec], dict[str, Any]]:
    """({"linear": ..., "rrf": ...}, choice): the retrievers to deploy and how they were chosen (module doc).

    choice: {"calibrated": name, "fitted_for": target, "deployed": name, "substituted": bool, "reason" and
    "ranking_position" (1-based) when substituted, "notes": version requirements}. InputError (with the file)
    when neither the blend nor any ranked configuration can run on Elasticsearch.
    """
    if calibration.subqueries != ["lexical", "dense"]:
        raise InputError(f"templates support the blend [lexical, dense]; calibration has {calibration.subqueries}",
                         path=calibration.source)
    window = int(rank_window_size)
    spec, reason = _as_retriever(calibration.pipeline, window)
    choice: dict[str, Any] = {"calibrated": _blend_name(calibration.pipeline),
                              "fitted_for": calibration.target or OPENSEARCH, "substituted": False}
    choice["deployed"] = choice["calibrated"]
    if spec is None:
        for position, entry in enumerate(calibration.ranking, start=1):
            spec, _ = _as_retriever(entry["pipeline"], window)
            if spec is not None:
                choice.update(deployed=str(entry.get("name")), substituted=True, reason=reason,
                              ranking_position=position, train=entry.get("train"), dev=entry.get("dev"))
                break
        else:
            raise InputError(f"calibrated blend: {reason}; the calibration ranks no configuration Elasticsearch can "
                             "run (re-run `mrs calibrate --target elasticsearch`)", path=calibration.source)
    linear = spec if spec.method == LINEAR else None
    for entry in calibration.ranking if linear is None else ():
        candidate, _ = _as_retriever(entry["pipeline"], window)
        if candidate is not None and candidate.method == LINEAR:
            linear = candidate
            break
    if linear is None:  # an rrf calibration without a ranking: deploy the default linear beside it
        linear = RetrieverSpec(LINEAR, (SubRetriever("lexical", 0.7, "minmax"), SubRetriever("dense", 0.3, "minmax")),
                               window)
    rrf = spec if spec.method == RRF else RetrieverSpec(RRF, (SubRetriever("lexical"), SubRetriever("dense")),
                                                        window, int(rank_constant))
    rrf.validate()
    choice["notes"] = version_notes(ELASTICSEARCH, fusion=False, weighted=False) + \
        version_notes(ELASTICSEARCH, fusion=True, weighted=is_weighted_rrf(rrf))
    return {"linear": linear, "rrf": rrf}, choice


def blends_from_calibration(calibration: Deployment, rank_window_size: int,
                            rank_constant: int = 60) -> dict[str, RetrieverSpec]:
    """{"linear": the calibrated blend as a linear retriever, "rrf": the rrf alternative} (calibrated_retrievers)."""
    return calibrated_retrievers(calibration, rank_window_size, rank_constant)[0]


def render_set(calibration: Deployment, spec: ElasticIndexSpec, *, rank_window_size: int = 100,
               rank_constant: int = 60, tie_breaker: float = 0.0) -> ElasticRenderedSet:
    """The deployable set from a calibration (or its defaults). Thresholds are converted from the calibration's
    k-NN score space to raw similarities; every template is rendered with a hostile query and parsed."""
    if calibration.dimension and calibration.dimension != spec.dimension:
        raise InputError(f"calibration was made with {calibration.dimension}-d vectors, index has {spec.dimension}",
                         path=calibration.source)
    space = calibration.space_type or spec.space_type
    if space != spec.space_type:
        raise InputError(f"calibration thresholds are {space} scores, the index spec is {spec.space_type}",
                         path=calibration.source)
    if not 1 <= int(rank_window_size) <= MAX_NUM_CANDIDATES:
        raise InputError(f"rank_window_size must lie in [1, {MAX_NUM_CANDIDATES}] (got {rank_window_size})")
    blends, choice = calibrated_retrievers(calibration, rank_window_size, rank_constant)
    out = ElasticRenderedSet(index=index_body(spec), blend=choice)
    out.templates[LEXICAL_TEMPLATE] = lexical_template(spec, tie_breaker)
    out.templates[KNN_TEMPLATE] = knn_template(spec)
    for level, threshold in calibration.thresholds.items():
        raw = knn_similarity_threshold(threshold, spec.space_type, str(spec.similarity))
        out.templates[KNN_MIN_PREFIX + level_slug(level)] = knn_template(spec, raw)
        out.knn_levels[level] = {"score_threshold": float(threshold), "knn_similarity": raw}
    out.templates[LINEAR_TEMPLATE] = hybrid_template(spec, blends["linear"], tie_breaker)
    out.templates[RRF_TEMPLATE] = hybrid_template(spec, blends["rrf"], tie_breaker)
    out.retrievers = {name: retriever_body(b) for name, b in blends.items()}
    hostile = sample_params(spec, HOSTILE_TEXT)
    for name, source in out.templates.items():
        check_rendering(name, source, hostile)
    return out


def write_set(rendered: ElasticRenderedSet, out_dir: str | os.PathLike) -> list[str]:
    """Write index.json, templates/*.json (PUT _scripts bodies), retrievers/*.json and manifest.json."""
    templates = {name: script_body(source) for name, source in rendered.templates.items()}
    return write_rendered_files(out_dir, rendered.index, [("templates", templates),
                                                          ("retrievers", rendered.retrievers)], rendered.manifest())


def read_set(out_dir: str | os.PathLike) -> ElasticRenderedSet:
    """Read a directory written by write_set."""
    out = Path(out_dir)
    manifest_path = out / "manifest.json"
    if not manifest_path.exists():
        raise InputError("no manifest.json: run `mrs templates render --target elasticsearch` first", path=str(out))
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    if manifest.get("target") != "elasticsearch":
        raise InputError("this directory holds an OpenSearch set (render with --target elasticsearch)",
                         path=str(manifest_path))
    rendered = ElasticRenderedSet(index=json.loads((out / manifest["index"]).read_text(encoding="utf-8")),
                                  knn_levels=manifest.get("knn_levels", {}), blend=manifest.get("blend", {}))
    for name, rel in manifest["templates"].items():
        rendered.templates[name] = json.loads((out / rel).read_text(encoding="utf-8"))["script"]["source"]
    for name, rel in manifest.get("retrievers", {}).items():
        rendered.retrievers[name] = json.loads((out / rel).read_text(encoding="utf-8"))
    return rendered


def install_set(client: Any, rendered: ElasticRenderedSet, dimension: int,
                check_params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """PUT every template (``_scripts/ID``), then have the cluster render each (``_render/template``) with a
    hostile query and check the query text comes back intact. Returns {"templates": [...], "checked": n}."""
    for name, source in rendered.templates.items():
        client.put_script(id=name, body=script_body(source))
    params = dict(check_params or {})
    if not params:
        params = {"query_text": HOSTILE_TEXT, "query_vector": [0.0] * (int(dimension) - 1) + [1.0], "k": 5,
                  "num_candidates": 10, "size": 5, "has_filter": False}
    checked = check_cluster_rendering(client, rendered.templates, params)
    return {"templates": sorted(rendered.templates), "checked": checked}
