"""An in-memory stand-in for an Elasticsearch node, plugged in at elastic_transport's node layer.

``FakeES.client()`` returns a real ``elasticsearch.Elasticsearch`` whose Transport talks to ``FakeNode`` (a
subclass of ``elastic_transport.BaseNode``): every request goes through elasticsearch-py's own serialization,
Transport, product check and helpers; only the HTTP hop is replaced. Failures are injected per request
(``fault``: an HTTP status or "conn" for a connection error raised by the node) and per bulk item
(``item_faults``); every request is recorded.

Search templates are rendered with the ``chevron`` package (an independent mustache implementation, with a
toJson lambda), not with mrs's own renderer, so template tests are not circular. ``search_responder`` lets a
test answer ``_search`` requests (default: every document, score 1.0).
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable
from typing import Any

from elastic_transport import ApiResponseMeta, BaseNode, HttpHeaders
from elastic_transport import ConnectionError as ESConnectionError
from elastic_transport._node import NodeApiResponse
from elasticsearch import Elasticsearch

HEADERS = {"content-type": "application/json", "x-elastic-product": "Elasticsearch"}


def es_to_json(value: Any) -> str:
    """Elasticsearch's toJson (CustomMustacheFactory.ToJsonCode): lists and maps as JSON, anything else as its
    raw text (``oh.stringify``: NOT quoted, NOT escaped); null → nothing."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def chevron_render(source: str, params: dict) -> Any:
    """Render with chevron configured as Elasticsearch's mustache for a JSON request: ``{{var}}`` JSON-escaped
    (not HTML-escaped) and Elasticsearch's toJson; then parse the JSON."""
    import chevron
    import chevron.renderer as chevron_renderer

    def to_json(text: str, render: Callable) -> str:
        return es_to_json(params.get(text.strip()))

    original = chevron_renderer._html_escape
    chevron_renderer._html_escape = lambda value: json.dumps(str(value), ensure_ascii=False)[1:-1]
    try:
        return json.loads(chevron.render(source, {**params, "toJson": to_json}))
    finally:
        chevron_renderer._html_escape = original


class FakeES:
    def __init__(self, version: str = "9.1.0") -> None:
        self.version = version
        self.indices: dict[str, dict[str, Any]] = {}
        self.aliases: dict[str, set[str]] = {}
        self.scripts: dict[str, Any] = {}
        self.requests: list[tuple[str, str, Any]] = []
        self.faults: list[tuple[str, str, list[Any]]] = []
        self.item_faults: dict[str, list[Any]] = {}
        self.search_responder: Callable[[str, dict], list[dict]] | None = None
        self.alias_actions: list[dict] = []

    def client(self, **kwargs: Any) -> Elasticsearch:
        fake = self

        class _Node(FakeNode):
            cluster = fake

        kwargs.setdefault("max_retries", 0)
        return Elasticsearch("http://fake:9200", node_class=_Node, **kwargs)

    def fault(self, method: str, path_glob: str, outcomes: list[Any]) -> None:
        """Next requests matching (method, glob) get these outcomes in order: an int status, (status, reason)
        or "conn" (a connection error)."""
        self.faults.append((method, path_glob, list(outcomes)))

    def injected(self, method: str, path: str) -> Any:
        for m, glob, outcomes in self.faults:
            if m == method and fnmatch.fnmatch(path, glob) and outcomes:
                return outcomes.pop(0)
        return None

    def resolve(self, name: str) -> list[str]:
        if name in self.indices:
            return [name]
        if name in self.aliases:
            return sorted(self.aliases[name])
        return sorted(n for n in self.indices if fnmatch.fnmatch(n, name)) if "*" in name else []

    def searches(self) -> list[dict]:
        return [json.loads(b) for m, p, b in self.requests if p.endswith("/_search") and b]

    # ------------------------------------------------------------------ request handling
    def handle(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        parts = [p for p in path.split("?")[0].split("/") if p]
        if not parts:
            return 200, {"version": {"number": self.version, "build_flavor": "default"}, "tagline": "You Know, for Search"}
        head = parts[0]
        if head == "_bulk":
            return 200, self._bulk(body)
        if head == "_aliases":
            return self._update_aliases(json.loads(body))
        if head == "_alias":
            name = parts[1]
            if name not in self.aliases or not self.aliases[name]:
                return 404, {"error": f"alias [{name}] missing", "status": 404}
            return 200, {i: {"aliases": {name: {}}} for i in sorted(self.aliases[name])}
        if head == "_scripts":
            self.scripts[parts[1]] = json.loads(body)
            return 200, {"acknowledged": True}
        if head == "_render":
            source = self.scripts[parts[2]]["script"]["source"]
            return 200, {"template_output": chevron_render(source, json.loads(body)["params"])}
        name = head
        if len(parts) == 1:
            if method == "HEAD":
                return (200, None) if self.resolve(name) else (404, None)
            if method == "PUT":
                if name in self.indices:
                    return 400, {"error": {"type": "resource_already_exists_exception", "reason": name}, "status": 400}
                self.indices[name] = {"body": json.loads(body) if body else {}, "docs": {}}
                return 200, {"acknowledged": True, "index": name}
            if method == "DELETE":
                for n in self.resolve(name):
                    del self.indices[n]
                    for members in self.aliases.values():
                        members.discard(n)
                return 200, {"acknowledged": True}
            if method == "GET":
                found = self.resolve(name)
                if not found and "*" not in name:
                    return 404, {"error": {"type": "index_not_found_exception", "reason": name}, "status": 404}
                return 200, {n: {"settings": self.indices[n]["body"].get("settings", {})} for n in found}
        if len(parts) == 3 and parts[1] == "_alias" and method == "HEAD":
            return (200, None) if name in self.aliases.get(parts[2], set()) else (404, None)
        targets = self.resolve(name)
        if not targets:
            return 404, {"error": {"type": "index_not_found_exception", "reason": name}, "status": 404}
        op = parts[1]
        if op == "_refresh":
            return 200, {"_shards": {"total": 1, "successful": 1, "failed": 0}}
        if op == "_count":
            return 200, {"count": sum(len(self.indices[t]["docs"]) for t in targets)}
        if op == "_mapping":
            return 200, {t: {"mappings": self.indices[t]["body"].get("mappings", {})} for t in targets}
        if op == "_search":
            req = json.loads(body) if body else {}
            hits = (self.search_responder or self._all_docs)(targets[0], req)
            return 200, {"hits": {"total": {"value": len(hits), "relation": "eq"}, "hits": hits}}
        return 400, {"error": {"type": "unsupported", "reason": path}, "status": 400}

    def _all_docs(self, index: str, req: dict) -> list[dict]:
        docs = self.indices[index]["docs"]
        return [{"_index": index, "_id": i, "_score": 1.0} for i in list(docs)[: req.get("size", 10)]]

    def _bulk(self, body: Any) -> dict:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
        lines = [ln for ln in text.split("\n") if ln.strip()]
        items, errors = [], False
        for meta_line, source_line in zip(lines[::2], lines[1::2], strict=True):
            (op, meta), = json.loads(meta_line).items()
            doc_id, index = meta["_id"], meta["_index"]
            plan = self.item_faults.get(doc_id)
            outcome = plan.pop(0) if plan else None
            if outcome is not None:
                status, error = outcome
                items.append({op: {"_index": index, "_id": doc_id, "status": status, "error": error}})
                errors = True
                continue
            self.indices.setdefault(index, {"body": {}, "docs": {}})["docs"][doc_id] = json.loads(source_line)
            items.append({op: {"_index": index, "_id": doc_id, "status": 201, "result": "created"}})
        return {"took": 1, "errors": errors, "items": items}

    def _update_aliases(self, body: dict) -> tuple[int, Any]:
        for action in body["actions"]:
            (kind, spec), = action.items()
            if spec["index"] not in self.indices:
                return 404, {"error": {"type": "index_not_found_exception", "reason": spec["index"]}, "status": 404}
        for action in body["actions"]:
            (kind, spec), = action.items()
            members = self.aliases.setdefault(spec["alias"], set())
            (members.add if kind == "add" else members.discard)(spec["index"])
        self.alias_actions.append(body)
        return 200, {"acknowledged": True}


class FakeNode(BaseNode):
    """elastic_transport node answering from ``cluster`` (a FakeES)."""

    cluster: FakeES

    def perform_request(self, method, target, body=None, headers=None, request_timeout=None) -> NodeApiResponse:
        if isinstance(body, bytes):
            body = body.decode("utf-8")
        path = target.split("?")[0]
        self.cluster.requests.append((method, path, body))
        injected = self.cluster.injected(method, path)
        if injected == "conn":
            raise ESConnectionError("connection refused (injected)")
        if isinstance(injected, tuple):  # (status, reason): an error whose text the test chooses
            status, reason = injected
            data: Any = {"error": {"type": "security_exception", "reason": reason}, "status": status}
        elif isinstance(injected, int):
            status = injected
            data = {"error": {"type": "injected", "reason": f"injected {injected}"}, "status": injected}
        else:
            status, data = self.cluster.handle(method, target, body)
        raw = b"" if data is None else json.dumps(data).encode("utf-8")
        meta = ApiResponseMeta(status=status, http_version="1.1", headers=HttpHeaders(HEADERS), duration=0.0,
                               node=self.config)
        return NodeApiResponse(meta, raw)

    def close(self) -> None:
        pass
