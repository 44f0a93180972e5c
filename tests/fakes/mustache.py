"""Search-template rendering for the fake clusters and template tests, with the ``chevron`` package (an
independent mustache implementation) configured as OpenSearch's and Elasticsearch's mustache — both inherit
the same CustomMustacheFactory: ``{{var}}`` JSON-escaped (not HTML-escaped) and a ``toJson`` lambda. Tests
render with it instead of mrs's own renderer so they are not circular."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest


def to_json(value: Any) -> str:
    """The clusters' toJson (CustomMustacheFactory.ToJsonCode): lists and maps as JSON, anything else as its raw
    text (``oh.stringify``: NOT quoted, NOT escaped; booleans ``true``/``false``); null → nothing."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def chevron_render(source: str, params: dict) -> Any:
    """Render ``source`` with ``params`` as the cluster would for a JSON request, then parse the JSON."""
    chevron = pytest.importorskip("chevron")
    import chevron.renderer as chevron_renderer

    def to_json_lambda(text: str, render: Callable) -> str:
        return to_json(params.get(text.strip()))

    original = chevron_renderer._html_escape
    chevron_renderer._html_escape = lambda value: json.dumps(str(value), ensure_ascii=False)[1:-1]
    try:
        return json.loads(chevron.render(source, {**params, "toJson": to_json_lambda}))
    finally:
        chevron_renderer._html_escape = original
