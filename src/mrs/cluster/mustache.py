"""A small mustache renderer that behaves like the one OpenSearch and Elasticsearch run for search templates (JSON
content type), so mrs checks its templates offline before they ship.

How caller values enter the JSON (CustomMustacheFactory, JSON content type, in both clusters):
- ``{{name}}``: the JSON escape encoder writes the value escaped (quotes, backslashes, control characters), and a
  value is never re-parsed as a template, so quotes, ``\\``, ``}}``, newlines or unicode in a query cannot break
  the request or inject clauses. Numbers arrive as numeric strings ("10"), which the clusters' parsers coerce.
- ``{{#toJson}}name{{/toJson}}``: lists and maps as JSON; anything else as its raw, unescaped text
  (``oh.stringify``) — so toJson is for vectors and filter objects, never for strings.
- sections ``{{#var}}...{{/var}}`` (lists iterate, maps push a context, truthy values render once), inverted
  sections ``{{^var}}``, and ``{{#join}}name{{/join}}`` (comma-joined).

Reference: the mustache manual (mustache.github.io/mustache.5.html); OpenSearch "Search templates"
(search-plugins/search-template) and Elasticsearch "Search templates" (``{{#toJson}}``, ``{{#join}}``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from mrs.errors import InputError

__all__ = ["render_json", "render_mustache"]

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
