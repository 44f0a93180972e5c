"""The search-template pieces both clusters share: template ids, the filtered lexical query, the ``_search``
head, sample and hostile parameters, the offline and on-cluster render checks, and writing a rendered set.

Templates are JSON text with mustache tags (mrs.cluster.mustache explains how values enter): strings and numbers
as ``"{{name}}"`` (JSON-escaped), vectors and filters through ``{{#toJson}}``; field lists, boosts and thresholds
are baked in with json.dumps at render time. Every template takes the optional ``has_filter`` (bool) + ``filter``
(a query object on the ``attr.<field>`` attribute fields, as mrs.engine.filters.cluster_filter renders it).

Documentation relied on: OpenSearch and Elasticsearch "Search templates" (``PUT _scripts/ID {"script": {"lang":
"mustache", "source": "..."}}``, ``POST _render/template``).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mrs.cluster.bodies import boosted_fields
from mrs.cluster.mustache import render_json
from mrs.engine.attributes import cluster_field
from mrs.errors import InputError


def dump(value: Any) -> str:
    """``value`` as JSON text (unicode kept), to bake into a template."""
    return json.dumps(value, ensure_ascii=False)


def search_head(spec: Any) -> str:
    """The start of a ``_search`` template: ``size`` from the params, the vector field left out of ``_source``."""
    return '{"size": "{{size}}", "_source": {"excludes": [' + dump(spec.vector_field) + ']}, '


def filtered_query(query: str) -> str:
    """A query template that, when has_filter is set, becomes ``{"bool": {"must": [query], "filter": [filter]}}``
    (the filter through toJson: never re-parsed, so hostile values stay data)."""
    return ('{{#has_filter}}{"bool": {"must": [' + query + '], "filter": [{{#toJson}}filter{{/toJson}}]}}'
            '{{/has_filter}}{{^has_filter}}' + query + '{{/has_filter}}')


def multi_match(spec: Any, tie_breaker: float) -> str:
    """multi_match best_fields over spec.text_fields with their boosts; ``query_text`` from the params."""
    return ('{"multi_match": {"query": "{{query_text}}", "type": "best_fields", "fields": '
            + dump(boosted_fields(spec.text_fields)) + ', "tie_breaker": ' + dump(float(tie_breaker)) + '}}')


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
