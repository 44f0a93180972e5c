"""Mustache search templates (lexical, dense k-NN, dense radial per calibrated level, hybrid), a small mustache
renderer that behaves like OpenSearch's for checking them offline, and render/install of the whole set.

How caller values enter the JSON (OpenSearch's mustache, CustomMustacheFactory, JSON content type):
- strings (the query text) and numbers (k, size) as ``"{{name}}"``: the JSON escape encoder writes the value
  escaped (quotes, backslashes, control characters) inside the quotes, and a value is never re-parsed as a
  template, so quotes, ``\\``, ``}}``, newlines or unicode in a query cannot break the request or inject
  clauses. Numbers arrive as numeric strings ("10"), which OpenSearch's parsers coerce (as the search-template
  docs' ``"size": "{{size}}"``).
- lists and objects (the query vector, a filter) through ``{{#toJson}}name{{/toJson}}``, which writes them as
  JSON. toJson is NOT used for strings: for anything but a list or a map OpenSearch writes the raw, unescaped
  text (``oh.stringify``), which is exactly the injection this module prevents.
Field lists, boosts, thresholds and pagination depth are baked in at render time with json.dumps.

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
{"script": {"lang": "mustache", "source": "..."}}``, ``POST _render/template``, conditions with
``{{#var}}...{{/var}}`` / ``{{^var}}``, "Convert to JSON" ``{{#toJson}}var{{/toJson}}``, ``{{#join}}``),
the mustache manual (mustache.github.io/mustache.5.html) and "Creating a search pipeline"
(``PUT /_search/pipeline/ID``).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mrs.deployment import Deployment
from mrs.engine.attributes import cluster_field
from mrs.errors import InputError
from mrs.opensearch.bodies import boosted_fields
from mrs.opensearch.mapping import IndexSpec, index_body, shard_notes
from mrs.opensearch.pipelines import pipeline_weights, rrf_pipeline, with_explanation

HYBRID_PIPELINE = "mrs-hybrid"
RRF_PIPELINE = "mrs-hybrid-rrf"
LEXICAL_TEMPLATE = "mrs-lexical"
DENSE_TEMPLATE = "mrs-dense"
HYBRID_TEMPLATE = "mrs-hybrid"
RADIAL_PREFIX = "mrs-dense-min-"

# ---------------------------------------------------------------- LOW LEVEL: a mustache renderer

_TAG = re.compile(r"\{\{([#^/]?)\s*([^}]*?)\s*\}\}")


def _lookup(stack: list[Any], name: str) -> Any:
    """Resolve a (dotted) name through the context stack, innermost first; '.' is the current item."""
    if name == ".":
        return stack[-1]
    head, *rest = name.split(".")
    for ctx in reversed(stack):
        if isinstance(ctx, Mapping) and head in ctx:
            value = ctx[head]
            for part in rest:
                value = value.get(part) if isinstance(value, Mapping) else None
            return value
    return None


def _json_escape(value: Any) -> str:
    """A value inside a JSON string literal (what OpenSearch's JSON-escaping encoder writes for {{var}})."""
    text = value if isinstance(value, str) else ("" if value is None else json.dumps(value, ensure_ascii=False))
    return json.dumps(text, ensure_ascii=False)[1:-1]


def _to_json(value: Any) -> str:
    """OpenSearch's toJson: lists and maps as JSON; anything else as its raw text (NOT quoted or escaped)."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple, Mapping)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _parse(source: str) -> list[Any]:
    """Template → nested nodes: str | ("var", name) | ("section"/"inverted", name, children)."""
    root: list[Any] = []
    stack: list[tuple[str, str, list[Any]]] = [("root", "", root)]
    pos = 0
    for m in _TAG.finditer(source):
        if m.start() > pos:
            stack[-1][2].append(source[pos:m.start()])
        sigil, name = m.group(1), m.group(2)
        if sigil in ("#", "^"):
            children: list[Any] = []
            stack[-1][2].append(("section" if sigil == "#" else "inverted", name, children))
            stack.append(("section", name, children))
        elif sigil == "/":
            if len(stack) == 1 or stack[-1][1] != name:
                raise InputError(f"mustache: unexpected closing tag {{{{/{name}}}}}")
            stack.pop()
        else:
            stack[-1][2].append(("var", name))
        pos = m.end()
    if len(stack) != 1:
        raise InputError(f"mustache: section {{{{#{stack[-1][1]}}}}} is not closed")
    if pos < len(source):
        root.append(source[pos:])
    return root


def _text_of(children: list[Any]) -> str:
    if len(children) != 1 or not isinstance(children[0], str):
        raise InputError("mustache: toJson/join take a bare variable name")
    return children[0].strip()


def _render_nodes(nodes: list[Any], stack: list[Any]) -> str:
    out: list[str] = []
    for node in nodes:
        if isinstance(node, str):
            out.append(node)
            continue
        kind, name = node[0], node[1]
        if kind == "var":
            out.append(_json_escape(_lookup(stack, name)))
            continue
        children = node[2]
        if kind == "section" and name == "toJson":
            out.append(_to_json(_lookup(stack, _text_of(children))))
            continue
        if kind == "section" and name == "join":
            value = _lookup(stack, _text_of(children)) or []
            out.append(",".join(str(v) for v in value))
            continue
        value = _lookup(stack, name)
        truthy = bool(value) if not isinstance(value, (int, float)) or isinstance(value, bool) else True
        if kind == "inverted":
            if not truthy:
                out.append(_render_nodes(children, stack))
        elif isinstance(value, (list, tuple)):
            for item in value:
                out.append(_render_nodes(children, stack + [item]))
        elif truthy:
            out.append(_render_nodes(children, stack + [value] if isinstance(value, Mapping) else stack))
    return "".join(out)


def render_mustache(source: str, params: Mapping[str, Any]) -> str:
    """Render ``source`` with ``params`` as OpenSearch's mustache (JSON content type) does: ``{{var}}`` JSON-escaped,
    sections / inverted sections, ``toJson`` (lists/maps as JSON, scalars raw) and ``join``."""
    return _render_nodes(_parse(source), [dict(params)])


def render_json(source: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """Render and parse; InputError when the result is not valid JSON."""
    text = render_mustache(source, params)
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(f"rendered template is not valid JSON ({e.msg} at char {e.pos})") from None


# ---------------------------------------------------------------- HIGH LEVEL: the templates

def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def filtered_query(query: str) -> str:
    """A query template that, when has_filter is set, becomes ``{"bool": {"must": [query], "filter": [filter]}}``
    (the filter through toJson: never re-parsed, so hostile values stay data)."""
    return ('{{#has_filter}}{"bool": {"must": [' + query + '], "filter": [{{#toJson}}filter{{/toJson}}]}}'
            '{{/has_filter}}{{^has_filter}}' + query + '{{/has_filter}}')


def _multi_match(spec: IndexSpec, tie_breaker: float) -> str:
    return ('{"multi_match": {"query": "{{query_text}}", "type": "best_fields", "fields": '
            + _dump(boosted_fields(spec.text_fields)) + ', "tie_breaker": ' + _dump(float(tie_breaker)) + '}}')


def lexical_template(spec: IndexSpec, tie_breaker: float = 0.0) -> str:
    """multi_match best_fields over the BM25 fields with their boosts; params query_text, size, has_filter, filter."""
    return (
        '{"size": "{{size}}", "_source": {"excludes": [' + _dump(spec.vector_field) + ']}, '
        '"query": ' + filtered_query(_multi_match(spec, tie_breaker)) + '}'
    )


def _knn_clause(spec: IndexSpec, limit: str) -> str:
    return (
        '{"knn": {' + _dump(spec.vector_field) + ': {"vector": {{#toJson}}query_vector{{/toJson}}, ' + limit
        + '{{#has_filter}}, "filter": {{#toJson}}filter{{/toJson}}{{/has_filter}}}}}'
    )


def dense_template(spec: IndexSpec) -> str:
    """Approximate k-NN with k; params query_vector, k, size, has_filter, filter."""
    return (
        '{"size": "{{size}}", "_source": {"excludes": [' + _dump(spec.vector_field) + ']}, '
        '"query": ' + _knn_clause(spec, '"k": "{{k}}"') + '}'
    )


def radial_template(spec: IndexSpec, min_score: float) -> str:
    """Radial search: every document with k-NN score ≥ min_score (a calibrated level threshold)."""
    return (
        '{"size": "{{size}}", "_source": {"excludes": [' + _dump(spec.vector_field) + ']}, '
        '"query": ' + _knn_clause(spec, '"min_score": ' + _dump(float(min_score))) + '}'
    )


def hybrid_template(spec: IndexSpec, pagination_depth: int = 100, tie_breaker: float = 0.0) -> str:
    """Hybrid: [lexical multi_match, dense knn k] (the pipeline's weight order) with pagination_depth; the
    optional filter in both sub-queries."""
    lexical = filtered_query(_multi_match(spec, tie_breaker))
    dense = _knn_clause(spec, '"k": "{{k}}"')
    return (
        '{"size": "{{size}}", "_source": {"excludes": [' + _dump(spec.vector_field) + ']}, '
        '"query": {"hybrid": {"queries": [' + lexical + ', ' + dense + '], "pagination_depth": '
        + _dump(int(pagination_depth)) + '}}}'
    )


def script_body(source: str) -> dict[str, Any]:
    """The ``PUT _scripts/ID`` body of a mustache template."""
    return {"script": {"lang": "mustache", "source": source}}


def level_slug(level: str) -> str:
    """A level name as part of a template id: lowercase, [a-z0-9_-]."""
    slug = re.sub(r"[^a-z0-9_-]+", "-", level.lower()).strip("-")
    if not slug:
        raise InputError(f"level name {level!r} gives an empty template id")
    return slug


def sample_filter(attributes: Mapping[str, str], value: str) -> dict[str, Any]:
    """A filter for render checks: a term on the first keyword attribute (``attr.<name>``; the id without
    attributes) holding ``value`` (hostile text: it must come back as data), and a range."""
    keyword = next((n for n, t in attributes.items() if t in ("keyword", "path")), None)
    numeric = next((n for n, t in attributes.items() if t == "numeric"), None)
    clauses: list[dict[str, Any]] = [{"term": {cluster_field(keyword) if keyword else "id": value}}]
    if numeric:
        clauses.append({"range": {cluster_field(numeric): {"lte": 100.0}}})
    return {"bool": {"filter": clauses}}


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


def check_rendering(name: str, source: str, params: Mapping[str, Any]) -> None:
    """Render one template with (hostile) ``params`` offline, with and without the filter: InputError when the
    result is not JSON or the query text or filter did not come back intact."""
    try:
        rendered = render_json(source, params)
        unfiltered = render_json(source, {**params, "has_filter": False})
    except InputError as e:
        raise InputError(f"template {name}: {e.message}") from None
    if "query_text" in source and _find_value(rendered, params["query_text"]) is None:
        raise InputError(f"template {name}: the query text did not survive rendering")
    if _find_value(rendered, params["filter"]) is None:
        raise InputError(f"template {name}: the filter did not survive rendering")
    if _find_value(unfiltered, params["filter"]) is not None:
        raise InputError(f"template {name}: renders the filter without has_filter")


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


def write_rendered_files(out_dir: str | os.PathLike, index: Mapping[str, Any],
                         groups: Sequence[tuple[str, Mapping[str, Any]]], manifest: Mapping[str, Any]) -> list[str]:
    """Write a rendered set as files (shared by the OpenSearch and Elasticsearch targets).

    index → ``index.json``; each (subdir, {name: body}) group in order → ``subdir/name.json``; manifest →
    ``manifest.json`` last. Returns the written paths as strings, in writing order.
    """
    from mrs.models import write_json

    out = Path(out_dir)
    paths = [out / "index.json"]
    write_json(paths[0], index)
    for subdir, bodies in groups:
        for name, body in bodies.items():
            paths.append(out / subdir / f"{name}.json")
            write_json(paths[-1], body)
    paths.append(out / "manifest.json")
    write_json(paths[-1], manifest)
    return [str(p) for p in paths]


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


def check_cluster_rendering(client: Any, templates: Mapping[str, str], params: Mapping[str, Any]) -> int:
    """Ask the cluster to render each stored template (``_render/template/ID``) with ``params`` and check that
    ``params["query_text"]`` comes back intact wherever the template uses it. Returns how many were checked.

    client: opensearchpy.OpenSearch or elasticsearch.Elasticsearch (its response object or a plain dict).
    InputError naming the template whose rendered output lost or altered the query text.
    """
    checked = 0
    for name, source in templates.items():
        resp = client.render_search_template(id=name, body={"params": params})
        body = resp.body if hasattr(resp, "body") else resp
        output = body.get("template_output", {})
        if "query_text" in source and _find_value(output, params["query_text"]) is None:
            raise InputError(f"template {name}: the cluster rendered the query text differently: {output}")
        checked += 1
    return checked


def _find_value(obj: Any, value: Any) -> Any:
    """Depth-first search for ``value`` in a JSON structure (None when absent)."""
    if obj == value:
        return obj
    if isinstance(obj, Mapping):
        obj = list(obj.values())
    if isinstance(obj, Sequence) and not isinstance(obj, str):
        for v in obj:
            if _find_value(v, value) is not None:
                return v
    return None
