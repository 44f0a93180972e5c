"""An in-memory stand-in for an OpenSearch node, plugged in at opensearch-py's connection layer.

``FakeCluster.client()`` returns a real ``opensearchpy.OpenSearch`` whose Transport talks to ``FakeConnection``
(a subclass of ``opensearchpy.Connection``): every request goes through opensearch-py's own serialization,
Transport and helpers, only the HTTP hop is replaced. Failures are injected per request (``faults``: status
codes or connection errors) and per bulk item (``item_faults``), and every request is recorded.

The fake renders search templates with the ``chevron`` package (an independent mustache implementation set up
as OpenSearch's: JSON escaping, OpenSearch's toJson), not with mrs's own renderer, so tests are not circular.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable
from typing import Any

from opensearchpy import Connection, OpenSearch
from opensearchpy.exceptions import ConnectionError as OSConnectionError

JSON = {"content-type": "application/json"}


class FakeCluster:
    def __init__(self, version: str = "3.1.0") -> None:
        self.version = version
        self.indices: dict[str, dict[str, Any]] = {}  # name -> {"body": ..., "docs": {id: source}}
        self.aliases: dict[str, set[str]] = {}  # alias -> indices
        self.pipelines: dict[str, Any] = {}
        self.scripts: dict[str, Any] = {}
        self.requests: list[tuple[str, str, dict, Any]] = []
        # faults: (method, path-glob) -> list of outcomes consumed one per matching request:
        #   int status → that HTTP error; "conn" → connection error; None → pass through.
        self.faults: list[tuple[str, str, list[Any]]] = []
        # item_faults: doc id -> list of (status, error) consumed per attempt; (None) → succeed.
        self.item_faults: dict[str, list[Any]] = {}
        self.search_responder: Callable[[str, dict, dict], list[dict]] | None = None
        self.alias_actions: list[dict] = []

    # ------------------------------------------------------------------ plumbing
    def client(self, **kwargs: Any) -> OpenSearch:
        cluster = self

        class _Conn(FakeConnection):
            fake = cluster

        kwargs.setdefault("max_retries", 0)
        return OpenSearch(hosts=[{"host": "fake", "port": 9200}], connection_class=_Conn, **kwargs)

    def fault(self, method: str, path_glob: str, outcomes: list[Any]) -> None:
        self.faults.append((method, path_glob, list(outcomes)))

    def _injected(self, method: str, path: str) -> Any:
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

    # ------------------------------------------------------------------ request handling
    def handle(self, method: str, path: str, params: dict, body: Any) -> tuple[int, Any]:
        self.requests.append((method, path, dict(params or {}), body))
        parts = [p for p in path.split("/") if p]
        if method == "GET" and not parts:
            return 200, {"version": {"number": self.version, "distribution": "opensearch"}}
        if parts[:1] == ["_bulk"]:
            return 200, self._bulk(body)
        if parts[:1] == ["_aliases"]:
            return self._update_aliases(json.loads(body))
        if parts[:1] == ["_alias"]:
            name = parts[1]
            if name not in self.aliases:
                return 404, {"error": f"alias [{name}] missing", "status": 404}
            return 200, {i: {"aliases": {name: {}}} for i in sorted(self.aliases[name])}
        if parts[:2] == ["_search", "pipeline"]:
            self.pipelines[parts[2]] = json.loads(body)
            return 200, {"acknowledged": True}
        if parts[:1] == ["_scripts"]:
            self.scripts[parts[1]] = json.loads(body)
            return 200, {"acknowledged": True}
        if parts[:2] == ["_render", "template"]:
            return 200, {"template_output": self.render(parts[2], json.loads(body)["params"])}
        name = parts[0]
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
            hits = (self.search_responder or self._all_docs)(targets[0], req, dict(params or {}))
            return 200, {"hits": {"total": {"value": len(hits), "relation": "eq"}, "hits": hits}}
        return 400, {"error": {"type": "unsupported", "reason": path}, "status": 400}

    def _all_docs(self, index: str, req: dict, params: dict) -> list[dict]:
        docs = self.indices[index]["docs"]
        return [{"_index": index, "_id": i, "_score": 1.0, "_source": s} for i, s in list(docs.items())[: req.get("size", 10)]]

    def _bulk(self, body: Any) -> dict:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
        lines = [ln for ln in text.split("\n") if ln.strip()]
        items = []
        errors = False
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
            if index not in self.indices:
                self.indices[index] = {"body": {}, "docs": {}}
            self.indices[index]["docs"][doc_id] = json.loads(source_line)
            items.append({op: {"_index": index, "_id": doc_id, "status": 201, "result": "created"}})
        return {"took": 1, "errors": errors, "items": items}

    def _update_aliases(self, body: dict) -> tuple[int, Any]:
        # validate all first: the real API applies all actions or none
        for action in body["actions"]:
            (kind, spec), = action.items()
            if spec["index"] not in self.indices:
                return 404, {"error": {"type": "index_not_found_exception", "reason": spec["index"]}, "status": 404}
        for action in body["actions"]:
            (kind, spec), = action.items()
            members = self.aliases.setdefault(spec["alias"], set())
            if kind == "add":
                members.add(spec["index"])
            elif kind == "remove":
                members.discard(spec["index"])
        self.alias_actions.append(body)
        return 200, {"acknowledged": True}

    def render(self, template_id: str, params: dict) -> Any:
        from test_os_templates import chevron_render

        return chevron_render(self.scripts[template_id]["script"]["source"], params)

    def searches(self) -> list[tuple[str, dict, dict]]:
        return [(p, prm, json.loads(b) if b else {}) for m, p, prm, b in self.requests if p.endswith("/_search")]


class FakeConnection(Connection):
    """opensearch-py Connection whose perform_request answers from ``fake`` (a FakeCluster)."""

    fake: FakeCluster

    def perform_request(self, method, url, params=None, body=None, timeout=None, ignore=(), headers=None):
        path = url.split("?")[0]
        if isinstance(body, bytes):
            body = body.decode("utf-8")
        injected = self.fake._injected(method, path)
        if injected == "conn":
            self.fake.requests.append((method, path, dict(params or {}), body))
            raise OSConnectionError("N/A", "connection refused (injected)", None)
        if isinstance(injected, int):
            self.fake.requests.append((method, path, dict(params or {}), body))
            err = {"error": {"type": "injected", "reason": f"injected {injected}"}, "status": injected}
            self._raise_error(injected, json.dumps(err), "application/json")
        status, data = self.fake.handle(method, path, params or {}, body)
        raw = "" if data is None else json.dumps(data)
        if not 200 <= status < 300 and status not in ignore:
            self._raise_error(status, raw, "application/json")
        return status, JSON, raw
