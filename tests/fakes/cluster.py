"""The in-memory cluster state and REST routes that OpenSearch and Elasticsearch share (index create / delete /
exists / settings / mapping / count / refresh / search, ``_bulk``, ``_aliases``, ``_alias``, ``_scripts``,
``_render/template``), answered the way both real clusters answer them.

tests/opensearch/fake_cluster.py and tests/elasticsearch/fake_es.py subclass ``InMemoryCluster`` and plug it
into their client's transport (opensearch-py Connection / elastic_transport node); they add what differs: the
root answer, target-only routes, how a test's ``search_responder`` is called, and how requests are recorded.

Faults are injected per request (``fault``: an HTTP status, "conn" for a connection error, or a subclass's own
outcome) and per bulk item (``item_faults``: doc id → list of (status, error) or None, one per attempt).
"""

from __future__ import annotations

import abc
import fnmatch
import json
from collections.abc import Callable
from typing import Any

from fakes.ingest import IngestFailure, IngestPipelines
from fakes.mustache import chevron_render


class InMemoryCluster(abc.ABC):
    """indices: name → {"body": create body, "docs": {id: source}}. aliases: alias → member indices."""

    def __init__(self, version: str) -> None:
        self.version = version
        self.indices: dict[str, dict[str, Any]] = {}
        self.aliases: dict[str, set[str]] = {}
        self.scripts: dict[str, Any] = {}
        # faults: (method, path-glob, outcomes consumed one per matching request; None passes through)
        self.faults: list[tuple[str, str, list[Any]]] = []
        self.item_faults: dict[str, list[Any]] = {}
        self.search_responder: Callable[..., list[dict]] | None = None
        # answers a search's ``aggs``: (index, request, params) → the ``aggregations`` object
        self.aggregation_responder: Callable[..., dict] | None = None
        self.alias_actions: list[dict] = []
        self.ingest = IngestPipelines()  # _ingest/pipeline/ID, run on bulk items that name one (fakes/ingest.py)

    # ------------------------------------------------------------------ what a target defines
    @abc.abstractmethod
    def root_info(self) -> dict[str, Any]:
        """The body of ``GET /``."""

    def route(self, method: str, parts: list[str], body: Any) -> tuple[int, Any] | None:
        """Target-only routes (checked before the index routes); None when ``parts`` is not one of them."""
        return None

    def search_hits(self, index: str, req: dict, params: dict) -> list[dict]:
        """Hits of a ``_search`` on ``index`` (default: every document, score 1.0)."""
        return self._all_docs(index, req)

    def render(self, template_id: str, params: dict) -> Any:
        """``_render/template/ID``: the stored template rendered with ``params`` (chevron, cluster settings)."""
        return chevron_render(self.scripts[template_id]["script"]["source"], params)

    # ------------------------------------------------------------------ plumbing
    def fault(self, method: str, path_glob: str, outcomes: list[Any]) -> None:
        """Next requests matching (method, glob) get these outcomes in order."""
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

    # ------------------------------------------------------------------ request handling
    def handle(self, method: str, path: str, body: Any, params: dict | None = None) -> tuple[int, Any]:
        parts = [p for p in path.split("?")[0].split("/") if p]
        if not parts:
            return 200, self.root_info()
        answer = self.route(method, parts, body) or self.ingest.route(method, parts, body)
        if answer is not None:
            return answer
        head = parts[0]
        if head == "_bulk":
            return 200, self._bulk(body)
        if head == "_aliases":
            return self._update_aliases(json.loads(body))
        if head == "_alias":
            name = parts[1]
            if not self.aliases.get(name):
                return 404, {"error": f"alias [{name}] missing", "status": 404}
            return 200, {i: {"aliases": {name: {}}} for i in sorted(self.aliases[name])}
        if head == "_scripts":
            self.scripts[parts[1]] = json.loads(body)
            return 200, {"acknowledged": True}
        if parts[:2] == ["_render", "template"]:
            return 200, {"template_output": self.render(parts[2], json.loads(body)["params"])}
        name = head
        if len(parts) == 1:
            return self._index_op(method, name, body)
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
            hits = self.search_hits(targets[0], req, dict(params or {}))
            resp = {"hits": {"total": {"value": len(hits), "relation": "eq"}, "hits": hits}}
            if req.get("aggs"):
                assert self.aggregation_responder is not None, "the test set no aggregation_responder"
                resp["aggregations"] = self.aggregation_responder(targets[0], req, dict(params or {}))
            return 200, resp
        return 400, {"error": {"type": "unsupported", "reason": path}, "status": 400}

    def _index_op(self, method: str, name: str, body: Any) -> tuple[int, Any]:
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
        return 400, {"error": {"type": "unsupported", "reason": f"{method} /{name}"}, "status": 400}

    def _all_docs(self, index: str, req: dict) -> list[dict]:
        docs = self.indices[index]["docs"]
        return [{"_index": index, "_id": i, "_score": 1.0, "_source": s}
                for i, s in list(docs.items())[: req.get("size", 10)]]

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
            source = json.loads(source_line)
            pipeline = meta.get("pipeline") or self._default_pipeline(index)
            if pipeline is not None:
                try:
                    source = self.ingest.run(pipeline, doc_id, source)
                except IngestFailure as e:
                    items.append({op: {"_index": index, "_id": doc_id, "status": 400,
                                       "error": {"type": "illegal_argument_exception", "reason": str(e)}}})
                    errors = True
                    continue
            self.indices.setdefault(index, {"body": {}, "docs": {}})["docs"][doc_id] = source
            items.append({op: {"_index": index, "_id": doc_id, "status": 201, "result": "created"}})
        return {"took": 1, "errors": errors, "items": items}

    def _default_pipeline(self, index: str) -> str | None:
        settings = self.indices.get(index, {}).get("body", {}).get("settings", {})
        return (settings.get("index") or {}).get("default_pipeline") or settings.get("index.default_pipeline")

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
